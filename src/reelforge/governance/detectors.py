"""The governance detectors of this process (text rules and semantic model, nudity, faces):
created on first use, then shared by every request and the likeness registry."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelforge.governance.image.moderator import ImageModerator
    from reelforge.governance.text import TextModerator


class Detectors:
    """The detectors of this process, each created on first use and then shared (models are
    read-only and thread-safe). A request loads only what it needs: a prompt the text rules
    (and, when the prompt is not empty, the semantic model); an image the nudity model; faces
    only when someone is enrolled in the likeness registry. Text and image load under
    separate locks, so one can load while the other is in use."""

    def __init__(self) -> None:
        self._text: TextModerator | None = None
        self._image: ImageModerator | None = None
        self._text_lock = threading.Lock()
        self._image_lock = threading.Lock()

    @property
    def text(self) -> TextModerator:
        if self._text is None:
            with self._text_lock:
                if self._text is None:
                    from reelforge.governance.text import TextModerator

                    self._text = TextModerator()
        return self._text

    @property
    def image(self) -> ImageModerator:
        if self._image is None:
            with self._image_lock:
                if self._image is None:
                    from reelforge.governance.image.moderator import ImageModerator

                    self._image = ImageModerator()
        return self._image

    def loaded(self) -> dict[str, bool]:
        """Which models this process has loaded: text rules, semantic model, nudity, faces."""
        text, image = self._text, self._image
        return {
            "text_rules": text is not None,
            "semantic": text is not None and text.semantic_loaded,
            "nudity": image is not None and image.nudity.loaded,
            "faces": image is not None and image.face_analyzer.loaded,
        }


_detectors = Detectors()


def detectors() -> Detectors:
    """The detectors of this process (see `Detectors`)."""
    return _detectors
