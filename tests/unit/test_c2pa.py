"""C2PA manifests: sign a real MP4 with dev credentials, read it back, and refuse bad input."""

from __future__ import annotations

import datetime as dt
import stat
import time
from pathlib import Path

import av
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reelforge.errors import ReelforgeError
from reelforge.provenance.c2pa_manifest import (
    TRAINED_ALGORITHMIC_MEDIA,
    DevCredentials,
    ManifestSigner,
    ProvenanceError,
    SigningConfig,
    create_dev_credentials,
    read_manifest,
)

pytest.importorskip("c2pa")

PROMPT_SHA256 = "5f" * 32


def _make_mp4(path: Path, frames: int = 12, size: int = 64) -> Path:
    """A small real H.264 MP4: a bar moving over a grey background."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            image = np.full((size, size, 3), 90, np.uint8)
            x = (index * 4) % (size - 8)
            image[:, x : x + 8] = 230
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("c2pa")


@pytest.fixture(scope="module")
def creds(workdir: Path) -> DevCredentials:
    return create_dev_credentials(workdir / "creds")


@pytest.fixture(scope="module")
def source(workdir: Path) -> Path:
    return _make_mp4(workdir / "source.mp4")


@pytest.fixture(scope="module")
def signed(workdir: Path, creds: DevCredentials, source: Path) -> Path:
    signer = ManifestSigner(SigningConfig(creds.cert_chain, creds.private_key, creds.root_cert))
    dst = workdir / "signed.mp4"
    signer.sign(
        source,
        dst,
        title="a fox in the snow",
        software_agent="motion",
        model="motion-v1",
        prompt_sha256=PROMPT_SHA256,
        produce_id="rf-0001",
    )
    return dst


def test_dev_credentials_files(creds: DevCredentials) -> None:
    chain = x509.load_pem_x509_certificates(creds.cert_chain.read_bytes())
    root = x509.load_pem_x509_certificate(creds.root_cert.read_bytes())
    assert len(chain) == 2  # end-entity then intermediate
    leaf, intermediate = chain
    assert leaf.issuer == intermediate.subject and intermediate.issuer == root.subject
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert stat.S_IMODE(creds.private_key.stat().st_mode) == 0o600
    serialization.load_pem_private_key(creds.private_key.read_bytes(), password=None)


def test_signed_file_is_valid_and_trusted_with_the_root(
    signed: Path, source: Path, creds: DevCredentials
) -> None:
    result = read_manifest(signed, trust_anchors=creds.root_cert)
    assert result.present and result.valid and result.trusted is True, result.errors
    assert result.errors == []
    assert result.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert result.software_agent is not None and result.software_agent.startswith("reelforge")
    assert result.model == "motion-v1"
    assert result.produce_id == "rf-0001"
    assert signed.stat().st_size > source.stat().st_size
    # the signed file still plays
    with av.open(str(signed)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12


def test_without_anchor_valid_but_not_trusted(signed: Path) -> None:
    result = read_manifest(signed)
    assert result.present and result.valid
    assert result.trusted is False
    assert result.digital_source_type == TRAINED_ALGORITHMIC_MEDIA


def test_flipped_mdat_byte_is_invalid(signed: Path, workdir: Path, creds: DevCredentials) -> None:
    data = bytearray(signed.read_bytes())
    mdat = data.find(b"mdat")
    assert mdat > 0
    data[mdat + 40] ^= 0x01
    tampered = workdir / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    result = read_manifest(tampered, trust_anchors=creds.root_cert)
    assert result.present and not result.valid
    assert result.trusted is None
    assert result.errors
    assert any("mismatch" in error for error in result.errors)


@pytest.mark.parametrize("kind", ["truncated", "text", "empty", "unsigned", "missing"])
def test_bad_files_do_not_crash(kind: str, signed: Path, source: Path, workdir: Path) -> None:
    path = workdir / f"bad-{kind}.mp4"
    if kind == "truncated":
        path.write_bytes(signed.read_bytes()[: signed.stat().st_size // 2])
    elif kind == "text":
        path.write_text("this is not a video\n" * 50)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "unsigned":
        path = source
    result = read_manifest(path)
    assert not result.present and not result.valid
    assert result.trusted is None


def test_root_certificate_as_signer_is_refused(creds: DevCredentials) -> None:
    with pytest.raises(ProvenanceError) as info:
        ManifestSigner(SigningConfig(creds.root_cert, creds.private_key, None))
    assert info.value.code == "invalid_signing_certificate"
    assert "CA" in info.value.message
    assert isinstance(info.value, ReelforgeError)


def test_certificate_without_email_protection_eku_is_refused(workdir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no eku")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = workdir / "no-eku.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = workdir / "no-eku.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ProvenanceError) as info:
        ManifestSigner(SigningConfig(cert_path, key_path, None))
    assert info.value.code == "invalid_signing_certificate"
    assert "emailProtection" in info.value.message


def test_signing_a_non_mp4_fails_cleanly(creds: DevCredentials, workdir: Path) -> None:
    text = workdir / "notes.mp4"
    text.write_text("not a video")
    signer = ManifestSigner(SigningConfig(creds.cert_chain, creds.private_key, None))
    dst = workdir / "notes-signed.mp4"
    with pytest.raises(ProvenanceError) as info:
        signer.sign(
            text,
            dst,
            title="x",
            software_agent="motion",
            model="m",
            prompt_sha256=PROMPT_SHA256,
            produce_id="p",
        )
    assert info.value.code == "signing_failed"
    assert not dst.exists()
    assert not (workdir / "notes-signed.mp4.partial").exists()


def test_sign_and_verify_timing(source: Path, workdir: Path, creds: DevCredentials) -> None:
    signer = ManifestSigner(SigningConfig(creds.cert_chain, creds.private_key, creds.root_cert))
    dst = workdir / "timed.mp4"
    sign_ms: list[float] = []
    verify_ms: list[float] = []
    for index in range(5):
        start = time.perf_counter()
        signer.sign(
            source,
            dst,
            title="timed",
            software_agent="motion",
            model="motion-v1",
            prompt_sha256=PROMPT_SHA256,
            produce_id=f"rf-{index}",
        )
        sign_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        assert read_manifest(dst, trust_anchors=creds.root_cert).trusted
        verify_ms.append((time.perf_counter() - start) * 1000)
    print(
        f"\nC2PA on a 12-frame 64x64 MP4: sign median {sorted(sign_ms)[2]:.1f} ms, "
        f"verify median {sorted(verify_ms)[2]:.1f} ms"
    )
