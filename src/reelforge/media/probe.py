"""Inspect an encoded video by decoding it: what a player would actually get.

`probe_video` counts frames by decoding every one of them (not by trusting the index), so a
truncated file is caught; it is used by tests and by `reelforge verify`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from reelforge.errors import InvalidRequest, PayloadTooLarge

_INVALID_VIDEO = "invalid_video"
_COLOR_SPACE_NAMES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc", 2: "unspecified"}


@dataclass(frozen=True)
class VideoInfo:
    """A decoded video's geometry, codec and container tags.

    `duration` is the container's duration in seconds (what players display); `frames` is the
    number of frames that actually decoded; `fps` is the stream's average frame rate.
    """

    width: int
    height: int
    frames: int
    fps: float
    duration: float
    codec: str
    pix_fmt: str
    metadata: dict[str, str] = field(default_factory=dict)
    color_space: str = "unspecified"
    faststart: bool = False  # moov before mdat: playback can start before the download ends


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Decode every frame of the first video stream and describe the file.

    Raises `InvalidRequest` (code ``invalid_video``) when the file is missing, is not a video,
    has no video stream, or is truncated/corrupt (fewer frames decode than its index lists).
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidRequest(f"video file not found: {source}", code=_INVALID_VIDEO)
    boxes = top_level_boxes(source)
    faststart = "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
    try:
        container = av.open(str(source), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(
            f"{source.name} is not a video file we can read ({exc})", code=_INVALID_VIDEO
        ) from exc
    with container:
        if not container.streams.video:
            raise InvalidRequest(f"{source.name} contains no video stream", code=_INVALID_VIDEO)
        stream = container.streams.video[0]
        ctx = stream.codec_context
        indexed_frames = stream.frames
        decoded = 0
        try:
            for _frame in container.decode(stream):
                decoded += 1
        except (av.error.FFmpegError, OSError) as exc:
            raise InvalidRequest(
                f"{source.name} is truncated or corrupt: decoding failed after {decoded} frames "
                f"({exc})",
                code=_INVALID_VIDEO,
            ) from exc
        if decoded == 0 or (indexed_frames and decoded < indexed_frames):
            raise InvalidRequest(
                f"{source.name} is truncated or corrupt: {decoded} of "
                f"{indexed_frames or 'its'} frames decode",
                code=_INVALID_VIDEO,
            )
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        if container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = decoded / fps if fps else 0.0
        return VideoInfo(
            width=ctx.width,
            height=ctx.height,
            frames=decoded,
            fps=fps,
            duration=duration,
            codec=ctx.name,
            pix_fmt=ctx.pix_fmt or "",
            metadata={str(k): str(v) for k, v in container.metadata.items()},
            color_space=_COLOR_SPACE_NAMES.get(int(ctx.colorspace), str(int(ctx.colorspace))),
            faststart=faststart,
        )


def top_level_boxes(path: str | os.PathLike[str]) -> list[str]:
    """Types of the top-level ISO-BMFF boxes of an MP4/MOV file, in file order.

    Stops at the first malformed header, so a truncated file lists what precedes the damage.
    """
    boxes: list[str] = []
    with open(path, "rb") as fh:
        file_size = os.fstat(fh.fileno()).st_size
        offset = 0
        while offset + 8 <= file_size:
            fh.seek(offset)
            size, kind = struct.unpack(">I4s", fh.read(8))
            header = 8
            if size == 1:  # 64-bit "largesize" follows the type
                largesize = fh.read(8)
                if len(largesize) < 8:
                    break
                (size,) = struct.unpack(">Q", largesize)
                header = 16
            elif size == 0:  # box extends to the end of the file
                size = file_size - offset
            if size < header:
                break
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes


def last_frame(path: str | os.PathLike[str]) -> np.ndarray:
    """The last frame of a video as RGB uint8 (H, W, 3): where an extension continues from.

    Decodes the stream through (our clips are seconds long); raises `InvalidRequest`
    (``invalid_video``) when nothing decodes.
    """
    source = Path(path)
    try:
        with av.open(str(source), mode="r") as container:
            if not container.streams.video:
                raise InvalidRequest(f"{source.name} contains no video stream", code=_INVALID_VIDEO)
            final = None
            for frame in container.decode(container.streams.video[0]):
                final = frame
            if final is None:
                raise InvalidRequest(
                    f"{source.name} has no frame to continue from", code=_INVALID_VIDEO
                )
            return np.ascontiguousarray(final.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidRequest(
            f"{source.name} is not a video we can read ({exc})", code=_INVALID_VIDEO
        ) from exc


@dataclass(frozen=True)
class VideoHeader:
    """What a video's container says about its first video stream, read without decoding.

    `frames` is the container's count (0 when it does not say); `width`/`height` come from the
    codec parameters. A file can lie about both, so the frame iterator checks each frame too.
    """

    width: int
    height: int
    frames: int
    fps: float
    duration: float
    metadata: dict[str, str] = field(default_factory=dict)


def _decoder_options(max_pixels: int | None) -> dict[str, str]:
    # libavcodec refuses to allocate a picture over max_pixels: opening a file decodes a frame
    # to learn its parameters (avformat_find_stream_info), at the file's size
    return {"max_pixels": str(max_pixels)} if max_pixels else {}


def read_video_header(path: str | os.PathLike[str], max_pixels: int | None = None) -> VideoHeader:
    """The first video stream's size, frame count and the container's tags, from the
    container; with `max_pixels`, no picture larger than that is even allocated.

    Raises `InvalidRequest` (``invalid_video``) when the file cannot be opened as a video.
    """
    source = Path(path)
    try:
        with av.open(str(source), mode="r", options=_decoder_options(max_pixels)) as container:
            if not container.streams.video:
                raise InvalidRequest(f"{source.name} contains no video stream", code=_INVALID_VIDEO)
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            duration = container.duration / av.time_base if container.duration is not None else 0.0
            frames = int(stream.frames or 0)
            if not frames and fps and duration:
                frames = round(duration * fps)
            ctx = stream.codec_context
            return VideoHeader(
                width=int(ctx.width or 0),
                height=int(ctx.height or 0),
                frames=frames,
                fps=fps,
                duration=duration,
                metadata={str(k): str(v) for k, v in container.metadata.items()},
            )
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(
            f"{source.name} is not a video file we can read ({exc})", code=_INVALID_VIDEO
        ) from None


def bounded_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """`width` x `height` scaled down (aspect kept, even sizes) to at most `max_pixels`."""
    if width * height <= max_pixels:
        return width, height
    scale = (max_pixels / (width * height)) ** 0.5
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def iter_frames(
    path: str | os.PathLike[str],
    *,
    max_frames: int,
    work_pixels: int,
    max_pixels: int,
    errors: list[str] | None = None,
) -> Iterator[np.ndarray]:
    """Decode the first `max_frames` frames one at a time, each as RGB uint8 scaled down (by
    the decoder's scaler) to at most `work_pixels`; nothing is kept between frames.

    A frame larger than `max_pixels` stops the iteration with `PayloadTooLarge`
    (``video_too_large``): a stream can change size after its header. A decoding error ends
    the iteration early and is appended to `errors` (a truncated file is read as far as it
    decodes). Decoder threads are limited
    to slices, so no extra full-size frames are held in flight.
    """
    source = Path(path)
    try:
        container = av.open(str(source), mode="r", options=_decoder_options(max_pixels))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(
            f"{source.name} is not a video file we can read ({exc})", code=_INVALID_VIDEO
        ) from None
    with container:
        if not container.streams.video:
            raise InvalidRequest(f"{source.name} contains no video stream", code=_INVALID_VIDEO)
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # frame threading keeps one frame per thread in flight
        stream.thread_count = 2
        stream.codec_context.options = _decoder_options(max_pixels)
        count = 0
        try:
            for frame in container.decode(stream):
                if frame.width * frame.height > max_pixels:
                    raise PayloadTooLarge(
                        f"{source.name} has {frame.width}x{frame.height} frames; the limit is "
                        f"{max_pixels} pixels per frame",
                        code="video_too_large",
                    )
                width, height = bounded_size(frame.width, frame.height, work_pixels)
                yield frame.to_ndarray(format="rgb24", width=width, height=height)
                count += 1
                if count >= max_frames:
                    return
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            if errors is not None:
                errors.append(f"decoding stopped after {count} frames: {exc}")
