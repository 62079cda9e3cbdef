"""The `motion` backend: image-to-video by a virtual camera moving over a still photo.

This is classical animation, not a generative model: nothing is invented, every frame is the
input image seen through a smoothly moving viewport (zoom, pan, tilt, dolly or a still shot),
framed by a saliency-based smart crop. It runs on CPU, needs no model files, and is the
default backend wherever no neural model is configured.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.backends.motion.camera import Rect, camera_path, ease_in_out, tightest_zoom
from reelforge.backends.motion.compose import CompositionRenderer
from reelforge.backends.motion.compose import frame_count as composition_frames
from reelforge.backends.motion.crop import largest_crop, smart_crop
from reelforge.backends.motion.interpolate import FlowInterpolator
from reelforge.backends.motion.prompt import camera_choice, resolve_camera
from reelforge.backends.motion.render import DEFAULT_SUPERSAMPLE, FrameRenderer
from reelforge.domain.spec import Camera, JobSpec, Mode
from reelforge.errors import BackendError, CapabilityMissing, InvalidRequest
from reelforge.media.images import DEFAULT_MAX_PIXELS, load_image

NO_TEXT_TO_VIDEO = (
    "No text-to-video model is configured: the built-in 'motion' backend only animates an "
    "input image (upload one for image-to-video). To add a text-to-video model, run "
    "`pip install 'reelforge[neural]'` and then "
    "`reelforge models add NAME --family wan --path DIR` with DIR holding the downloaded model."
)


class MotionBackend:
    """CPU image-to-video by camera motion (classical animation, not a neural model).

    `supersample` is the anti-aliasing level (see `render.py`): 2 (default) costs almost
    nothing since supersampling became a one-off prefilter; 1 shimmers slightly on fine texture
    (3 dB lower PSNR on the zoompan bench).
    """

    name = "motion"
    queue = "motion"

    def __init__(
        self,
        *,
        supersample: int = DEFAULT_SUPERSAMPLE,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        frame_delay: float = 0.0,
    ) -> None:
        self.supersample = supersample
        self.max_pixels = max_pixels
        self.frame_delay = frame_delay  # seconds after each frame (tests pace a clip with it)

    def cache_identity(self) -> dict[str, object]:
        """What decides the pixels besides the request (for the result cache)."""
        from reelforge import __version__

        return {"backend": self.name, "version": __version__, "supersample": self.supersample}

    def check(self, spec: JobSpec) -> None:
        """Refuse what this backend cannot do: text-to-video needs a neural model; there are
        no denoising steps, guidance or presets to set; H.264 needs even frame sizes."""
        if spec.mode is Mode.TEXT2VIDEO:
            raise CapabilityMissing(NO_TEXT_TO_VIDEO, field="mode")
        if spec.mode is Mode.FRAMES2VIDEO and spec.camera not in (None, Camera.STATIC):
            raise InvalidRequest(
                "frames2video moves from the first image to the second by optical flow; it "
                "takes no camera move (leave camera out)",
                code="unsupported_parameter",
                field="camera",
            )
        if spec.mode is Mode.FIRST_LAST_FRAME:
            raise CapabilityMissing(
                "the motion backend animates one image; first_last_frame needs a neural model "
                "that supports it (a wan model with task flf2v, or ltx), or mode frames2video "
                "(optical-flow interpolation on CPU)",
                code="unsupported_mode",
                field="mode",
            )
        for name in ("steps", "guidance", "preset"):
            if getattr(spec, name) is not None:
                raise InvalidRequest(
                    f"the motion backend has no {name}; it is classical animation. Leave "
                    f"{name} out, or choose a neural model",
                    code="unsupported_parameter",
                    field=name,
                )
        width, height = spec.size
        if spec.composition is not None:
            planned = composition_frames(spec.composition, spec.fps)
            if abs(planned - spec.frame_count) > len(spec.composition.scenes) + 2:
                raise InvalidRequest(
                    f"the composition lasts {spec.composition.duration:g} s; set duration to "
                    f"match (got {spec.duration:g} s)",
                    field="duration",
                )
        if width % 2 or height % 2:
            raise InvalidRequest(
                f"width and height must be even, got {width}x{height}",
                code="unsupported_size",
                field="width",
            )

    def parameters(self, spec: JobSpec) -> dict[str, Any]:
        """What runs (recorded on the job): the frame geometry and the camera move, with where
        the move came from (`request`, `prompt` or `default`)."""
        width, height = spec.size
        if spec.composition is not None:
            return {
                "width": width,
                "height": height,
                "frames": composition_frames(spec.composition, spec.fps),
                "fps": spec.fps,
                "template": spec.composition.template,
                "scenes": [s.camera.value for s in spec.composition.scenes],
            }
        if spec.mode is Mode.FRAMES2VIDEO:
            return {
                "width": width,
                "height": height,
                "frames": spec.frame_count,
                "fps": spec.fps,
                "transition": "optical_flow",
            }
        camera, source = camera_choice(spec)
        return {
            "width": width,
            "height": height,
            "frames": spec.frame_count,
            "fps": spec.fps,
            "camera": camera.value,
            "camera_source": source,
        }

    def upscale(self, spec: JobSpec, source_size: tuple[int, int]) -> tuple[float, float]:
        """How many times a source image of `source_size` is enlarged in the move's tightest
        frame, and the part of that due to the camera's zoom (for the upscale warning)."""
        out_w, out_h = spec.size
        crop = largest_crop(source_size, out_w / out_h)
        if spec.mode is Mode.FRAMES2VIDEO:
            return out_w / crop[0], 1.0
        zoom = tightest_zoom(
            resolve_camera(spec),
            source_size=source_size,
            crop=crop,
            duration=spec.frame_count / spec.fps,
        )
        return out_w * zoom / crop[0], zoom

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        """Load and frame the input image now; frames are rendered as the clip is iterated.

        Reports ("prepare", 0, 1), ("prepare", 1, 1), then ("render", i, n) after each frame
        is made and before it is handed over; a `JobInterrupted` raised by `on_progress`
        propagates out of the frame iterator and nothing more is rendered.
        """
        spec = request.spec
        self.check(spec)
        if not request.input_paths:
            raise BackendError("image-to-video needs an input image, and none was provided")
        started = time.perf_counter()
        on_progress("prepare", 0, 1)
        if spec.mode is Mode.FRAMES2VIDEO:
            return self._frames2video(request, on_progress, started)
        if spec.composition is not None:
            return self._composition(request, on_progress, started)
        image = load_image(request.input_paths[0], max_pixels=self.max_pixels)
        out_w, out_h = spec.size
        camera = resolve_camera(spec)
        plan = smart_crop(image, out_w / out_h)
        path = camera_path(
            camera,
            source_size=(image.shape[1], image.shape[0]),
            crop=plan.crop,
            focus=plan.focus,
            frame_count=spec.frame_count,
            duration=spec.frame_count / spec.fps,
            seed=spec.seed,
        )
        renderer = FrameRenderer(image, path, (out_w, out_h), supersample=self.supersample)
        del image  # the renderer keeps only the part (and density) it needs
        timings: dict[str, float] = {"prepare": time.perf_counter() - started, "render": 0.0}
        on_progress("prepare", 1, 1)
        frames = _render_frames(
            renderer, path, camera is Camera.STATIC, timings, on_progress, self.frame_delay
        )
        return Clip(
            width=out_w,
            height=out_h,
            fps=spec.fps,
            frame_count=len(path),
            frames=frames,
            timings=timings,
            device="cpu",
        )

    def _frames2video(
        self, request: GenerationRequest, on_progress: ProgressFn, started: float
    ) -> Clip:
        """images[0] -> images[1]: both framed to the output by the smart crop, the frames
        between them made by optical-flow interpolation on an eased time line."""
        spec = request.spec
        if len(request.input_paths) < 2:
            raise BackendError("frames2video needs two input images")
        out_w, out_h = spec.size
        ends = [
            framed(load_image(path, max_pixels=self.max_pixels), (out_w, out_h), self.supersample)
            for path in request.input_paths[:2]
        ]
        interpolator = FlowInterpolator(ends[0], ends[1])
        del ends
        timings: dict[str, float] = {"prepare": time.perf_counter() - started, "render": 0.0}
        on_progress("prepare", 1, 1)
        count = spec.frame_count
        times = [ease_in_out(i / (count - 1)) if count > 1 else 0.0 for i in range(count)]
        return Clip(
            width=out_w,
            height=out_h,
            fps=spec.fps,
            frame_count=count,
            frames=_interpolated_frames(
                interpolator, times, timings, on_progress, self.frame_delay
            ),
            timings=timings,
            device="cpu",
        )

    def _composition(
        self, request: GenerationRequest, on_progress: ProgressFn, started: float
    ) -> Clip:
        """A promo clip: the composition's scenes, transitions, overlays and end card."""
        spec = request.spec
        composition = spec.composition
        assert composition is not None
        if len(request.input_paths) < composition.image_count:
            raise BackendError(f"the composition needs {composition.image_count} input images")
        images = [load_image(p, max_pixels=self.max_pixels) for p in request.input_paths]
        renderer = CompositionRenderer(
            composition, images, spec.size, spec.fps, seed=spec.seed, supersample=self.supersample
        )
        del images
        count = composition_frames(composition, spec.fps)
        timings: dict[str, float] = {"prepare": time.perf_counter() - started, "render": 0.0}
        on_progress("prepare", 1, 1)
        return Clip(
            width=spec.size[0],
            height=spec.size[1],
            fps=spec.fps,
            frame_count=count,
            frames=_timed(renderer.frames(), count, timings, on_progress, self.frame_delay),
            timings=timings,
            device="cpu",
        )


def _timed(
    frames: Iterator[np.ndarray],
    total: int,
    timings: dict[str, float],
    on_progress: ProgressFn,
    frame_delay: float = 0.0,
) -> Iterator[np.ndarray]:
    """Pass frames on, timing their making and reporting progress after each."""
    done = 0
    while True:
        started = time.perf_counter()
        frame = next(frames, None)
        timings["render"] += time.perf_counter() - started
        if frame is None:
            return
        if frame_delay:
            time.sleep(frame_delay)
        done += 1
        on_progress("render", done, total)
        yield frame


def framed(image: np.ndarray, size: tuple[int, int], supersample: int) -> np.ndarray:
    """`image` filling a frame of `size` (w, h): its smart crop at that aspect, resampled."""
    plan = smart_crop(image, size[0] / size[1])
    return FrameRenderer(image, [plan.crop], size, supersample=supersample).render(plan.crop)


def _interpolated_frames(
    interpolator: FlowInterpolator,
    times: list[float],
    timings: dict[str, float],
    on_progress: ProgressFn,
    frame_delay: float = 0.0,
) -> Iterator[np.ndarray]:
    total = len(times)
    for index, t in enumerate(times):
        started = time.perf_counter()
        frame = interpolator.frame(t)
        timings["render"] += time.perf_counter() - started
        if frame_delay:
            time.sleep(frame_delay)
        on_progress("render", index + 1, total)
        yield frame


def _render_frames(
    renderer: FrameRenderer,
    path: list[Rect],
    still: bool,
    timings: dict[str, float],
    on_progress: ProgressFn,
    frame_delay: float = 0.0,
) -> Iterator[np.ndarray]:
    """Yield fresh frames (the consumer may draw on them); time only our own work."""
    total = len(path)
    first: np.ndarray | None = None
    for index, view in enumerate(path):
        started = time.perf_counter()
        if still and first is not None:
            frame = first.copy()  # a still shot renders once; each frame is still its own array
        else:
            frame = renderer.render(view)
            if still:
                first = frame.copy()
        timings["render"] += time.perf_counter() - started
        if frame_delay:
            time.sleep(frame_delay)  # pacing for tests, outside the render timing
        on_progress("render", index + 1, total)
        yield frame
