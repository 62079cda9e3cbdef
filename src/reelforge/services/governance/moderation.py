"""Moderation in the submit and worker paths, under the policy profile in force.

At submit, before anything is queued: the prompt (and the negative prompt, where only slurs
and asking clothing away count) goes through the text detectors; each input image through
the nudity detector and, when anyone is enrolled, face matching against the likeness
registry. The decision sets the job's first status: queued,
review (waits for a person) or blocked (nothing runs; the user may appeal).

On the worker, sampled output frames go through the image checks while the video is
encoded; before the file is released the decision may block it (never downloadable, its
compute recorded as waste) or hold it for review.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from reelforge.app.ports import FrameHook, OutputRefused
from reelforge.config import Settings
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import JobSpec
from reelforge.errors import ReelforgeError
from reelforge.governance.detectors import Detectors as Detectors
from reelforge.governance.detectors import detectors
from reelforge.governance.guards.families import FAMILIES as GUARD_FAMILIES
from reelforge.governance.guards.stage import GuardVerdict
from reelforge.governance.language import LanguageReading, covered
from reelforge.governance.policy import PolicyProfile, load_profile
from reelforge.governance.signals import Action, Decision, Signal
from reelforge.media.images import load_image
from reelforge.services.governance import audit, guards, likeness
from reelforge.services.governance.reviews import open_review
from reelforge.storage.tables import Job

if TYPE_CHECKING:
    from pathlib import Path

    from reelforge.app.platform import Platform


_helper_pool: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def _helpers() -> ThreadPoolExecutor:
    """Threads for the text checks that run beside the image checks of a submit."""
    global _helper_pool
    with _helper_lock:
        if _helper_pool is None:
            _helper_pool = ThreadPoolExecutor(4, thread_name_prefix="reelforge-moderation")
        return _helper_pool


def preload(*, prompt: bool, image: bool) -> Future[None]:
    """Start loading, on a helper thread, the detectors a request with a prompt and/or an
    image will need, for a caller that knows the request before it is submitted (the CLI,
    while it opens the database and stores the image). It decides nothing and runs no
    backend: `check_submit` still decides, waiting for a model still loading (under the
    detectors' locks) rather than loading it twice. The thread is a daemon: a command that
    ends early (Ctrl-C, a bad image) does not wait for it."""
    done: Future[None] = Future()

    def load() -> None:
        try:
            if prompt:
                detectors().text.warm()
            if image:
                from reelforge.governance.image.moderator import available

                if available():
                    detectors().image.nudity.load()
        except BaseException as exc:  # check_submit meets the same error and reports it
            done.set_exception(exc)
        else:
            done.set_result(None)

    threading.Thread(target=load, name="reelforge-preload", daemon=True).start()
    return done


@dataclass(frozen=True)
class TextFindings:
    """What the text stages found in a request, and the language of what it asks for."""

    signals: list[Signal]
    reading: LanguageReading | None = None  # None: no text to read
    uncovered: bool = False  # no configured stage covers that language
    asked: tuple[str, ...] = ()  # the texts that ask for something (prompt, overlays)

    @property
    def language(self) -> str | None:
        return self.reading.language if self.reading is not None else None


def covered_languages() -> frozenset[str]:
    """Every language some configured text stage covers."""
    return frozenset().union(*detectors().text.stage_languages().values())


def read_language(texts: list[str]) -> tuple[LanguageReading | None, bool]:
    """The language of the texts a request asks for, and whether no stage covers it."""
    joined = "\n".join(t for t in texts if t.strip())
    if not joined:
        return None, False
    reading = detectors().text.language(joined)
    return reading, not covered(reading, covered_languages())


def text_signals(spec: JobSpec) -> TextFindings:
    """Findings in the prompt and the negative prompt; no text model loads for empty ones.
    The language that counts is that of the prompt and the overlay texts (the negative
    prompt's terms are no request)."""
    found: list[Signal] = []
    asked: list[str] = [spec.prompt]
    if spec.prompt.strip():
        found += detectors().text.signals(spec.prompt, "prompt")
    if spec.negative_prompt:  # only slurs and asking clothing away count there
        found += detectors().text.signals(spec.negative_prompt, "negative_prompt")
    if spec.composition is not None:  # a promo clip's texts are read like a prompt
        for text in spec.composition.overlay_texts():
            found += detectors().text.signals(text, "prompt")
            asked.append(text)
    reading, uncovered = read_language(asked)
    return TextFindings(found, reading, uncovered, tuple(a for a in asked if a.strip()))


def decide_text(profile: PolicyProfile, text: str) -> Decision:
    """The policy's decision on one text: its signals and its language."""
    signals = detectors().text.signals(text, "prompt") if text.strip() else []
    reading, uncovered = read_language([text])
    return profile.decide(
        signals, language=reading.language if reading else None, uncovered=uncovered
    )


def image_signals(
    p: Platform, account: AccountRef, images: list[np.ndarray], source: str, profile: PolicyProfile
) -> list[Signal]:
    """Nudity findings of every image, and the registered people among all their faces
    (one registry read for the lot; no faces are described when nobody is enrolled)."""
    image = detectors().image
    if not likeness.has_people(p):
        return [sig for rgb in images for sig in image.signals(rgb, source)]
    found: list[Signal] = []
    embeddings: list[np.ndarray] = []
    for rgb in images:
        signals, faces = image.check_frame(rgb, source)
        found += signals
        embeddings += [f.embedding for f in faces if f.embedding is not None]
    matches = likeness.match(p, account, embeddings, profile.match_distance)
    return found + likeness.likeness_signals(matches, source, profile.match_distance)


def decision_detail(decision: Decision) -> dict[str, Any]:
    """What the audit entry keeps beside the signals: the stage that decided, the band, the
    scores per stage and the language."""
    return {
        "stage": decision.stage,
        "band": decision.band,
        "stages": decision.stage_scores,
        "language": decision.language,
    }


class Moderation:
    """The policy in force, applied at submit and on outputs. One per platform; it is also
    the platform's frame filter, output step and final hook for the output check."""

    def __init__(self, p: Platform, profile: PolicyProfile):
        self.p = p
        self.profile = profile
        detectors().configure_multilingual(
            p.settings.multilingual_model_dir, p.settings.multilingual_languages
        )
        detectors().configure_image_guard(p.settings.image_guard_dir)
        self._frames: dict[str, list[np.ndarray]] = {}
        self._allowed: dict[str, Decision] = {}
        self._lock = threading.Lock()

    # -- submit -------------------------------------------------------------------------

    def check_submit(self, account: AccountRef, spec: JobSpec, workdir: Path) -> Decision:
        """Decide on a request before anything is written: texts and every input image. A
        request the profile routes to a guard model comes back with ``guard`` set (the job
        then waits in status moderating for the guard task, `guard_tasks`)."""
        found = self.findings(account, spec, workdir)
        decision = self.profile.decide(
            found.signals, language=found.language, uncovered=found.uncovered
        )
        guard = self.guard_needed(decision)
        return replace(decision, guard=guard) if guard else decision

    def guard_needed(self, decision: Decision) -> str | None:
        """The registered guard that must still check a request, by the profile's routing:
        every prompt not blocked already (``all``), or those in the review band or in a
        language no fast stage covers (``band``); None otherwise or with no guard."""
        mode = self.profile.guard
        if mode == "off" or decision.decision is Action.BLOCK:
            return None
        if mode == "band" and decision.band not in ("band", "language"):
            return None
        row = guards.chosen_row(self.p.db, self.profile)
        if row is None:
            return None
        reads = GUARD_FAMILIES[row.family].languages
        if mode == "band" and decision.band == "language" and decision.language not in reads:
            return None  # an uncovered language goes only to a guard that reads it
        return row.name

    def check_with_guard(
        self, account: AccountRef, spec: JobSpec, workdir: Path
    ) -> tuple[Decision, GuardVerdict]:
        """The moderation task's decision: the fast stages again, and the guard model on the
        texts the request asks with. A guard that answered settles the fast stages' review
        band and covers its languages; one that did not (unreadable, failed, removed) holds
        the request for review."""
        found = self.findings(account, spec, workdir)
        stage = guards.chosen(self.p.db, self.profile)
        if stage is None:
            verdict = GuardVerdict("none", False, error="no guard model is registered")
        else:
            verdict = (
                stage.check("\n".join(found.asked))
                if found.asked
                else GuardVerdict(stage.name, True)
            )
        languages = covered_languages()
        if stage is not None and verdict.parsed:
            languages = languages | stage.languages
        uncovered = found.reading is not None and not covered(found.reading, languages)
        decision = self.profile.decide(
            found.signals + verdict.signals,
            language=found.language,
            uncovered=uncovered,
            unresolved=verdict.unresolved,
            guard_settled=verdict.parsed,
        )
        return decision, verdict

    def findings(self, account: AccountRef, spec: JobSpec, workdir: Path) -> TextFindings:
        """Every finding of a request: its texts and every input image, with the language.

        With both, the text checks run on a helper thread while the images are fetched,
        decoded and checked (loading the text and image models overlaps too)."""
        texts: Future[TextFindings] | None = None
        if spec.images and (spec.prompt.strip() or spec.negative_prompt or spec.composition):
            texts = _helpers().submit(text_signals, spec)
        try:
            images = []
            for i, key in enumerate(spec.images):
                local = workdir / f"input-{i}"
                self.p.blobs.download(key, local)
                images.append(load_image(local, max_pixels=self.p.settings.max_image_pixels))
            seen = image_signals(self.p, account, images, "image", self.profile) if images else []
        except BaseException:
            if texts is not None:
                wait([texts])  # nothing of this request keeps running after it failed
            raise
        found = texts.result() if texts is not None else text_signals(spec)
        return replace(found, signals=found.signals + seen)

    def record_submit(
        self, s: Session, job: Job, account: AccountRef, decision: Decision, now: datetime
    ) -> None:
        """Inside the submit transaction: the job's moderation record and the audit entry."""
        job.moderation = {"submit": decision.public()}
        audit.record(
            s,
            now,
            actor=f"account:{account.id}",
            action="moderation.submit",
            account_id=account.id,
            subject=job.id,
            decision=decision.to_dict(),
            data=decision_detail(decision),
        )
        s.flush()

    def warm(self) -> None:
        """Load the detectors now (a few seconds) rather than on the first request."""
        found = detectors()
        found.text.signals("warm up", "prompt")
        found.image.load()

    def check_texts(self, texts: list[str]) -> list[Decision]:
        return [decide_text(self.profile, t) for t in texts]

    def check_image(self, account: AccountRef, rgb: np.ndarray) -> Decision:
        return self.profile.decide(image_signals(self.p, account, [rgb], "image", self.profile))

    # -- output (worker): FrameFilterFactory, OutputStep, FinalHook ----------------------

    def for_job(
        self, job: Job, spec: JobSpec, width: int, height: int, fps: int
    ) -> FrameHook | None:
        """Keep the sampled frames of this job's output for `process` to check."""
        from reelforge.governance.image.sampling import sample_indices

        frames = int((job.params or {}).get("frames") or spec.frame_count)
        wanted = set(
            sample_indices(
                frames, fps, self.profile.output_every_seconds, self.profile.output_max_frames
            )
        )
        kept: list[np.ndarray] = []
        with self._lock:
            self._frames[job.id] = kept

        def keep(index: int, frame: np.ndarray) -> None:
            if index in wanted:
                kept.append(frame.copy())

        return keep

    def process(self, job: Job, spec: JobSpec, video: Path, workdir: Path) -> Path:
        """Check the kept frames; raise OutputRefused to hold or block the file."""
        with self._lock:
            frames = self._frames.pop(job.id, [])
        account = AccountRef(job.account_id, "")
        found = image_signals(self.p, account, frames, "frame", self.profile) if frames else []
        decision = self.profile.decide(found)
        if decision.decision is not Action.ALLOW:
            raise OutputRefused(decision)
        with self._lock:
            self._allowed[job.id] = decision
        return video

    def on_final(self, s: Session, job: Job, now: datetime) -> None:
        """Record an allowed output's decision in the transaction that releases it."""
        with self._lock:
            decision = self._allowed.pop(job.id, None)
        if decision is not None:
            self.record_output(s, job, decision, now)

    def record_output(self, s: Session, job: Job, decision: Decision, now: datetime) -> None:
        job.moderation = {**(job.moderation or {}), "output": decision.public()}
        audit.record(
            s,
            now,
            actor="system",
            action="moderation.output",
            account_id=job.account_id,
            subject=job.id,
            decision=decision.to_dict(),
            data=decision_detail(decision),
        )
        s.flush()

    def hold_for_review(
        self, s: Session, job: Job, *, stage: str, categories: list[str], now: datetime
    ) -> None:
        """Inside the caller's transaction: a pending policy review of `job`."""
        open_review(s, job, kind="policy", stage=stage, categories=categories, now=now)

    def forget(self, job_id: str) -> None:
        """Drop what was kept for a job that ended early (failed, cancelled)."""
        with self._lock:
            self._frames.pop(job_id, None)
            self._allowed.pop(job_id, None)


MAX_TEXTS = 32


def check_prompts(settings: Settings, profile: str | None, texts: list[str]) -> list[Decision]:
    """`reelforge policy check`: decisions under a named profile (default: the one in force),
    with no platform needed."""
    chosen = load_profile(profile or settings.policy_profile, settings.policy_dir)
    detectors().configure_multilingual(
        settings.multilingual_model_dir, settings.multilingual_languages
    )
    return [decide_text(chosen, t) for t in texts]


def moderate_content(
    p: Platform, account: AccountRef, texts: list[str], upload_id: str | None, *, detailed: bool
) -> dict[str, Any]:
    """POST /v1/moderations: the policy's decision on texts and/or an uploaded image, without
    generating anything. Details (rule, scores) only for operators."""
    from reelforge.domain.spec import MAX_PROMPT_CHARS
    from reelforge.errors import InvalidRequest, NotFound
    from reelforge.storage import repositories as repo

    if p.moderation is None:
        raise ReelforgeError("no policy is loaded on this deployment", code="policy_unavailable")
    if not texts and not upload_id:
        raise InvalidRequest("send `text` (a string or a list) and/or `image_upload_id`")
    if len(texts) > MAX_TEXTS:
        raise InvalidRequest(f"at most {MAX_TEXTS} texts per request", field="text")
    for t in texts:
        if len(t) > MAX_PROMPT_CHARS:
            raise InvalidRequest(
                f"a text is limited to {MAX_PROMPT_CHARS} characters", field="text"
            )
    moderation = p.moderation
    if not isinstance(moderation, Moderation):  # a stand-in without the text/image checks
        raise ReelforgeError("no policy is loaded on this deployment", code="policy_unavailable")
    results: list[dict[str, Any]] = []
    for text, decision in zip(texts, moderation.check_texts(texts), strict=True):
        results.append({"input": "text", "text": text, **_shown(decision, detailed)})
    if upload_id:
        with p.db.session(write=False) as s:
            upload = repo.upload_for(s, account.id, upload_id)
            if upload is None:
                raise NotFound(
                    f"no upload {upload_id}", code="upload_not_found", field="image_upload_id"
                )
            key = upload.blob_key
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="reelforge-moderate-") as tmp:
            local = Path(tmp) / "image"
            p.blobs.download(key, local)
            rgb = load_image(local, max_pixels=p.settings.max_image_pixels)
        decision = moderation.check_image(account, rgb)
        results.append(
            {"input": "image", "image_upload_id": upload_id, **_shown(decision, detailed)}
        )
    order = {"allow": 0, "review": 1, "block": 2}
    overall = max((r["decision"] for r in results), key=lambda d: order[d])
    categories = sorted({c for r in results for c in r["categories"]})
    return {
        "object": "moderation",
        "policy": moderation.profile.ref,
        "decision": overall,
        "categories": categories,
        "results": results,
    }


def _shown(decision: Decision, detailed: bool) -> dict[str, Any]:
    """A user sees the decision and its categories; an operator also the rule, the stage that
    decided, the band its score fell in, the scores per category and per stage, and the
    language."""
    if not detailed:
        return decision.public()
    return {
        **decision.public(),
        "rule": decision.rule,
        "scores": decision.scores,
        "stage": decision.stage,
        "band": decision.band,
        "stages": decision.stage_scores,
        "language": decision.language,
    }
