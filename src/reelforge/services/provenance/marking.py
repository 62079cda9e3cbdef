"""Provenance on every output, in the order the marks must be made: the visible label and
the invisible watermark on the frames (a frame filter), the AIGC block in the container's
metadata (written by the encoder), then the C2PA manifest signed over the final bytes (the
last output step).

Credentials are one for the whole deployment, however many nodes it has. Signing uses the
operator's certificate (RF_C2PA_CERT_CHAIN, RF_C2PA_PRIVATE_KEY); without one, a development
authority is created once and kept in the database, where every node reads it (and copies it
into its data directory, for `--trust` and outside verifiers) — valid and trusted on every node,
untrusted outside the deployment. The AIGC key is RF_PROVENANCE_SECRET, else likewise one in
the database. A deployment upgraded from per-directory credentials keeps the first node's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reelforge import __version__
from reelforge.app.ports import FrameHook
from reelforge.domain.spec import JobSpec
from reelforge.governance.policy import PolicyProfile
from reelforge.provenance.aigc import aigc_block, aigc_tags
from reelforge.provenance.label import VisibleLabel
from reelforge.provenance.verify import VerifyOptions, verify_file
from reelforge.storage import fleet_secrets
from reelforge.storage.tables import Job

if TYPE_CHECKING:
    from reelforge.app.platform import Platform
    from reelforge.provenance.c2pa_manifest import (
        DevCredentials,
        DevPems,
        ManifestSigner,
        SigningConfig,
    )
    from reelforge.provenance.watermark import WatermarkEmbedder


log = logging.getLogger(__name__)


def provenance_dir(p: Platform) -> Path:
    return p.settings.data_dir / "provenance"


C2PA_DEV_AUTHORITY = "c2pa_dev_authority"


def provenance_secret(p: Platform) -> bytes:
    """The HMAC key of AIGC blocks: RF_PROVENANCE_SECRET, else the deployment's key in the
    database (created by the first node that needs it)."""
    return fleet_secrets.aigc_secret(
        p.db, p.settings.provenance_secret, p.settings.data_dir, p.clock
    )


def _dev_pems(p: Platform, *, force: bool) -> tuple[DevPems, bool]:
    from reelforge.provenance.c2pa_manifest import (
        DevPems,
        generate_dev_credentials,
        read_dev_credentials,
    )

    def encode(pems: DevPems) -> str:
        return json.dumps(
            {
                "root": pems.root_cert.decode(),
                "chain": pems.cert_chain.decode(),
                "key": pems.private_key.decode(),
            }
        )

    if force:
        fresh = generate_dev_credentials()
        fleet_secrets.replace(p.db, C2PA_DEV_AUTHORITY, encode(fresh), p.clock())
        return fresh, True

    def first_authority() -> str:  # an upgraded deployment keeps the authority it signed with
        return encode(
            read_dev_credentials(provenance_dir(p) / "dev-c2pa") or generate_dev_credentials()
        )

    value, created = fleet_secrets.get_or_create(
        p.db, C2PA_DEV_AUTHORITY, first_authority, p.clock()
    )
    data = json.loads(value)
    return DevPems(
        root_cert=data["root"].encode(),
        cert_chain=data["chain"].encode(),
        private_key=data["key"].encode(),
    ), created


def dev_credentials(p: Platform, *, force: bool = False) -> tuple[DevCredentials, bool]:
    """The deployment's development C2PA authority (from the database, created there when
    missing, or replaced with `force`), copied into this node's data directory:
    (the copy's paths, whether the authority was created now)."""
    from reelforge.provenance.c2pa_manifest import (
        dev_credential_paths,
        read_dev_credentials,
        write_dev_credentials,
    )

    pems, created = _dev_pems(p, force=force)
    dest = provenance_dir(p) / "dev-c2pa"
    local = read_dev_credentials(dest)
    if local == pems:
        return dev_credential_paths(dest), created
    if local is not None:  # this node's own authority from before: keep it, out of the way
        aside = dest.with_name(f"dev-c2pa.replaced-{int(time.time())}")
        log.warning(
            "provenance: this node's own development C2PA authority differs from the "
            "deployment's; it was moved to %s and the deployment's is used",
            aside,
        )
        with contextlib.suppress(OSError):  # another process here moved it first
            dest.rename(aside)
    return write_dev_credentials(dest, pems), created


def signing_config(p: Platform) -> SigningConfig:
    from reelforge.provenance.c2pa_manifest import SigningConfig

    s = p.settings
    if s.c2pa_cert_chain and s.c2pa_private_key:
        return SigningConfig(
            cert_chain=s.c2pa_cert_chain,
            private_key=s.c2pa_private_key,
            trust_anchors=s.c2pa_trust_anchors,
        )
    dev, _ = dev_credentials(p)
    return SigningConfig(
        cert_chain=dev.cert_chain,
        private_key=dev.private_key,
        trust_anchors=s.c2pa_trust_anchors or dev.root_cert,
    )


def credentials_check(p: Platform) -> tuple[str, str | None]:
    """Where this node's signing credentials come from, and a warning for a fleet signing with
    the development authority. Raises (InvalidSetting, ProvenanceError) when the configured
    ones cannot be used, so the node refuses to start rather than sign badly."""
    from reelforge.errors import InvalidSetting
    from reelforge.provenance.c2pa_manifest import ManifestSigner

    s = p.settings
    if bool(s.c2pa_cert_chain) != bool(s.c2pa_private_key):
        given, missing = (
            ("RF_C2PA_CERT_CHAIN", "RF_C2PA_PRIVATE_KEY")
            if s.c2pa_cert_chain
            else ("RF_C2PA_PRIVATE_KEY", "RF_C2PA_CERT_CHAIN")
        )
        raise InvalidSetting(
            f"{given} is set but {missing} is not: set both (or neither, for "
            "the deployment's development authority)"
        )
    ManifestSigner(signing_config(p))  # reads and checks the certificate chain and key
    provenance_secret(p)
    aigc = "RF_PROVENANCE_SECRET" if s.provenance_secret else "the deployment's key (database)"
    if s.c2pa_cert_chain:
        return f"C2PA signer {s.c2pa_cert_chain}; AIGC key: {aigc}", None
    where = f"C2PA signer: the deployment's development authority (database); AIGC key: {aigc}"
    warning = None
    if s.is_fleet:
        warning = (
            "this fleet signs outputs with a development C2PA authority shared through "
            "the database: every node verifies them as trusted, nobody outside does; "
            "for production set RF_C2PA_CERT_CHAIN, RF_C2PA_PRIVATE_KEY and "
            "RF_C2PA_TRUST_ANCHORS on every node"
        )
    return where, _joined(warning, _credentials_differ(p))


NODE_WINDOW = timedelta(days=7)  # nodes started this recently are compared with this one
_CREDENTIAL_SETTINGS = {
    "aigc": "RF_PROVENANCE_SECRET",
    "c2pa": "RF_C2PA_CERT_CHAIN/RF_C2PA_PRIVATE_KEY",
    "urls": "RF_URL_SIGNING_SECRET",
}


def credential_fingerprints(p: Platform) -> dict[str, str]:
    """What this node signs with, as fingerprints that give nothing away (a slow salted hash of
    each configured secret or certificate, or "database" for the deployment's own)."""
    s = p.settings

    def fingerprint(kind: str, value: bytes | None) -> str:
        if value is None:
            return "database"
        # scrypt (~50 ms), so that whoever reads the database cannot cheaply test guesses of
        # a weak secret against it
        salt = b"reelforge credential fingerprint " + kind.encode()
        return hashlib.scrypt(value, salt=salt, n=2**14, r=8, p=1, dklen=8).hex()

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes().strip() if path is not None else None

    return {
        "aigc": fingerprint(
            "aigc", s.provenance_secret.get_secret_value().encode() if s.provenance_secret else None
        ),
        "c2pa": fingerprint("c2pa", read(s.c2pa_cert_chain)),
        "urls": fingerprint(
            "urls",
            s.url_signing_secret.get_secret_value().encode() if s.url_signing_secret else None,
        ),
    }


def _credentials_differ(p: Platform) -> str | None:
    """A warning when another node of this fleet, started within NODE_WINDOW, signs with other
    credentials (a setting given on some nodes and not others, or with other values): outputs
    signed on one would not verify on the other. None on a single machine."""
    if not p.settings.is_fleet:
        return None
    mine = credential_fingerprints(p)
    now = p.clock()
    node = f"{socket.gethostname()}:{p.settings.data_dir}"
    others = fleet_secrets.node_credentials(p.db, node, mine, now, now - NODE_WINDOW)
    if not others:
        return None
    kinds = sorted({k for _, theirs, _ in others for k in mine if theirs.get(k) != mine[k]})
    names = ", ".join(f"{other} (started {at:%Y-%m-%d %H:%M})" for other, _, at in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    return (
        f"this node's {', '.join(_CREDENTIAL_SETTINGS[k] for k in kinds)} differ from node "
        f"{names}{more}: outputs signed on one will not verify as ours on the other; set the "
        "same values on every node (or on none, for the deployment's own)"
    )


def _joined(*warnings: str | None) -> str | None:
    return "; ".join(w for w in warnings if w) or None


class Provenance:
    """The platform's frame filter, metadata provider and last output step for provenance."""

    def __init__(self, p: Platform, profile: PolicyProfile):
        self.p = p
        self.profile = profile
        self._signer: ManifestSigner | None = None
        self._secret: bytes | None = None  # the AIGC key never changes while a process runs
        self._lock = threading.Lock()

    # -- frames: visible label + invisible watermark ----------------------------------------

    def for_job(
        self, job: Job, spec: JobSpec, width: int, height: int, fps: int
    ) -> FrameHook | None:
        from reelforge.provenance.watermark import WatermarkEmbedder, fits, payload_from_id

        label = (
            VisibleLabel(self.profile.label, width, height, fps, position=spec.label_position)
            if spec.visible_label
            else None
        )  # an allowed, audited unlabelled export
        embedder: WatermarkEmbedder | None = None
        if fits(width, height):
            embedder = WatermarkEmbedder(payload_from_id(job.id), width, height)
        else:  # thumbnails (test models' 32x32 frames) have no room for it
            log.warning(
                "job %s: %dx%d frames are too small for the watermark", job.id, width, height
            )

        def mark(index: int, frame: np.ndarray) -> np.ndarray:
            if embedder is not None:
                frame = embedder.mark(frame)  # the watermark under the label
            return label(index, frame) if label is not None else frame

        return mark

    # -- container metadata: the AIGC implicit label --------------------------------------

    def tags(self, job: Job, spec: JobSpec) -> dict[str, str]:
        if self._secret is None:
            self._secret = provenance_secret(self.p)
        block = aigc_block(job.id, self.p.settings.aigc_producer, self._secret, c2pa=True)
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
            video,
            signed,
            title=f"{job.id}.mp4",
            software_agent=f"reelforge {__version__}",
            model=spec.model,
            prompt_sha256=hashlib.sha256(spec.prompt.encode()).hexdigest(),
            produce_id=job.id,
            ingredient=_source(workdir),
        )
        return signed


def _source(workdir: Path) -> Path | None:
    """The file the frames were decoded from (a hosted provider's video), if the backend
    left one: its own C2PA manifest is kept as an ingredient."""
    from reelforge.backends.base import SOURCE_FILE

    source = workdir / SOURCE_FILE
    return source if source.is_file() else None


def verify_options(p: Platform, trust: Path | None = None) -> VerifyOptions:
    """What `verify` needs from this deployment: the AIGC key and the C2PA trust anchors."""
    anchors = trust or p.settings.c2pa_trust_anchors
    if anchors is None and (
        not p.settings.c2pa_cert_chain or fleet_secrets.get(p.db, C2PA_DEV_AUTHORITY) is not None
    ):
        anchors = dev_credentials(p)[0].root_cert  # the deployment's, whichever node signed
    return VerifyOptions(
        secret=provenance_secret(p),
        trust_anchors=anchors,
        max_bytes=p.settings.max_verify_bytes,
        max_pixels=p.settings.max_verify_pixels,
        max_frames=p.settings.max_verify_frames,
    )


def record_unlabelled_duties(p: Platform, account_name: str, agreed: bool) -> None:
    """The operator records that an account agreed (or no longer agrees) to label content
    it exports without reelforge's visible label."""
    from reelforge.storage import repositories as repo

    now = p.clock()
    with p.db.session() as s:
        row = repo.account_named(s, account_name, field=None)
        row.unlabelled_duties_at = now if agreed else None
        repo.record_audit(
            s,
            now,
            actor="operator",
            action="provenance.unlabelled_duties",
            account_id=row.id,
            subject=row.id,
            data={"agreed": agreed},
        )


def verify(p: Platform, path: Path, trust: Path | None = None) -> dict[str, Any]:
    """`reelforge verify` and POST /v1/verify: the four marks of a file and a verdict."""
    return verify_file(path, verify_options(p, trust))
