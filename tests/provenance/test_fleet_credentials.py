"""Provenance in a fleet (issue 12 item 3): nodes with their own data directories that share a
database sign with one AIGC key and one C2PA authority, so any node verifies any node's
output as valid and trusted; concurrent first starts agree on the credentials."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.cli import app as cli_app
from reelforge.services.provenance import marking
from tests.conftest import _truncate_pg, make_settings
from tests.fakes import GradientBackend
from tests.provenance.test_marks import render


@pytest.fixture(params=["postgres", "shared-sqlite"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "shared-sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    url = str(request.getfixturevalue("pg_database"))
    _truncate_pg(url)
    return url


@pytest.fixture
def node(tmp_path: Path, shared_database: str) -> Iterator[Any]:
    made: list[Platform] = []

    def make(name: str, **overrides: Any) -> Platform:
        settings = make_settings(
            tmp_path / name, database_url=shared_database, worker_queues=["gradient"], **overrides
        )
        p = bootstrap(settings, backends=[GradientBackend()])
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def test_any_node_verifies_any_nodes_output(
    node: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = node("a"), node("b")
    assert a.settings.data_dir != b.settings.data_dir
    out = render(a, tmp_path, model="gradient", prompt="a gradient", duration=1, resolution="480p")
    for verifier in (b, a):
        result = marking.verify(verifier, out)
        assert result["aigc"]["signature_valid"] is True, result["aigc"]
        assert result["c2pa"]["valid"] and result["c2pa"]["trusted"], result["c2pa"]
        assert result["verdict"] == "ai-generated"
    # `reelforge verify` on a third node, a fresh data directory
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("RF_DATABASE_URL", a.settings.database_url)
    cli = CliRunner().invoke(cli_app, ["verify", str(out), "--json"])
    assert cli.exit_code == 0, cli.output
    result = json.loads(cli.output)
    assert result["aigc"]["signature_valid"] and result["c2pa"]["trusted"], result


def test_a_fleet_on_the_development_authority_warns_and_a_half_configured_one_refuses(
    node: Any, shared_database: str
) -> None:
    from reelforge.app.checks import startup_checks

    check = next(c for c in startup_checks(node("a")) if c.name == "provenance")
    if shared_database.startswith("postgresql"):  # a fleet: loud, but it starts
        assert check.ok and check.warning and "RF_C2PA_CERT_CHAIN" in check.warning
    else:  # a shared SQLite file and an embedded queue: one machine, nothing to warn about
        assert check.ok and check.warning is None
    half = node("b", c2pa_cert_chain=Path("/etc/hostname"))
    check = next(c for c in startup_checks(half) if c.name == "provenance")
    assert not check.ok and check.code == "invalid_setting"
    assert "RF_C2PA_PRIVATE_KEY" in check.detail


def test_concurrent_first_starts_get_the_same_credentials(node: Any) -> None:
    nodes = [node(f"n{i}") for i in range(4)]
    barrier = threading.Barrier(len(nodes))
    got: dict[int, tuple[bytes, bytes, bytes]] = {}

    def start(i: int) -> None:
        barrier.wait()
        creds, _ = marking.dev_credentials(nodes[i])
        got[i] = (
            marking.provenance_secret(nodes[i]),
            creds.cert_chain.read_bytes(),
            creds.root_cert.read_bytes(),
        )

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(nodes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == len(nodes)
    assert len(set(got.values())) == 1
    # each node keeps a copy of the fleet's authority in its own data directory
    assert len({n.settings.data_dir for n in nodes}) == len(nodes)


def test_a_configured_secret_wins_over_the_stored_one(node: Any) -> None:
    a = node("a", provenance_secret="operator-key")
    assert marking.provenance_secret(a) == b"operator-key"
    assert marking.provenance_secret(node("b")) != b"operator-key"


def test_an_upgraded_node_keeps_the_credentials_its_outputs_carry(tmp_path: Path) -> None:
    from reelforge.provenance.c2pa_manifest import create_dev_credentials

    settings = make_settings(tmp_path)
    legacy_dir = settings.data_dir / "provenance"
    legacy_dir.mkdir(parents=True)
    (legacy_dir / "aigc.secret").write_text("legacy-key\n")
    old = create_dev_credentials(legacy_dir / "dev-c2pa")
    chain = old.cert_chain.read_bytes()
    p = bootstrap(settings, backends=[GradientBackend()])
    try:
        assert marking.provenance_secret(p) == b"legacy-key"
        creds, created = marking.dev_credentials(p)
        assert created and creds.cert_chain.read_bytes() == chain
        rotated, created = marking.dev_credentials(p, force=True)  # provenance init --force
        assert created and rotated.cert_chain.read_bytes() != chain
        assert marking.dev_credentials(p)[0].cert_chain.read_bytes() != chain
    finally:
        p.close()


def test_a_node_whose_credentials_differ_from_another_nodes_warns(
    node: Any, shared_database: str
) -> None:
    """RF_PROVENANCE_SECRET (or the certificate, or the URL key) set on some nodes and not
    others, or to other values: each node's start-up check names the nodes it differs from."""
    from reelforge.app.checks import startup_checks

    def warning(p: Platform) -> str:
        check = next(c for c in startup_checks(p) if c.name == "provenance")
        assert check.ok, check.detail
        return check.warning or ""

    first = warning(node("a", provenance_secret="s3cret-1"))
    alike = warning(node("b", provenance_secret="s3cret-1"))
    differs = warning(node("c", provenance_secret="s3cret-2", url_signing_secret="u-s3cret"))
    unset = warning(node("d"))
    if not shared_database.startswith("postgresql"):  # one machine: nothing to compare
        assert "differ" not in first + alike + differs + unset
        return
    assert "differ" not in first and "differ" not in alike
    assert "RF_PROVENANCE_SECRET, RF_URL_SIGNING_SECRET differ from node" in differs, differs
    assert "/a/data (started" in differs and "/b/data (started" in differs
    assert "s3cret" not in differs  # fingerprints, never the values
    assert "RF_PROVENANCE_SECRET" in unset and "/c/data" in unset, unset
