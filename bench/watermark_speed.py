"""Speed, visibility and robustness of the invisible watermark (reelforge.provenance.watermark).

Prints, per resolution (720p by default; `--sizes 854x480,1280x720,1920x1080`) and photo: ms per
frame of `WatermarkEmbedder.mark` (median of `--repeats` calls) and of `detect` (on the
CRF 23 copy, whole run / frames), PSNR of marked vs original, and the codeword bit accuracy
(and whether the payload was recovered) after what a platform does: H.264 CRF 23 and 28 at
the same size, a copy KEPT at 0.5x and 0.75x (libswscale bicubic) at CRF 23 and 28, a centred
85 % crop, and 0.5x + 85 % crop, each from the product's CRF 20 output, on moving crops over
scikit-image's astronaut, coffee and chelsea photos. Then false positives on unmarked clips
(the photos, noise, a flat grey frame; as encoded and kept at 0.5x).
Run: `python bench/watermark_speed.py [--frames 48]`.
"""

from __future__ import annotations

import argparse
import io
import time

import av
import cv2
import numpy as np
from skimage import data

from reelforge.provenance.watermark import WatermarkEmbedder, detect, payload_from_id

PHOTOS = ("astronaut", "coffee", "chelsea")
SIZES = ((854, 480), (1280, 720), (1920, 1080))


def h264(
    frames: list[np.ndarray], crf: int, *, scale: float = 1.0, crop: float = 1.0
) -> list[np.ndarray]:
    """A platform's re-encode: centred crop to `crop` of each side, keep `scale` of the size
    (libswscale bicubic), libx264 yuv420p veryfast at `crf`, in memory, decoded back to RGB."""
    height, width = frames[0].shape[:2]
    cw, ch = int(width * crop) // 2 * 2, int(height * crop) // 2 * 2
    x0, y0 = (width - cw) // 2, (height - ch) // 2
    ow, oh = int(cw * scale) // 2 * 2, int(ch * scale) // 2 * 2
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = ow, oh, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            vf = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[y0 : y0 + ch, x0 : x0 + cw]), format="rgb24"
            )
            if (ow, oh) != (cw, ch):
                vf = vf.reformat(width=ow, height=oh, interpolation="BICUBIC")
            container.mux(stream.encode(vf))
        container.mux(stream.encode())
    buf.seek(0)
    with av.open(buf, "r") as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# name -> (crf, kept scale, centred crop), applied to the product's CRF 20 output
TRANSFORMS = {
    "CRF23": (23, 1.0, 1.0),
    "CRF28": (28, 1.0, 1.0),
    "0.5x/23": (23, 0.5, 1.0),
    "0.5x/28": (28, 0.5, 1.0),
    "0.75x/23": (23, 0.75, 1.0),
    "0.75x/28": (28, 0.75, 1.0),
    "crop85/23": (23, 1.0, 0.85),
    "0.5x+crop85": (23, 0.5, 0.85),
}


def moving_clip(name: str, width: int, height: int, n: int) -> list[np.ndarray]:
    big = cv2.resize(
        getattr(data, name)(), (int(width * 1.25), int(height * 1.25)), interpolation=cv2.INTER_AREA
    )
    dx, dy = big.shape[1] - width, big.shape[0] - height
    return [
        np.ascontiguousarray(
            big[dy * i // (2 * n) : dy * i // (2 * n) + height, dx * i // n : dx * i // n + width]
        )
        for i in range(n)
    ]


def unmarked(kind: str, width: int, height: int, n: int) -> list[np.ndarray]:
    if kind == "noise":
        rng = np.random.default_rng(7)
        return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]
    if kind == "flat":
        return [np.full((height, width, 3), 128, np.uint8) for _ in range(n)]
    return moving_clip(kind, width, height, n)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0**2 / mse)


def mark_ms(embedder: WatermarkEmbedder, frame: np.ndarray, repeats: int) -> float:
    for _ in range(5):
        embedder.mark(frame)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        embedder.mark(frame)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--sizes", default="1280x720")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"OpenCV threads: {cv2.getNumThreads()}, frames per clip: {args.frames}")
    header = ("size", "photo", "mark ms", "det ms", "PSNR dB", *TRANSFORMS)
    print(("{:>9} {:>9} {:>7} {:>7} {:>7}" + " {:>11}" * len(TRANSFORMS)).format(*header))
    for width, height in sizes:
        for name in PHOTOS:
            clip = moving_clip(name, width, height, args.frames)
            payload = payload_from_id(f"bench-{name}")
            embedder = WatermarkEmbedder(payload, width, height)
            ms = mark_ms(embedder, clip[0], args.repeats)
            marked = [embedder.mark(f) for f in clip]
            quality = float(np.mean([psnr(a, b) for a, b in zip(clip, marked, strict=True)]))
            product = h264(marked, 20)
            cells, det_ms = [], 0.0
            for crf, scale, crop in TRANSFORMS.values():
                frames = h264(product, crf, scale=scale, crop=crop)
                start = time.perf_counter()
                result = detect(frames)
                if not cells:
                    det_ms = (time.perf_counter() - start) * 1e3 / len(frames)
                ok = "ok" if result.found and result.payload == payload else "MISS"
                cells.append(f"{result.bit_accuracy or 0.0:.3f} {ok}")
            print(
                f"{width:>4}x{height:<4} {name:>9} {ms:7.2f} {det_ms:7.2f} {quality:7.2f} "
                + " ".join(f"{c:>11}" for c in cells),
                flush=True,
            )
    width, height = sizes[0]
    false_positives, tried, worst = 0, 0, 0.0
    for kind in (*PHOTOS, "noise", "flat"):
        clip = h264(unmarked(kind, width, height, args.frames), 23)
        for frames in (clip, h264(clip, 23, scale=0.5)):
            start = time.perf_counter()
            result = detect(frames)
            elapsed = (time.perf_counter() - start) * 1e3 / len(frames)
            false_positives += result.found
            tried += 1
            worst = max(worst, result.bit_accuracy or 0.0)
            print(
                f"unmarked {kind:>9} {frames[0].shape[1]}x{frames[0].shape[0]}: "
                f"{'FOUND' if result.found else 'clean'} bit accuracy "
                f"{result.bit_accuracy or 0.0:.3f}, detect {elapsed:.1f} ms/frame",
                flush=True,
            )
    print(
        f"bit accuracy = fraction of the codeword bits matching; false positives on "
        f"unmarked clips: {false_positives}/{tried} (highest bit accuracy {worst:.3f})"
    )


if __name__ == "__main__":
    main()
