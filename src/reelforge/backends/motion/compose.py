"""Rendering a composition (domain/composition.py): scenes, transitions, overlays, end card.

Each scene is an ordinary motion shot (smart crop + eased camera move over one image); scenes
are joined by a cut, a cross-fade or optical-flow frames from the last frame of one to the
first of the next (interpolate.py); an end card of plain colour follows, faded in. Text and
logo layers are drawn once into RGBA sprites (media/text.py: wrapped and shrunk to their
boxes) and blended onto every frame they cover, fading in and out over `LAYER_FADE` seconds;
a countdown layer's sprite is drawn again only when the second it shows changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from reelforge.backends.motion.camera import camera_path
from reelforge.backends.motion.crop import smart_crop
from reelforge.backends.motion.interpolate import FlowInterpolator
from reelforge.backends.motion.render import FrameRenderer
from reelforge.domain.composition import (
    COUNTDOWN,
    Box,
    Composition,
    LogoLayer,
    TextLayer,
    Transition,
)
from reelforge.media.text import render_text

LAYER_FADE = 0.3  # seconds a layer takes to appear and to go


def frame_count(composition: Composition, fps: int) -> int:
    """Frames the composition renders to at `fps` (scenes, transitions, end card)."""
    total = 0
    for index, scene in enumerate(composition.scenes):
        total += _frames(scene.duration, fps) + _frames(composition.transition_of(index), fps)
    if composition.end_card is not None:
        total += _frames(composition.end_card.duration, fps)
    return total


def _frames(seconds: float, fps: int) -> int:
    return round(seconds * fps)


def pixel_box(box: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, w, h) in whole pixels, inside the frame, at least 1x1."""
    width, height = size
    x, y = min(width - 1, round(box.x * width)), min(height - 1, round(box.y * height))
    w = max(1, min(width - x, round(box.w * width)))
    h = max(1, min(height - y, round(box.h * height)))
    return x, y, w, h


@dataclass
class _Sprite:
    x: int
    y: int
    start: float
    end: float | None
    rgb: np.ndarray  # float32 (h, w, 3)
    alpha: np.ndarray  # float32 (h, w, 1), 0..1
    redraw: Callable[[float], np.ndarray] | None = None  # countdown: RGBA for time t
    shown: str = ""
    cache: dict[str, np.ndarray] = field(default_factory=dict)


def _split(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rgba[..., :3].astype(np.float32), rgba[..., 3:4].astype(np.float32) / 255.0


def countdown_text(seconds_left: float) -> str:
    """`3d 04:05:06` or `04:05:06`: the time left, whole seconds rounded up."""
    left = max(0, math.ceil(seconds_left))
    days, rest = divmod(left, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock


def text_sprite(layer: TextLayer, size: tuple[int, int]) -> _Sprite:
    x, y, w, h = pixel_box(layer.box, size)
    height = size[1]

    def draw(text: str) -> np.ndarray:
        return render_text(
            text,
            (w, h),
            size=max(6, round(layer.size * height)),
            min_size=max(6, round(layer.min_size * height)),
            color=layer.color,
            plate=layer.plate,
            align=str(layer.align),
        )

    if layer.countdown is None:
        rgb, alpha = _split(draw(layer.text))
        return _Sprite(x, y, layer.start, layer.end, rgb, alpha)
    left = layer.countdown

    def at(t: float) -> np.ndarray:
        return draw(layer.text.replace(COUNTDOWN, countdown_text(left - t)))

    rgb, alpha = _split(at(0.0))
    return _Sprite(x, y, layer.start, layer.end, rgb, alpha, redraw=at)


def logo_sprite(layer: LogoLayer, image: np.ndarray, size: tuple[int, int]) -> _Sprite:
    """The logo scaled to fit its box (aspect kept), centred in it."""
    x, y, w, h = pixel_box(layer.box, size)
    scale = min(w / image.shape[1], h / image.shape[0])
    lw, lh = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    resized = cv2.resize(image, (lw, lh), interpolation=cv2.INTER_AREA)
    rgb = resized.astype(np.float32)
    alpha = np.ones((lh, lw, 1), np.float32)
    return _Sprite(x + (w - lw) // 2, y + (h - lh) // 2, layer.start, layer.end, rgb, alpha)


def _opacity(sprite: _Sprite, t: float, total: float) -> float:
    end = total if sprite.end is None else min(sprite.end, total)
    if t < sprite.start or t >= end:
        return 0.0
    fade_in = (t - sprite.start) / LAYER_FADE if sprite.start > 0 else 1.0
    fade_out = (end - t) / LAYER_FADE if end < total else 1.0
    return max(0.0, min(1.0, fade_in, fade_out))


def _blend(frame: np.ndarray, sprite: _Sprite, opacity: float, t: float) -> None:
    if sprite.redraw is not None:
        text = countdown_text(t)  # the key only: a new second redraws the sprite
        if text != sprite.shown:
            rgba = sprite.cache.get(text)
            if rgba is None:
                rgba = sprite.cache.setdefault(text, sprite.redraw(t))
            sprite.rgb, sprite.alpha = _split(rgba)
            sprite.shown = text
    h, w = sprite.rgb.shape[:2]
    region = frame[sprite.y : sprite.y + h, sprite.x : sprite.x + w]
    h, w = region.shape[:2]
    alpha = sprite.alpha[:h, :w] * opacity
    mixed = region.astype(np.float32) * (1.0 - alpha) + sprite.rgb[:h, :w] * alpha
    region[...] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


class CompositionRenderer:
    """Frames of a composition over its images (RGB uint8, loaded and decoded)."""

    def __init__(
        self,
        composition: Composition,
        images: list[np.ndarray],
        size: tuple[int, int],
        fps: int,
        *,
        seed: int = 0,
        supersample: int = 2,
    ) -> None:
        self.composition, self.size, self.fps = composition, size, fps
        self.total_s = frame_count(composition, fps) / fps
        self._shots = []
        for scene in composition.scenes:
            image = images[scene.image]
            plan = smart_crop(image, size[0] / size[1])
            count = max(1, _frames(scene.duration, fps))
            path = camera_path(
                scene.camera,
                source_size=(image.shape[1], image.shape[0]),
                crop=plan.crop,
                focus=plan.focus,
                frame_count=count,
                duration=scene.duration,
                seed=seed,
            )
            self._shots.append((FrameRenderer(image, path, size, supersample=supersample), path))
        self.sprites = [text_sprite(t, size) for t in composition.texts] + [
            logo_sprite(logo, images[logo.image], size) for logo in composition.logos
        ]

    def frames(self) -> Iterator[np.ndarray]:
        index = 0
        previous: np.ndarray | None = None
        for number, (renderer, path) in enumerate(self._shots):
            scene = self.composition.scenes[number]
            first = renderer.render(path[0])
            between = _frames(self.composition.transition_of(number), self.fps)
            if previous is not None and between:
                for frame in _transition(previous, first, scene.transition, between):
                    yield self._overlay(frame, index)
                    index += 1
            for view in path:
                frame = renderer.render(view)
                previous = frame.copy()
                yield self._overlay(frame, index)
                index += 1
        card = self.composition.end_card
        if card is not None and previous is not None:
            colour = np.array([int(card.background[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)
            plain = np.empty_like(previous)
            plain[...] = colour
            fade = max(1, _frames(min(card.transition_duration, card.duration), self.fps))
            for i in range(_frames(card.duration, self.fps)):
                w = min(1.0, (i + 1) / fade)
                frame = cv2.addWeighted(previous, 1.0 - w, plain, w, 0.0)
                yield self._overlay(frame, index)
                index += 1

    def _overlay(self, frame: np.ndarray, index: int) -> np.ndarray:
        t = index / self.fps
        for sprite in self.sprites:
            opacity = _opacity(sprite, t, self.total_s)
            if opacity > 0:
                _blend(frame, sprite, opacity, t - sprite.start)
        return frame


def _transition(
    start: np.ndarray, end: np.ndarray, kind: Transition, count: int
) -> Iterator[np.ndarray]:
    times = [(i + 1) / (count + 1) for i in range(count)]
    if kind is Transition.FLOW:
        interpolator = FlowInterpolator(start, end)
        for t in times:
            yield interpolator.frame(0.5 - math.cos(math.pi * t) / 2)
        return
    for t in times:
        yield cv2.addWeighted(start, 1.0 - t, end, t, 0.0)
