"""The governance detectors of this process (text rules and semantic model, nudity, faces):
created on first use, then shared by every request and the likeness registry."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelforge.governance.image.guard import ImageGuard
    from reelforge.governance.image.moderator import ImageModerator
    from reelforge.governance.text import TextModerator
    from reelforge.governance.text.multilingual import MultilingualStage


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
        self._multilingual: tuple[Path, frozenset[str]] | None = None
        self._image_guard: Path | None = None

    @property
    def text(self) -> TextModerator:
        if self._text is None:
            with self._text_lock:
                if self._text is None:
                    from reelforge.governance.text import TextModerator

                    self._text = TextModerator(multilingual=self._multilingual_stage())
        return self._text

    def configure_multilingual(self, path: Path | None, languages: list[str]) -> None:
        """Use an operator's multilingual embedding stage (None: none) from now on."""
        wanted = (Path(path), frozenset(languages)) if path is not None else None
        with self._text_lock:
            if wanted == self._multilingual:
                return
            self._multilingual = wanted
            if self._text is not None:
                self._text.multilingual = self._multilingual_stage()

    def _multilingual_stage(self) -> MultilingualStage | None:
        if self._multilingual is None:
            return None
        from reelforge.governance.text.multilingual import MultilingualStage

        path, languages = self._multilingual
        return MultilingualStage(path, languages or None)

    @property
    def image(self) -> ImageModerator:
        if self._image is None:
            with self._image_lock:
                if self._image is None:
                    from reelforge.governance.image.moderator import ImageModerator

                    image = ImageModerator()
                    image.guards = self._image_guards()
                    self._image = image
        return self._image

    def configure_image_guard(self, path: Path | None) -> None:
        """Use an operator's image guard directory (None: none) from now on."""
        wanted = Path(path) if path is not None else None
        with self._image_lock:
            if wanted == self._image_guard:
                return
            self._image_guard = wanted
            if self._image is not None:
                self._image.guards = self._image_guards()

    def _image_guards(self) -> list[ImageGuard]:
        if self._image_guard is None:
            return []
        from reelforge.governance.image.guard import OnnxImageClassifier

        return [OnnxImageClassifier(self._image_guard)]

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
