"""Provenance on every output, in the order the marks must be made: the visible label and
the invisible watermark on the frames (a frame filter), the AIGC block in the container's
metadata (written by the encoder), then the C2PA manifest signed over the final bytes (the
last output step).

Signing uses the operator's certificate (RF_C2PA_CERT_CHAIN, RF_C2PA_PRIVATE_KEY); without
one, development credentials are created once in the data directory (`reelforge provenance
init` does the same on purpose) so that every output is still signed — valid but untrusted
outside this deployment.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reelforge import __version__
from reelforge.domain.spec import JobSpec
from reelforge.governance.policy import PolicyProfile
from reelforge.provenance.aigc import aigc_block, aigc_tags
from reelforge.provenance.label import VisibleLabel
from reelforge.provenance.verify import VerifyOptions, verify_file
from reelforge.services.hooks import FrameHook
from reelforge.storage.tables import Job

if TYPE_CHECKING:
    from reelforge.provenance.c2pa_manifest import DevCredentials, ManifestSigner, SigningConfig
    from reelforge.provenance.watermark import WatermarkEmbedder
    from reelforge.services.platform import Platform


log = logging.getLogger(__name__)


def provenance_dir(p: Platform) -> Path:
    return p.settings.data_dir / "provenance"


def provenance_secret(p: Platform) -> bytes:
    """The HMAC key of AIGC blocks: from settings, else created once in the data directory."""
    if p.settings.provenance_secret:
        return p.settings.provenance_secret.encode()
    return _stored_secret(provenance_dir(p) / "aigc.secret")


@lru_cache(maxsize=8)
def _stored_secret(path: Path) -> bytes:
    """Read (creating it the first time) a key file; it never changes once written, so every
    job after the first skips the disk."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip().encode()


def dev_credentials(p: Platform, *, force: bool = False) -> tuple[DevCredentials, bool]:
    """This deployment's development C2PA credentials, created when missing (or `force`):
    (their paths, whether they were created now)."""
    from reelforge.provenance.c2pa_manifest import DevCredentials, create_dev_credentials

    dest = provenance_dir(p) / "dev-c2pa"
    if (dest / "chain.pem").exists() and not force:
        return DevCredentials(root_cert=dest / "root.pem", cert_chain=dest / "chain.pem",
                              private_key=dest / "signer.key"), False
    return create_dev_credentials(dest), True


def signing_config(p: Platform) -> SigningConfig:
    from reelforge.provenance.c2pa_manifest import SigningConfig

    s = p.settings
    if s.c2pa_cert_chain and s.c2pa_private_key:
        return SigningConfig(cert_chain=s.c2pa_cert_chain, private_key=s.c2pa_private_key,
                             trust_anchors=s.c2pa_trust_anchors)
    dev, _ = dev_credentials(p)
    return SigningConfig(cert_chain=dev.cert_chain, private_key=dev.private_key,
                         trust_anchors=s.c2pa_trust_anchors or dev.root_cert)


class Provenance:
    """The platform's frame filter, metadata provider and last output step for provenance."""

    def __init__(self, p: Platform, profile: PolicyProfile):
        self.p = p
        self.profile = profile
        self._signer: ManifestSigner | None = None
        self._lock = threading.Lock()

    # -- frames: visible label + invisible watermark ----------------------------------------

    def for_job(self, job: Job, spec: JobSpec, width: int, height: int,
                fps: int) -> FrameHook | None:
        from reelforge.provenance.watermark import WatermarkEmbedder, fits, payload_from_id

        label = (VisibleLabel(self.profile.label, width, height, fps) if spec.visible_label
                 else None)  # an allowed, audited unlabelled export
        embedder: WatermarkEmbedder | None = None
        if fits(width, height):
            embedder = WatermarkEmbedder(payload_from_id(job.id), width, height)
        else:  # thumbnails (test models' 32x32 frames) have no room for it
            log.warning("job %s: %dx%d frames are too small for the watermark", job.id,
                        width, height)

        def mark(index: int, frame: np.ndarray) -> np.ndarray:
            if embedder is not None:
                frame = embedder.mark(frame)  # the watermark under the label
            return label(index, frame) if label is not None else frame

        return mark

    # -- container metadata: the AIGC implicit label --------------------------------------

    def tags(self, job: Job, spec: JobSpec) -> dict[str, str]:
        block = aigc_block(job.id, self.p.settings.aigc_producer, provenance_secret(self.p),
                           c2pa=True)
        return aigc_tags(block)

    # -- the final bytes: a signed C2PA manifest --------------------------------------------

    def _manifest_signer(self) -> ManifestSigner:
        from reelforge.provenance.c2pa_manifest import ManifestSigner

        with self._lock:
            if self._signer is None:
                self._signer = ManifestSigner(signing_config(self.p))
            return self._signer

    def process(self, job: Job, spec: JobSpec, video: Path, workdir: Path) -> Path:
        signed = workdir / "output.signed.mp4"
        self._manifest_signer().sign(
            video, signed, title=f"{job.id}.mp4", software_agent=f"reelforge {__version__}",
            model=spec.model, prompt_sha256=hashlib.sha256(spec.prompt.encode()).hexdigest(),
            produce_id=job.id)
        return signed


def verify_options(p: Platform, trust: Path | None = None) -> VerifyOptions:
    """What `verify` needs from this deployment: the AIGC key and the C2PA trust anchors."""
    anchors = trust or p.settings.c2pa_trust_anchors
    dev_root = provenance_dir(p) / "dev-c2pa" / "root.pem"
    if anchors is None and dev_root.exists():
        anchors = dev_root
    return VerifyOptions(secret=provenance_secret(p), trust_anchors=anchors,
                         max_bytes=p.settings.max_verify_bytes)


def record_unlabelled_duties(p: Platform, account_name: str, agreed: bool) -> None:
    """The operator records that an account agreed (or no longer agrees) to label content
    it exports without reelforge's visible label."""
    from reelforge.errors import NotFound
    from reelforge.services import audit
    from reelforge.storage import repositories as repo

    now = p.clock()
    with p.db.session() as s:
        row = repo.account_by_name(s, account_name)
        if row is None:
            raise NotFound(f"no account {account_name!r}", code="account_not_found")
        row.unlabelled_duties_at = now if agreed else None
        audit.record(s, now, actor="operator", action="provenance.unlabelled_duties",
                     account_id=row.id, subject=row.id, data={"agreed": agreed})


def verify(p: Platform, path: Path, trust: Path | None = None) -> dict[str, Any]:
    """`reelforge verify` and POST /v1/verify: the four marks of a file and a verdict."""
    return verify_file(path, verify_options(p, trust))
