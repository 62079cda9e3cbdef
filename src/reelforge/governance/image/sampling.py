"""Which output frames go through the image checks before a video is released."""

from __future__ import annotations


def sample_indices(frame_count: int, fps: int, every_seconds: float, max_frames: int) -> list[int]:
    """Indices (ascending, unique) of the frames to check in a clip of `frame_count` frames.

    One frame every `every_seconds` from the first, plus the last frame; when that is more
    than `max_frames`, `max_frames` frames spread evenly from the first to the last instead.
    The first and the last frame are always included (with `max_frames=1`, only the first).
    Deterministic: the same arguments give the same frames.

    Raises ValueError for fps ≤ 0, every_seconds ≤ 0 or max_frames < 1.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not every_seconds > 0:
        raise ValueError(f"every_seconds must be positive, got {every_seconds}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    if frame_count <= 0:
        return []
    last = frame_count - 1
    if max_frames == 1 or last == 0:
        return [0]
    step = max(1, round(every_seconds * fps))
    regular = list(range(0, frame_count, step))
    if regular[-1] != last:
        regular.append(last)
    if len(regular) <= max_frames:
        return regular
    # Evenly spread, both ends included; frame_count > max_frames here, so no duplicates.
    return [i * last // (max_frames - 1) for i in range(max_frames)]
