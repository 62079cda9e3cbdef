"""Real MP4 files with sound, encoded in process by PyAV: H.264 frames and a sine tone (AAC,
or another codec), for the tests of sound kept through marking and provider results."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def tone_mp4(
    path: Path,
    *,
    seconds: float = 1.0,
    fps: int = 24,
    width: int = 320,
    height: int = 240,
    rate: int = 48_000,
    codec: str = "aac",
    audio_seconds: float | None = None,
    layout: str = "stereo",
) -> Path:
    """An MP4 of `seconds` of moving stripes and `audio_seconds` (default: as long) of a 440 Hz
    tone in `codec`; no audio track when `codec` is empty."""
    channels = 1 if layout == "mono" else 2
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream(codec, rate=rate, layout=layout) if codec else None
        x = np.arange(width, dtype=np.int32)[None, :, None]
        for i in range(round(seconds * fps)):
            frame = np.empty((height, width, 3), np.uint8)
            frame[...] = ((x + i * 9) // 16 % 2) * 200 + 20
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = i
            out.mux(video.encode(vf))
        out.mux(video.encode(None))
        if audio is not None:
            total = round((seconds if audio_seconds is None else audio_seconds) * rate)
            done = 0
            while done < total:
                n = min(1024, total - done)
                t = np.arange(done, done + n) / rate
                tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                af = av.AudioFrame.from_ndarray(
                    np.repeat(tone[None, :], channels, axis=0), format="fltp", layout=layout
                )
                af.sample_rate, af.pts = rate, done
                out.mux(audio.encode(af))
                done += n
            out.mux(audio.encode(None))
    return path
