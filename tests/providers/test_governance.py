"""Governance and provenance run for a provider job as for every job: the output's frames are
checked, and the downloaded video leaves with reelforge's visible label, AIGC metadata,
invisible watermark and C2PA manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reelforge.services.jobs import queries
from reelforge.services.provenance.marking import verify
from tests.providers.conftest import Hosted


@pytest.mark.slow  # the watermark and label checks of `verify`
def test_a_provider_video_leaves_with_all_four_marks(
    hosted: Callable[..., Hosted], tmp_path: Path
) -> None:
    h = hosted("kling", "kling-v2-1")
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    out = tmp_path / f"{job['id']}.mp4"
    h.p.blobs.download(queries.job_content(h.p, h.account, job["id"]).key, out)
    result = verify(h.p, out)
    assert result["verdict"] == "ai-generated"
    assert result["visible_label"]["found"]
    assert result["aigc"]["Label"] == "1" and result["aigc"]["ProduceID"] == job["id"]
    assert result["aigc"]["signature_valid"]
    assert result["watermark"]["found"] and result["watermark"]["matches_produce_id"]
    assert result["c2pa"]["present"] and result["c2pa"]["valid"]
    assert result["c2pa"]["produce_id"] == job["id"]
    # the output checks ran on the downloaded frames
    assert "output_moderation" in done["timings"]
    assert done["moderation"]["output"]["decision"] == "allow"
