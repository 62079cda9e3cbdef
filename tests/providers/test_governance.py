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


def _provider_signed(video: Path, tmp_path: Path) -> bytes:
    """The fake's video with a C2PA manifest of the provider's own (another authority)."""
    from reelforge.provenance.c2pa_manifest import (
        ManifestSigner,
        SigningConfig,
        generate_dev_credentials,
        write_dev_credentials,
    )

    creds = write_dev_credentials(
        tmp_path / "provider-ca", generate_dev_credentials(organisation="Provider Inc (test)")
    )
    signed = tmp_path / "provider-signed.mp4"
    ManifestSigner(SigningConfig(creds.cert_chain, creds.private_key)).sign(
        video,
        signed,
        title="provider.mp4",
        software_agent="provider-model 1.0",
        model="provider-model",
        prompt_sha256="0" * 64,
        produce_id="provider-task-1",
    )
    return signed.read_bytes()


@pytest.mark.slow  # C2PA reading and signing twice, plus the job
def test_a_providers_own_c2pa_manifest_is_kept_as_an_ingredient(
    hosted: Callable[..., Hosted], provider_video: Path, tmp_path: Path
) -> None:
    import json

    import c2pa

    h = hosted("runway", "gen4.5")
    h.fake.video = _provider_signed(provider_video, tmp_path)
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    out = tmp_path / f"{job['id']}.mp4"
    h.p.blobs.download(queries.job_content(h.p, h.account, job["id"]).key, out)
    with out.open("rb") as stream, c2pa.Reader("video/mp4", stream) as reader:
        store = json.loads(reader.json())
    active = store["manifests"][store["active_manifest"]]
    [ingredient] = active["ingredients"]
    assert ingredient["relationship"] == "componentOf" and ingredient["title"] == "source.mp4"
    assert len(store["manifests"]) == 2  # ours and the provider's, carried inside
    assert verify(h.p, out)["c2pa"]["valid"]
