"""The `motion` backend: CPU image-to-video by camera motion over a still image.

Classical animation (smart crop + eased sub-pixel camera moves), not a generative model.
"""

from reelforge.backends.motion.backend import NO_TEXT_TO_VIDEO, MotionBackend
from reelforge.backends.motion.camera import Rect, camera_path, ease_in_out
from reelforge.backends.motion.crop import CropPlan, saliency_map, smart_crop
from reelforge.backends.motion.prompt import DEFAULT_CAMERA, camera_from_prompt, resolve_camera
from reelforge.backends.motion.render import FrameRenderer

__all__ = [
    "DEFAULT_CAMERA",
    "NO_TEXT_TO_VIDEO",
    "CropPlan",
    "FrameRenderer",
    "MotionBackend",
    "Rect",
    "camera_from_prompt",
    "camera_path",
    "ease_in_out",
    "resolve_camera",
    "saliency_map",
    "smart_crop",
]
