"""Sound beside the frames: a clip's audio track carried into the encoded, marked MP4.

The platform encodes every output from frames (labels and the watermark are drawn on them),
so a source's sound (a provider's MP4, the clip an extension continues) would be lost. After
the frames are encoded, `add_audio` writes a new MP4 with the encoded video stream copied
as it is (no second video encode) and the source's first audio track beside it: its packets
copied where the codec plays everywhere in MP4 (AAC) and the track covers the clip, else
decoded and encoded to AAC (LC, 48 kHz at most, stereo at most). Either way the track starts
with the first frame and lasts as long as the video (trimmed, or padded with silence), and
the video file's container tags (the AIGC block) are kept. The destination is written
atomically (a temp file renamed over it).
"""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from reelforge.atomic import replacing
from reelforge.errors import BackendError

COPY_CODECS = frozenset({"aac"})
"""Audio codecs copied into the output as they are: AAC plays in every browser and phone
from MP4. Anything else (Opus, MP3, PCM, AC-3, ...) is re-encoded to AAC."""

AAC_BITRATE = 128_000
MAX_RATE = 48_000
MIN_COPY_RATE = 32_000  # below it one AAC frame (1024 samples) outlasts a 24 fps frame
_CONTAINER_OPTIONS = {"movflags": "faststart+use_metadata_tags"}


# the muxer's own tags of the encoded file: written afresh, not copied as custom tags
_MUXER_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})


class AudioError(BackendError):
    """The source's sound cannot be read or written (a damaged track, no decoder): the job
    fails with `audio_unreadable` rather than lose the sound silently."""

    code = "audio_unreadable"


@dataclass(frozen=True)
class AudioTrack:
    """The first audio stream of a file: codec, format and where it lies in time (seconds,
    relative to the file's first video frame, when it has one)."""

    codec: str
    sample_rate: int
    channels: int
    start: float
    duration: float | None


@dataclass(frozen=True)
class AddedAudio:
    path: Path
    codec: str
    copied: bool  # packets copied as they were (else re-encoded to AAC)
    duration: float  # the audio track's length in the output, in seconds


def audio_track(path: str | os.PathLike[str]) -> AudioTrack | None:
    """The file's first audio track, or None when it has none (or cannot be opened)."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError):
        return None
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        zero = _video_start(container)
        start = _seconds(stream.start_time, stream.time_base) or 0.0
        duration = _seconds(stream.duration, stream.time_base)
        return AudioTrack(
            codec=stream.codec_context.name,
            sample_rate=int(stream.codec_context.sample_rate or 0),
            channels=int(stream.codec_context.channels or 0),
            start=start - zero,
            duration=duration,
        )


def add_audio(
    video: str | os.PathLike[str],
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    duration: float,
    frame_seconds: float,
    silent: bool = False,
) -> AddedAudio:
    """Write `dest`: `video`'s stream and tags, plus `source`'s first audio track, aligned to
    the first frame and `duration` seconds long. `frame_seconds` (one frame) is how far the
    copied track may be off the video's length before it is re-encoded to fit exactly.
    `silent`: a track of silence in the source's sample rate and channels instead of its
    sound (an extension of a clip with sound: the two join by stream copy, in sync)."""
    track = audio_track(source)
    if track is None:
        raise AudioError(f"{Path(source).name} has no audio track")
    out = Path(dest)
    copy = (
        not silent
        and track.codec in COPY_CODECS
        and track.sample_rate >= MIN_COPY_RATE
        and abs(track.start) <= frame_seconds / 2
        and track.duration is not None
        and track.start + track.duration >= duration - frame_seconds
    )
    try:
        with replacing(out) as tmp:
            length = _write(
                Path(video), Path(source), tmp, duration=duration, copy=copy, silent=silent
            )
    except av.error.FFmpegError as exc:
        raise AudioError(f"the audio track could not be kept: {exc}") from None
    return AddedAudio(out, "aac", copy, length)


def _write(
    video: Path, source: Path, tmp: Path, *, duration: float, copy: bool, silent: bool = False
) -> float:
    with av.open(str(video)) as vin, av.open(str(source)) as ain:
        in_v = vin.streams.video[0]
        in_a = ain.streams.audio[0]
        zero = _video_start(ain)
        with av.open(str(tmp), "w", format="mp4", options=_CONTAINER_OPTIONS) as out:
            out.metadata.update({k: v for k, v in vin.metadata.items() if k not in _MUXER_TAGS})
            out_v = out.add_stream_from_template(in_v)
            if copy:
                out_a = out.add_stream_from_template(in_a)
                audio = _copied(ain, in_a, out_a, zero, duration)
            else:
                # silence follows the source's rate (the clips join by stream copy); sound is
                # encoded at 48 kHz, where AAC's last frame overhangs by 21 ms at most
                rate = (
                    min(int(in_a.codec_context.sample_rate or MAX_RATE), MAX_RATE)
                    if silent
                    else MAX_RATE
                )
                layout = "mono" if (in_a.codec_context.channels or 2) == 1 else "stereo"
                out_a = out.add_stream("aac", rate=rate, layout=layout)
                out_a.bit_rate = AAC_BITRATE
                audio = _reencoded(ain, in_a, out_a, zero, duration, rate, layout, silent)
            length = [0.0]

            def video_packets() -> Iterator[tuple[float, int, Any]]:
                for packet in vin.demux(in_v):
                    if packet.dts is None:
                        continue  # the demuxer's empty flush packet
                    packet.stream = out_v
                    yield float(packet.dts * packet.time_base), 0, packet

            def audio_packets() -> Iterator[tuple[float, int, Any]]:
                for t, packet, end in audio:
                    length[0] = max(length[0], end)
                    yield t, 1, packet

            # one stream's packets after the other's by time, so the muxer never holds much
            for _, _, packet in heapq.merge(video_packets(), audio_packets(), key=_order):
                out.mux(packet)
    return round(length[0], 6)


def _order(item: tuple[float, int, Any]) -> tuple[float, int]:
    return item[0], item[1]


def _copied(
    ain: Any, in_a: Any, out_a: Any, zero: float, duration: float
) -> Iterator[tuple[float, Any, float]]:
    """The source's AAC packets up to `duration`, shifted so the first frame is time 0."""
    shift = round(zero / in_a.time_base) if zero else 0
    for packet in ain.demux(in_a):
        if packet.pts is None:
            continue
        start = float((packet.pts - shift) * in_a.time_base)
        if start >= duration:
            continue  # past the last frame: dropped (read on, the demuxer may interleave)
        packet.pts -= shift
        packet.dts = (packet.dts - shift) if packet.dts is not None else packet.pts
        packet.stream = out_a
        end = start + float((packet.duration or 0) * in_a.time_base)
        yield float(packet.dts * in_a.time_base), packet, min(end, duration)


def _reencoded(
    ain: Any,
    in_a: Any,
    out_a: Any,
    zero: float,
    duration: float,
    rate: int,
    layout: str,
    silent: bool = False,
) -> Iterator[tuple[float, Any, float]]:
    """The source's sound decoded, resampled, cut to [first frame, duration] (silence where
    it has none; all silence with `silent`) and encoded to AAC."""
    channels = 1 if layout == "mono" else 2
    total = round(duration * rate)
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    written = 0  # samples handed to the encoder, from the first frame on

    def encode(samples: np.ndarray) -> Iterator[tuple[float, Any, float]]:
        nonlocal written
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        frame.pts = written
        frame.time_base = Fraction(1, rate)
        written += samples.shape[1]
        for packet in out_a.encode(frame):
            yield _timed(packet, rate, duration)

    for decoded in () if silent else ain.decode(in_a):
        if written >= total:
            break
        when = float(decoded.pts * decoded.time_base) - zero if decoded.pts is not None else None
        for frame in resampler.resample(decoded):
            samples = frame.to_ndarray().reshape(channels, -1)
            if when is not None and written == 0 and when > 0:  # starts late: silence first
                yield from encode(np.zeros((channels, min(round(when * rate), total)), np.float32))
            if when is not None and when < 0 and written == 0:  # starts early: skip the lead
                skip = min(round(-when * rate), samples.shape[1])
                samples = samples[:, skip:]
                when += skip / rate
            samples = samples[:, : max(0, total - written)]
            if samples.shape[1]:
                yield from encode(samples)
            when = None
    for frame in resampler.resample(None):
        samples = frame.to_ndarray().reshape(channels, -1)[:, : max(0, total - written)]
        if samples.shape[1]:
            yield from encode(samples)
    if written < total:  # ends early: silence to the last frame
        yield from encode(np.zeros((channels, total - written), np.float32))
    for packet in out_a.encode(None):
        yield _timed(packet, rate, duration)


def _timed(packet: Any, rate: int, duration: float) -> tuple[float, Any, float]:
    base = packet.time_base or Fraction(1, rate)
    start = float((packet.dts if packet.dts is not None else packet.pts or 0) * base)
    end = float(((packet.pts or 0) + (packet.duration or 0)) * base)
    return start, packet, min(end, duration)


def _video_start(container: Any) -> float:
    """Where the file's first video frame lies (seconds): the zero the audio is aligned to."""
    if not container.streams.video:
        return 0.0
    stream = container.streams.video[0]
    return _seconds(stream.start_time, stream.time_base) or 0.0


def _seconds(value: int | None, base: Fraction | None) -> float | None:
    if value is None or base is None:
        return None
    return float(value * base)


def decoded_audio_seconds(path: str | os.PathLike[str]) -> float:
    """The length of a file's first audio track as decoded (samples / rate): what a player
    plays, edit lists and encoder priming applied."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        samples = 0
        rate = 0
        with contextlib.suppress(av.error.EOFError):
            for frame in container.decode(stream):
                samples += frame.samples
                rate = frame.sample_rate
        return samples / rate if rate else 0.0
