"""`reelforge verify`: read all four marks of a file and say what it is.

verdict: "ai-generated" when a machine-readable label vouches for it (a valid C2PA manifest
declaring trainedAlgorithmicMedia, or an AIGC block whose signature this deployment checks),
"suspected" when only traces remain (the watermark, the visible label, or an AIGC block that
cannot be verified — e.g. metadata stripped, or forged), "unknown" otherwise. Never raises
for a bad file: a file that is not a video raises `InvalidRequest` (invalid_video) before
anything else, a truncated one is read as far as it decodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reelforge.errors import InvalidRequest, PayloadTooLarge
from reelforge.media.probe import iter_frames, read_video_header
from reelforge.provenance.aigc import AI_GENERATED, read_aigc
from reelforge.provenance.label import label_score

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LABEL_TEXTS = ("AI-generated", "AI生成")
LABEL_MIN_SCORE = 0.6
MAX_FRAMES = 48
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_PIXELS = 4096 * 2304  # per frame, from the container header and each decoded frame
DEFAULT_MAX_FRAMES = 216_000  # the container's frame count (two hours at 30 fps)
# Frames are decoded scaled down to this many pixels: detection works on a grid of 256 px
# (watermark) and 360 px (label) on the shorter side, so more costs memory and finds nothing.
WORK_PIXELS = 960 * 540
# Pictures libav reads as a one-frame video whose size Pillow reads from the header alone.
_STILL_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")


@dataclass(frozen=True)
class VerifyOptions:
    secret: bytes | None = None  # this deployment's AIGC key (to check ReservedCode1)
    trust_anchors: Path | None = None  # PEM roots for C2PA
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_frames: int = DEFAULT_MAX_FRAMES


def _decode(
    path: Path, options: VerifyOptions
) -> tuple[dict[str, str], list[np.ndarray], list[str]]:
    """Container tags and the first frames (RGB, scaled down to WORK_PIXELS); errors met while
    decoding. The size and frame count the container declares are checked before anything
    decodes (`video_too_large`), and each frame again as it decodes."""
    header = read_video_header(path, max_pixels=options.max_pixels)
    width, height = (header.width, header.height) if header.width else _still_size(path)
    if width * height > options.max_pixels:
        raise PayloadTooLarge(
            f"{path.name} is {width}x{height}; the limit is {options.max_pixels} pixels per frame",
            code="video_too_large",
        )
    if header.frames > options.max_frames:
        raise PayloadTooLarge(
            f"{path.name} has {header.frames} frames; the limit is {options.max_frames}",
            code="video_too_large",
        )
    errors: list[str] = []
    frames = list(
        iter_frames(
            path,
            max_frames=MAX_FRAMES,
            work_pixels=WORK_PIXELS,
            max_pixels=options.max_pixels,
            errors=errors,
        )
    )
    if not frames:
        raise InvalidRequest(f"{path.name} has no frame that decodes", code="invalid_video")
    return header.metadata, frames, errors


def _still_size(path: Path) -> tuple[int, int]:
    """A still picture's size from its header (no pixel is decoded), or (0, 0). Its container
    declares none: libav learns a picture's size by decoding it, which max_pixels refuses for
    one too large, so without this an oversized picture read as "no frame that decodes"."""
    try:
        with Image.open(path, formats=_STILL_FORMATS) as im:
            return im.size
    except Image.DecompressionBombError as exc:  # Pillow refused it for its size alone
        raise PayloadTooLarge(f"{path.name}: {exc}", code="video_too_large") from None
    except Exception:  # not a picture Pillow reads: libav's answer stands
        return (0, 0)


def _visible_label(frames: list[np.ndarray]) -> dict[str, Any]:
    picks = frames[:: max(1, len(frames) // 4)][:4]
    best_text, best = None, -1.0
    for text in LABEL_TEXTS:
        score = float(np.median([label_score(f, text) for f in picks]))
        if score > best:
            best_text, best = text, score
    found = best >= LABEL_MIN_SCORE
    return {"found": found, "text": best_text if found else None, "score": round(best, 4)}


def _watermark(frames: list[np.ndarray], produce_id: str | None) -> dict[str, Any]:
    from reelforge.provenance.watermark import detect, payload_from_id

    result = detect(frames, max_frames=MAX_FRAMES)  # frames too small carry none: not found
    out: dict[str, Any] = {
        "found": result.found,
        "payload": f"{result.payload:08x}" if result.payload is not None else None,
        "bit_accuracy": (
            round(result.bit_accuracy, 4) if result.bit_accuracy is not None else None
        ),
    }
    if result.found and produce_id:
        out["matches_produce_id"] = result.payload == payload_from_id(produce_id)
    return out


def _c2pa(path: Path, trust_anchors: Path | None) -> dict[str, Any]:
    from reelforge.provenance.c2pa_manifest import read_manifest

    r = read_manifest(path, trust_anchors=trust_anchors)
    return {
        "present": r.present,
        "valid": r.valid,
        "trusted": r.trusted,
        "digital_source_type": r.digital_source_type,
        "software_agent": r.software_agent,
        "model": r.model,
        "produce_id": r.produce_id,
        "errors": r.errors,
    }


def verify_file(path: Path, options: VerifyOptions | None = None) -> dict[str, Any]:
    options = options or VerifyOptions()
    if not path.is_file():
        raise InvalidRequest(f"no such file: {path}", code="invalid_video")
    size = path.stat().st_size
    if size > options.max_bytes:
        raise PayloadTooLarge(f"{path.name} is {size} bytes; the limit is {options.max_bytes}")
    tags, frames, errors = _decode(path, options)
    aigc = read_aigc(tags, options.secret)
    produce_id = str(aigc.block.get("ProduceID")) if aigc else None
    c2pa = _c2pa(path, options.trust_anchors)
    result: dict[str, Any] = {
        "visible_label": _visible_label(frames),
        "aigc": aigc.to_dict() if aigc else None,
        "watermark": _watermark(frames, produce_id),
        "c2pa": c2pa,
        "decode_errors": errors,
    }
    result["verdict"] = verdict(result)
    return result


def verdict(r: dict[str, Any]) -> str:
    c2pa, aigc = r["c2pa"], r["aigc"]
    if c2pa["present"] and c2pa["valid"] and c2pa["digital_source_type"] == TRAINED:
        return "ai-generated"
    if aigc and aigc.get("Label") == AI_GENERATED and aigc.get("signature_valid"):
        return "ai-generated"
    if r["watermark"]["found"] or r["visible_label"]["found"] or aigc or c2pa["present"]:
        return "suspected"
    return "unknown"
