"""Media helpers shared by every backend: image loading and validation, MP4 encoding, probing.

Nothing here knows about jobs or storage: functions take bytes, paths and frames.
"""

from reelforge.media.encode import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    EncodeResult,
    FrameHook,
    encode_mp4,
)
from reelforge.media.images import (
    ALLOWED_FORMATS,
    DEFAULT_MAX_PIXELS,
    ImageInfo,
    inspect_image,
    load_image,
    sample_image_path,
    save_jpeg,
)
from reelforge.media.probe import VideoInfo, probe_video, top_level_boxes

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_CRF",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_PRESET",
    "EncodeResult",
    "FrameHook",
    "ImageInfo",
    "VideoInfo",
    "encode_mp4",
    "inspect_image",
    "load_image",
    "probe_video",
    "sample_image_path",
    "save_jpeg",
    "top_level_boxes",
]
