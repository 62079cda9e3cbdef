"""An extension of a clip with sound: its output carries a track in the same format.

reelforge's extend mode starts from the last frame of an earlier output; the new clip holds
none of the earlier clip's pictures, so none of its sound belongs in it. When the earlier clip
has sound, the extension gets a silent track of the same sample rate and channels (unless its
model made sound of its own), so the two join by stream copy with the sound in sync — without
it, a joined file's sound would stop where the first clip ends and players differ on the rest.
"""

from __future__ import annotations

import logging
from pathlib import Path

from reelforge.app.platform import Platform
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import ReelforgeError
from reelforge.media.audio import audio_track
from reelforge.storage import repositories as repo

log = logging.getLogger(__name__)


def extension_sound(p: Platform, spec: JobSpec, workdir: Path) -> Path | None:
    """The clip an extend job continues, fetched into `workdir`, when it carries sound."""
    if spec.mode is not Mode.EXTEND or not spec.extends:
        return None
    with p.db.session(write=False) as s:
        source = repo.job_for(s, spec.extends, None)
        key = source.output_blob if source is not None and source.has_audio else None
    if key is None:
        return None
    dest = workdir / "extended-source.mp4"
    try:
        p.blobs.download(key, dest)
    except (ReelforgeError, OSError) as exc:  # removed since submit: no format to follow
        log.warning("extend %s: the source's sound could not be read (%s)", spec.extends, exc)
        return None
    return dest if audio_track(dest) is not None else None
