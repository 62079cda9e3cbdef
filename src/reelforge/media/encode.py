"""Encode RGB frames to an H.264 MP4 that plays everywhere, in-process through PyAV.

Output: H.264 (libx264) High profile, yuv420p, BT.709 primaries/transfer/matrix, limited
range, `moov` before `mdat` (faststart, so browsers start playing before the download ends),
optional container metadata tags with arbitrary keys (`movflags=use_metadata_tags`).

Rendering and encoding overlap: the caller's thread pulls frames from the iterator (and runs
the `on_frame` hook), while an encoder thread converts RGB to YUV and runs x264. PyAV releases
the GIL in swscale, the encoder and the muxer, so the two really run in parallel. Frames are
handed over through a small bounded queue, so memory stays flat whatever the clip length.

The destination is never half-written: frames go to a temp file in the same directory that is
renamed over the destination only after the trailer is written; on any error (including a
`JobInterrupted` raised by the frame iterator) the temp file is removed and the error re-raised.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from reelforge.atomic import replacing

DEFAULT_CRF = 20
"""x264 constant rate factor. Measured on a 1080p zoom over the sample photo: CRF 18 costs 33%
more bytes for +0.65 dB, CRF 23 (x264's default) saves 35% for -1.3 dB; 20 sits between, on
the clean side, since these clips are short and get re-encoded by every platform they reach."""

DEFAULT_PRESET = "veryfast"
"""Measured on 2 cores at 1080p, CRF 20 (see bench/README.md): veryfast encodes ~30 ms/frame
and gave the smallest file of all presets at ~40 dB, while faster/medium took 1.5-2.2x the time
for +0.5-1 dB and larger files; superfast/ultrafast were quicker but 2-5x larger."""

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)

FrameHook = Callable[[int, np.ndarray], np.ndarray | None]
"""on_frame(index, frame) -> replacement frame, or None to keep the frame as it is."""

_QUEUE_FRAMES = 6  # enough to absorb jitter between renderer and encoder; 6 x 6 MB at 1080p
_POLL_SECONDS = 0.1  # how often a blocked producer re-checks that the encoder is still alive
_CONTAINER_OPTIONS = {"movflags": "faststart+use_metadata_tags"}


@dataclass(frozen=True)
class EncodeResult:
    """What was written. `seconds` is the wall time of the whole call (it includes producing
    the frames when the iterator is lazy); `encode_seconds` is the time the encoder was busy."""

    path: Path
    frames: int
    bytes: int
    seconds: float
    encode_seconds: float
    width: int
    height: int
    fps: int | Fraction


def encode_mp4(
    frames: Iterable[np.ndarray],
    path: str | os.PathLike[str],
    *,
    fps: int | Fraction,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    metadata: Mapping[str, str] | None = None,
    on_frame: FrameHook | None = None,
    threaded: bool = True,
) -> EncodeResult:
    """Encode RGB uint8 frames (H x W x 3, even W and H, all the same size) to an MP4 at `path`.

    `on_frame(index, frame)` runs in the caller's thread for every frame before it is encoded
    and may return a replacement frame (labels, watermarks) or None. Frames are referenced until
    encoded, so a producer must not reuse one array for several frames. `threaded=False` encodes
    inline (no overlap); it exists for measurement. Exceptions from the iterator or the hook
    propagate after the temp file is removed; nothing is left at `path`.
    """
    started = time.perf_counter()
    _check_settings(fps, crf, preset, metadata)
    dest = Path(path)
    count = 0
    shape: tuple[int, ...] | None = None
    with replacing(dest) as tmp:
        encoder = _Encoder(tmp, fps=fps, crf=crf, preset=preset, metadata=dict(metadata or {}))
        sink: _ThreadedSink | _Encoder = _ThreadedSink(encoder) if threaded else encoder
        try:
            for frame in frames:
                if on_frame is not None:
                    replacement = on_frame(count, frame)
                    if replacement is not None:
                        frame = replacement
                shape = _check_frame(frame, shape)
                sink.add(frame)
                count += 1
            if count == 0:
                raise ValueError("no frames to encode")
            sink.finish()
        except BaseException:
            sink.abort()
            raise
    assert shape is not None
    return EncodeResult(
        path=dest,
        frames=count,
        bytes=dest.stat().st_size,
        seconds=time.perf_counter() - started,
        encode_seconds=encoder.busy_seconds,
        width=shape[1],
        height=shape[0],
        fps=fps,
    )


def _check_settings(
    fps: int | Fraction, crf: int, preset: str, metadata: Mapping[str, str] | None
) -> None:
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be within 0..51, got {crf}")
    if preset not in X264_PRESETS:
        raise ValueError(f"unknown x264 preset {preset!r}; use one of {', '.join(X264_PRESETS)}")
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise ValueError(f"metadata must map non-empty str to str, got {key!r}: {value!r}")


def _check_frame(frame: np.ndarray, expected: tuple[int, ...] | None) -> tuple[int, ...]:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 numpy arrays, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frames must be RGB (height, width, 3), got shape {frame.shape}")
    if expected is None:
        height, width = frame.shape[:2]
        if height % 2 or width % 2:
            raise ValueError(f"yuv420p needs an even width and height, got {width}x{height}")
    elif frame.shape != expected:
        raise ValueError(f"frame size changed from {expected} to {frame.shape}")
    return frame.shape


class _Encoder:
    """Owns the PyAV container; used from exactly one thread at a time."""

    def __init__(
        self,
        path: Path,
        *,
        fps: int | Fraction,
        crf: int,
        preset: str,
        metadata: dict[str, str],
    ) -> None:
        self._path = path
        self._fps = fps
        self._crf = crf
        self._preset = preset
        self._metadata = metadata
        self._container: Any = None
        self._stream: Any = None
        self._index = 0
        self.busy_seconds = 0.0

    @staticmethod
    def convert(frame: np.ndarray) -> Any:
        """RGB → a yuv420p VideoFrame; thread-safe, so producers can do it in parallel."""
        # Wrapped, not copied (from_ndarray copies: ~1 ms of a ~5.5 ms conversion at 1080p);
        # the array outlives the wrapper, which reformat() reads once into a new frame.
        rgb = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(frame), format="rgb24")
        # Convert with the BT.709 matrix ourselves: the stream is tagged BT.709, and letting
        # the encoder pick would use swscale's BT.601 default and shift every colour.
        return rgb.reformat(
            format="yuv420p",
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
        )

    def add(self, frame: np.ndarray) -> None:
        started = time.perf_counter()
        yuv = self.convert(frame)
        self.busy_seconds += time.perf_counter() - started
        self.add_converted(yuv)

    def add_converted(self, yuv: Any) -> None:
        started = time.perf_counter()
        if self._container is None:
            self._open(width=yuv.width, height=yuv.height)
        yuv.pts = self._index
        self._index += 1
        self._container.mux(self._stream.encode(yuv))
        self.busy_seconds += time.perf_counter() - started

    def finish(self) -> None:
        started = time.perf_counter()
        self._container.mux(self._stream.encode(None))  # flush delayed frames
        self._container.close()  # writes the trailer; faststart moves moov to the front
        self._container = None
        self.busy_seconds += time.perf_counter() - started

    def abort(self) -> None:
        if self._container is not None:
            container, self._container = self._container, None
            # The file is discarded anyway: an error here must not mask the original one.
            with contextlib.suppress(Exception):
                container.close()

    def _open(self, *, width: int, height: int) -> None:
        container = av.open(str(self._path), mode="w", format="mp4", options=_CONTAINER_OPTIONS)
        try:
            container.metadata.update(self._metadata)
            stream = container.add_stream("libx264", rate=self._fps)
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1) / Fraction(self._fps)
            ctx = stream.codec_context
            ctx.color_primaries = ColorPrimaries.BT709
            ctx.color_trc = ColorTrc.BT709
            ctx.colorspace = Colorspace.ITU709
            ctx.color_range = ColorRange.MPEG
            stream.options = {"crf": str(self._crf), "preset": self._preset}
        except BaseException:
            container.close()
            raise
        self._container, self._stream = container, stream


_DONE = object()
_ABORT = object()


class _ThreadedSink:
    """Feeds an `_Encoder` running on its own thread through a bounded queue."""

    def __init__(self, encoder: _Encoder) -> None:
        self._encoder = encoder
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="reelforge-encoder", daemon=True)
        self._thread.start()

    def add(self, frame: np.ndarray) -> None:
        # Colour conversion on the producer's thread: it overlaps with x264 on the other.
        self._put(self._encoder.convert(frame))

    def finish(self) -> None:
        self._put(_DONE)
        self._thread.join()
        self._raise_encoder_error()

    def abort(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(_ABORT, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                continue  # the encoder is still draining frames; it will take the abort soon
        self._thread.join()
        self._encoder.abort()

    def _put(self, item: object) -> None:
        while True:
            self._raise_encoder_error()
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _raise_encoder_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _ABORT:
                    return
                if item is _DONE:
                    self._encoder.finish()
                    return
                self._encoder.add_converted(item)
        except BaseException as exc:  # handed to the producer thread, which raises it
            self._error = exc
