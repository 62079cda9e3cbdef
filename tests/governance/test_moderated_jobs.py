"""Moderation in the submit and worker paths, on SQLite and on PostgreSQL + Redis: blocked
requests spend no device second, a registered face without consent blocks, reviews and
appeals round-trip, and every decision has an audit entry."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.config import Settings
from reelforge.domain.spec import JobSpec
from reelforge.errors import NotFound
from reelforge.services.accounts import accounts
from reelforge.services.governance import audit, likeness, reviews
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_final

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the face photos")


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return buf.getvalue()


ASTRONAUT = jpeg(skimage_data.astronaut())
COFFEE = jpeg(skimage_data.coffee())


class StillBackend:
    """Shows one photo for every frame: an output whose content the test controls."""

    name = queue = "still"

    def __init__(self) -> None:
        self.image = skimage_data.astronaut()
        self.generations = 0

    def check(self, spec: JobSpec) -> None:
        pass

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        self.generations += 1
        h, w = self.image.shape[:2]
        n = request.spec.frame_count
        return Clip(
            width=w,
            height=h,
            fps=request.spec.fps,
            frame_count=n,
            frames=(self.image.copy() for _ in range(n)),
        )


@pytest.fixture
def gov(settings: Settings) -> Iterator[tuple[Platform, GradientBackend, StillBackend]]:
    gradient, still = GradientBackend(), StillBackend()
    settings.worker_queues[:] = ["gradient", "still"]
    p = bootstrap(settings, backends=[gradient, still])
    yield p, gradient, still
    p.close()


def submit(p: Platform, account: accounts.AccountRef, **body: Any) -> dict[str, Any]:
    fields = {"model": "gradient", "duration": 1, "fps": 8, "resolution": "480p", **body}
    return submit_job(p, account, SubmitRequest.parse(fields)).job


def actions(p: Platform, job_id: str) -> list[str]:
    return [e["action"] for e in audit.entries(p, subject=job_id)]


def test_a_blocked_prompt_is_recorded_and_never_runs(gov: Any) -> None:
    p, gradient, _ = gov
    acct = accounts.ensure_account(p, "acme")
    job = submit(p, acct, prompt="a graphic video of a man being beheaded, blood everywhere")
    assert job["status"] == "blocked" and job["error"]["code"] == "content_blocked"
    assert job["moderation"]["submit"] == {"decision": "block", "categories": ["violence"]}
    assert "appeal" in job["error"]["message"]
    assert p.queue.size("gradient") == 0 and gradient.generations == 0  # no device second
    assert event_types(p, acct, job["id"]) == ["submitted", "blocked"]
    (entry,) = audit.entries(p, subject=job["id"])
    assert entry["action"] == "moderation.submit" and entry["decision"] == "block"
    assert entry["policy"] == p.policy_version and entry["scores"]["violence"] >= 0.5
    assert entry["rule"] and entry["data"]["signals"]
    with pytest.raises(NotFound):
        queries.job_content(p, acct, job["id"])


def test_a_benign_job_runs_and_both_checks_are_audited(gov: Any) -> None:
    p, gradient, _ = gov
    assert gradient.generations == 0
    acct = accounts.ensure_account(p, "acme")
    worker = Worker(p, concurrency=1).start()
    try:
        job = submit(p, acct, prompt="a product shoot of a ceramic mug, kill the lights")
        done = wait_final(p, acct, job["id"])
        assert done["status"] == "succeeded"
        assert done["moderation"] == {
            "submit": {"decision": "allow", "categories": []},
            "output": {"decision": "allow", "categories": []},
        }
        assert actions(p, job["id"]) == ["moderation.submit", "moderation.output"]
        assert gradient.generations == 1
    finally:
        worker.stop(hand_back=True)


def test_a_prompt_in_the_review_band_waits_for_a_person_before_any_compute(gov: Any) -> None:
    p, gradient, _ = gov
    acct = accounts.ensure_account(p, "acme")
    prompt = "a protest march for better school funding, peaceful"  # political 0.45: the band
    job = submit(p, acct, prompt=prompt)
    assert job["status"] == "review"
    held = job["moderation"]["submit"]
    assert held["decision"] == "review" and "a person" in held["message"]
    assert p.queue.size("gradient") == 0 and gradient.generations == 0
    (pending,) = reviews.list_reviews(p)
    assert (pending["job_id"], pending["stage"]) == (job["id"], "submit")
    (entry,) = audit.entries(p, subject=job["id"])
    assert entry["data"]["band"] == "band" and entry["data"]["stage"] in entry["data"]["stages"]
    ops = accounts.AccountRef("ops", "ops", is_admin=True)
    reviews.decide(p, pending["id"], approve=True, reviewer=ops)
    assert queries.get_job(p, acct, job["id"])["status"] == "queued"
    assert p.queue.size("gradient") == 1


def test_negative_prompts_may_name_what_to_keep_out(gov: Any) -> None:
    p, _, _ = gov
    acct = accounts.ensure_account(p, "acme")
    job = submit(p, acct, prompt="a sunny beach", negative_prompt="nudity, gore, weapons")
    assert job["status"] == "queued"


def test_a_registered_face_needs_consent(gov: Any) -> None:
    p, _, _ = gov
    acct = accounts.ensure_account(p, "acme")
    other = accounts.ensure_account(p, "other")
    person = likeness.enroll(p, "Eileen Collins", [ASTRONAUT])
    assert person["faces"] == 1 and person["consent"] == []
    upload = create_upload(p, acct, ASTRONAUT, "me.jpg").id
    blocked = submit(p, acct, prompt="she smiles", image_upload_id=upload)
    assert blocked["status"] == "blocked"
    assert blocked["moderation"]["submit"]["categories"] == ["real_person"]
    likeness.grant(p, person["id"], "acme")
    assert submit(p, acct, prompt="she smiles", image_upload_id=upload)["status"] == "queued"
    theirs = create_upload(p, other, ASTRONAUT, "her.jpg").id  # consent was for acme only
    assert submit(p, other, prompt="she smiles", image_upload_id=theirs)["status"] == "blocked"
    likeness.revoke(p, person["id"], "acme")
    assert submit(p, acct, prompt="she smiles", image_upload_id=upload)["status"] == "blocked"
    coffee = create_upload(p, acct, COFFEE, "cup.jpg").id  # no face: nothing to match
    assert submit(p, acct, prompt="steam rises", image_upload_id=coffee)["status"] == "queued"
    assert [e["action"] for e in audit.entries(p, subject=person["id"])] == [
        "likeness.enroll",
        "likeness.grant",
        "likeness.revoke",
    ]


def test_appeal_review_and_approval_round_trip(gov: Any) -> None:
    p, gradient, _ = gov
    acct = accounts.ensure_account(p, "acme")
    ops = accounts.ensure_account(p, "ops", admin=True)
    job = submit(p, acct, prompt="a graphic video of a man being beheaded, blood everywhere")
    appealed = reviews.appeal(p, acct, job["id"], "it is a history documentary")
    assert appealed["status"] == "review"
    (pending,) = reviews.list_reviews(p)
    assert pending["kind"] == "appeal" and pending["message"] == "it is a history documentary"
    assert pending["categories"] == ["violence"] and pending["waiting_seconds"] >= 0
    worker = Worker(p, concurrency=1).start()
    try:
        reviews.decide(p, pending["id"], approve=True, reviewer=ops, note="documentary")
        done = wait_final(p, acct, job["id"])
        assert done["status"] == "succeeded" and gradient.generations == 1
    finally:
        worker.stop(hand_back=True)
    assert actions(p, job["id"]) == [
        "moderation.submit",
        "appeal",
        "review.approve",
        "moderation.output",
    ]
    types = event_types(p, acct, job["id"])
    assert types[:4] == ["submitted", "blocked", "review_requested", "approved"]


def test_a_rejected_appeal_stays_blocked(gov: Any) -> None:
    p, _, _ = gov
    acct = accounts.ensure_account(p, "acme")
    ops = accounts.ensure_account(p, "ops", admin=True)
    job = submit(p, acct, prompt="a graphic video of a man being beheaded, blood everywhere")
    reviews.appeal(p, acct, job["id"], "please")
    (pending,) = reviews.list_reviews(p)
    decided = reviews.decide(p, pending["id"], approve=False, reviewer=ops)
    assert decided["status"] == "rejected"
    assert queries.get_job(p, acct, job["id"])["status"] == "blocked"
    assert reviews.list_reviews(p) == []


def test_an_output_showing_a_registered_face_is_blocked_and_its_compute_kept(gov: Any) -> None:
    p, _, still = gov
    acct = accounts.ensure_account(p, "acme")
    likeness.enroll(p, "Eileen Collins", [ASTRONAUT])
    worker = Worker(p, concurrency=1).start()
    try:
        job = submit(p, acct, model="still", prompt="a portrait", duration=2)
        assert job["status"] == "queued"  # nothing in the request shows her
        done = wait_final(p, acct, job["id"])
    finally:
        worker.stop(hand_back=True)
    assert done["status"] == "blocked" and done["error"]["code"] == "content_blocked"
    assert done["moderation"]["output"]["categories"] == ["real_person"]
    assert done["output"] is None and done["timings"]["total"] > 0  # measured, wasted
    with pytest.raises(NotFound):
        queries.job_content(p, acct, done["id"])
    assert still.generations == 1
    assert actions(p, done["id"]) == ["moderation.submit", "moderation.output"]


def test_an_output_held_for_review_is_released_on_approval(
    settings: Settings, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "careful.yaml").write_text(
        "extends: default\ncategories:\n  real_person: {action: review}\n"
    )
    still = StillBackend()
    settings.worker_queues[:] = ["still"]
    p = bootstrap(
        settings.model_copy(update={"policy_profile": "careful", "policy_dir": policies}),
        backends=[still],
    )
    try:
        acct = accounts.ensure_account(p, "acme")
        ops = accounts.ensure_account(p, "ops", admin=True)
        likeness.enroll(p, "Eileen Collins", [ASTRONAUT])
        worker = Worker(p, concurrency=1).start()
        try:
            job = submit(p, acct, model="still", prompt="a portrait", duration=1)

            def held() -> bool:
                return queries.get_job(p, acct, job["id"])["status"] == "review"

            from tests.helpers import wait_for

            wait_for(held, timeout=60)
            with pytest.raises(NotFound):
                queries.job_content(p, acct, job["id"])  # held: not downloadable
            (pending,) = reviews.list_reviews(p)
            assert pending["stage"] == "output" and pending["kind"] == "policy"
            reviews.decide(p, pending["id"], approve=True, reviewer=ops)
        finally:
            worker.stop(hand_back=True)
        released = queries.get_job(p, acct, job["id"])
        assert released["status"] == "succeeded" and released["output"]["frames"] == 8
        assert queries.job_content(p, acct, job["id"]).size > 0
        assert still.generations == 1  # released as it was, not rendered again
        from reelforge.provenance.verify import verify_file
        from reelforge.services.provenance.marking import verify_options

        released_file = tmp_path / "released.mp4"
        p.blobs.download(queries.job_content(p, acct, job["id"]).key, released_file)
        assert verify_file(released_file, verify_options(p))["verdict"] == "ai-generated"
    finally:
        p.close()


def test_a_job_waiting_for_review_can_be_cancelled(settings: Settings, tmp_path: Path) -> None:
    p = bootstrap(
        settings.model_copy(update={"policy_profile": "eu"}), backends=[GradientBackend()]
    )
    try:
        acct = accounts.ensure_account(p, "acme")
        job = submit(
            p,
            acct,
            prompt="a campaign ad asking people to vote for a candidate "
            "in the presidential election",
        )
        assert job["status"] == "review"
        assert queries.cancel_job(p, acct, job["id"])["status"] == "cancelled"
        assert reviews.list_reviews(p) == []
    finally:
        p.close()


def test_the_audit_log_is_append_only_and_exports_jsonl(gov: Any) -> None:
    p, _, _ = gov
    acct = accounts.ensure_account(p, "acme")
    job = submit(p, acct, prompt="a calm lake at dawn")
    lines = list(audit.export_jsonl(p))
    assert len(lines) == 1 and job["id"] in lines[0]
    with pytest.raises(Exception, match="append-only"), p.db.session() as s:
        s.execute(text("UPDATE audit_log SET decision = 'allow'"))
    assert audit.purge(p, p.clock()) == 0  # nothing is older than 180 days
