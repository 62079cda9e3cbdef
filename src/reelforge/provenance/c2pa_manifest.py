"""C2PA manifests: sign every output as AI-generated, and read any file's manifest back.

Signing uses c2pa-python (the Rust c2pa SDK). The signer must be an end-entity certificate
(CA:false, key usage digitalSignature, EKU emailProtection, an authority key identifier);
the SDK refuses a CA, and its message is obscure, so `ManifestSigner` checks the certificate
itself first. `create_dev_credentials` makes a local root → intermediate → end-entity chain
for development (`reelforge provenance init`); production operators configure their own.

Verification with the dev root as trust anchor reports `trusted`; without an anchor a good
signature is `valid` but not trusted. A changed byte anywhere the hash covers makes it invalid.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reelforge import __version__
from reelforge.atomic import write_atomic
from reelforge.errors import ReelforgeError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_LABEL = "com.reelforge.generation"
MP4_MIME = "video/mp4"
_DEV_VALIDITY_DAYS = 3650


class ProvenanceError(ReelforgeError):
    """Signing a C2PA manifest failed; `code` says whether the certificate is the cause."""

    code = "signing_failed"


@dataclass(frozen=True)
class DevCredentials:
    """Paths of the files `create_dev_credentials` wrote."""

    root_cert: Path  # the trust anchor verifiers load
    cert_chain: Path  # end-entity then intermediate: what the signer presents
    private_key: Path  # the end-entity's key, mode 0600


@dataclass(frozen=True)
class SigningConfig:
    """Where the signer's certificate chain, key and (optionally) trust anchors live."""

    cert_chain: Path
    private_key: Path
    trust_anchors: Path | None = None
    alg: str = "es256"


@dataclass
class C2paResult:
    """What a file's C2PA manifest says; `present` False when there is none to read."""

    present: bool = False
    valid: bool = False
    trusted: bool | None = None  # None when there is no manifest or it is not valid
    digital_source_type: str | None = None
    software_agent: str | None = None
    model: str | None = None
    produce_id: str | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `reelforge verify` and the API."""
        return {
            "present": self.present,
            "valid": self.valid,
            "trusted": self.trusted,
            "digital_source_type": self.digital_source_type,
            "software_agent": self.software_agent,
            "model": self.model,
            "produce_id": self.produce_id,
            "errors": list(self.errors),
        }


# --- development credentials ---------------------------------------------------------------


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    path_length: int | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_DEV_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class DevPems:
    """A development authority as PEM bytes (what a fleet keeps in its database)."""

    root_cert: bytes
    cert_chain: bytes
    private_key: bytes


def generate_dev_credentials(*, organisation: str = "reelforge dev") -> DevPems:
    """A local root CA, an intermediate CA and an ES256 end-entity signer, in memory.
    For development only: nothing outside the deployment trusts the root."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    mid_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(organisation, f"{organisation} root CA")
    mid_name = _name(organisation, f"{organisation} intermediate CA")
    leaf_name = _name(organisation, f"{organisation} C2PA signer")
    root = _certificate(root_name, root_key, root_name, root_key, ca=True, path_length=1)
    mid = _certificate(mid_name, mid_key, root_name, root_key, ca=True, path_length=0)
    leaf = _certificate(leaf_name, leaf_key, mid_name, mid_key, ca=False)
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return DevPems(root_cert=_pem(root), cert_chain=_pem(leaf) + _pem(mid), private_key=key_pem)


def dev_credential_paths(dest_dir: Path) -> DevCredentials:
    return DevCredentials(
        root_cert=dest_dir / "root.pem",
        cert_chain=dest_dir / "chain.pem",
        private_key=dest_dir / "signer.key",
    )


def read_dev_credentials(dest_dir: Path) -> DevPems | None:
    """The authority written in `dest_dir`, or None when it is absent or incomplete."""
    paths = dev_credential_paths(dest_dir)
    try:
        return DevPems(
            root_cert=paths.root_cert.read_bytes(),
            cert_chain=paths.cert_chain.read_bytes(),
            private_key=paths.private_key.read_bytes(),
        )
    except OSError:
        return None


def write_dev_credentials(dest_dir: Path, pems: DevPems) -> DevCredentials:
    """Write `root.pem` (the trust anchor), `chain.pem` (end-entity + intermediate) and
    `signer.key` (PKCS#8, mode 0600) into `dest_dir`, created if missing."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    creds = dev_credential_paths(dest_dir)
    write_atomic(creds.private_key, pems.private_key, mode=0o600)
    write_atomic(creds.root_cert, pems.root_cert, mode=0o644)
    # chain.pem last: callers take its presence to mean the set is complete
    write_atomic(creds.cert_chain, pems.cert_chain, mode=0o644)
    return creds


def create_dev_credentials(
    dest_dir: Path, *, organisation: str = "reelforge dev"
) -> DevCredentials:
    """Generate a development authority (`generate_dev_credentials`) and write it into
    `dest_dir` (`write_dev_credentials`)."""
    return write_dev_credentials(dest_dir, generate_dev_credentials(organisation=organisation))


# --- signing -------------------------------------------------------------------------------


def _check_signing_certificate(chain_pem: bytes) -> None:
    """Refuse a CA, or a certificate without the usages C2PA requires, with a clear message."""
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise ProvenanceError(
            f"the signing certificate chain is not PEM certificates: {exc}",
            code="invalid_signing_certificate",
        ) from exc
    leaf = certs[0]
    problems: list[str] = []
    try:
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            problems.append("it is a CA certificate (BasicConstraints CA:true)")
    except x509.ExtensionNotFound:
        pass
    try:
        if not leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            problems.append("its key usage lacks digitalSignature")
    except x509.ExtensionNotFound:
        problems.append("it has no key usage extension")
    try:
        ekus = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.EMAIL_PROTECTION not in ekus:
            problems.append("its extended key usage lacks emailProtection")
    except x509.ExtensionNotFound:
        problems.append("it has no extended key usage (emailProtection is required)")
    try:
        leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        problems.append("it has no authority key identifier")
    if problems:
        raise ProvenanceError(
            "the first certificate in the signing chain must be an end-entity certificate "
            f"(CA:false, digitalSignature, EKU emailProtection), but {'; '.join(problems)}. "
            "Run `reelforge provenance init` for development credentials.",
            code="invalid_signing_certificate",
        )


def build_manifest(
    *, title: str, software_agent: str, model: str, prompt_sha256: str, produce_id: str
) -> dict[str, Any]:
    """The manifest definition: a `c2pa.created` action for trained algorithmic media."""
    agent = {"name": "reelforge", "version": __version__}
    parameters = {
        "software_agent": software_agent,
        "model": model,
        "prompt_sha256": prompt_sha256,
        "produce_id": produce_id,
    }
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": MP4_MIME,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": agent,
                            "parameters": parameters,
                        }
                    ]
                },
            },
            {"label": GENERATION_LABEL, "data": parameters},
        ],
    }


class ManifestSigner:
    """Signs finished MP4s with a configured certificate chain (C2PA must be the last step)."""

    def __init__(self, config: SigningConfig):
        self.config = config
        try:
            self._chain = config.cert_chain.read_bytes()
            self._key = config.private_key.read_bytes()
        except OSError as exc:
            raise ProvenanceError(f"cannot read the signing credentials: {exc}") from exc
        _check_signing_certificate(self._chain)

    def sign(
        self,
        src: Path,
        dst: Path,
        *,
        title: str,
        software_agent: str,
        model: str,
        prompt_sha256: str,
        produce_id: str,
        ingredient: Path | None = None,
    ) -> None:
        """Write `src` with an embedded, signed manifest to `dst` (a different path).
        `ingredient`: the file `src` was made from (a hosted provider's video); where it carries
        a C2PA manifest of its own, that manifest is kept as a `componentOf` ingredient."""
        import c2pa

        manifest = build_manifest(
            title=title,
            software_agent=software_agent,
            model=model,
            prompt_sha256=prompt_sha256,
            produce_id=produce_id,
        )
        if src.resolve() == dst.resolve():
            raise ProvenanceError("C2PA signing needs a destination different from the source")
        partial = dst.with_name(dst.name + ".partial")
        try:
            info = c2pa.C2paSignerInfo(self.config.alg, self._chain, self._key, None)
            with (
                c2pa.Signer.from_info(info) as signer,
                c2pa.Builder(json.dumps(manifest)) as builder,
                src.open("rb") as source,
                partial.open("w+b") as dest,
            ):
                if ingredient is not None and has_manifest(ingredient):
                    with ingredient.open("rb") as parent:
                        builder.add_ingredient(
                            {"title": ingredient.name, "relationship": "componentOf"},
                            MP4_MIME,
                            parent,
                        )
                builder.sign(signer, MP4_MIME, source, dest)
            partial.replace(dst)
        except (c2pa.C2paError, OSError, ValueError) as exc:
            partial.unlink(missing_ok=True)
            raise ProvenanceError(f"C2PA signing of {src.name} failed: {exc}") from exc


# --- reading -------------------------------------------------------------------------------


def has_manifest(path: Path) -> bool:
    """Whether the MP4 at `path` carries a C2PA manifest store (valid or not)."""
    import c2pa

    try:
        with path.open("rb") as stream, c2pa.Reader(MP4_MIME, stream) as reader:
            return bool(json.loads(reader.json()).get("manifests"))
    except (c2pa.C2paError, OSError, ValueError):
        return False


def _context(trust_anchors: Path | None) -> Any:
    """A c2pa Context that trusts `trust_anchors` (PEM), or the SDK defaults without one."""
    import c2pa

    if trust_anchors is None:
        return c2pa.Context()
    pem = trust_anchors.read_text()
    return c2pa.Context.from_dict(
        {"verify": {"verify_trust": True}, "trust": {"trust_anchors": pem}}
    )


def read_manifest(path: Path, *, trust_anchors: Path | None = None) -> C2paResult:
    """Read and validate the C2PA manifest in `path`; never raises for a bad or foreign file.

    With `trust_anchors` (PEM roots) a good signature chaining to one of them is `trusted`;
    without, it is at best `valid` with `trusted` False. `trusted` is None when not valid.
    """
    import c2pa

    result = C2paResult()
    try:
        context = _context(trust_anchors)
    except (OSError, c2pa.C2paError) as exc:
        result.errors.append(f"cannot load trust anchors {trust_anchors}: {exc}")
        context = c2pa.Context()
    try:
        with context, path.open("rb") as stream:
            reader = c2pa.Reader.try_create(MP4_MIME, stream, None, context)
            if reader is None:
                return result
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
    except (OSError, ValueError, c2pa.C2paError) as exc:
        result.errors.append(f"no readable C2PA manifest: {exc}")
        return result
    _fill(result, store, state)
    return result


_UNTRUSTED = "signingCredential.untrusted"


def _fill(result: C2paResult, store: dict[str, Any], state: str | None) -> None:
    """Copy what reelforge cares about from a manifest store report into `result`."""
    result.present = True
    result.valid = state in ("Valid", "Trusted")
    result.trusted = (state == "Trusted") if result.valid else None
    active = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = active.get("failure") or store.get("validation_status") or []
    result.errors.extend(  # an untrusted signer is reported through `trusted`, not as an error
        f"{item.get('code')}: {item.get('explanation', '')}"
        for item in failures
        if item.get("code") != _UNTRUSTED
    )
    if not result.valid and not result.errors:
        result.errors.append(f"manifest validation state is {state}")
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest") or "", {})
    for assertion in manifest.get("assertions", []):
        label = assertion.get("label", "")
        data = assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions", []):
                if action.get("action") == "c2pa.created":
                    _fill_created(result, action)
        elif label == GENERATION_LABEL:
            result.model = data.get("model") or result.model
            result.produce_id = data.get("produce_id") or result.produce_id


def _fill_created(result: C2paResult, action: dict[str, Any]) -> None:
    """Take the source type, agent and generation parameters from a `c2pa.created` action."""
    result.digital_source_type = action.get("digitalSourceType")
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        name, version = agent.get("name"), agent.get("version")
        result.software_agent = f"{name} {version}" if name and version else name
    elif isinstance(agent, str):
        result.software_agent = agent
    params = action.get("parameters") or {}
    result.model = result.model or params.get("model")
    result.produce_id = result.produce_id or params.get("produce_id")
