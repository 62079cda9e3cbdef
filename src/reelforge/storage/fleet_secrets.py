"""Credentials a fleet shares through its database: read, or written once (the first writer
wins, so nodes starting at the same moment all end up with the same value)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from reelforge.storage.db import Database
from reelforge.storage.tables import FleetSecret


def get(db: Database, name: str) -> str | None:
    with db.session(write=False) as s:
        row = s.get(FleetSecret, name)
        return row.value if row is not None else None


def get_or_create(
    db: Database, name: str, make: Callable[[], str], now: datetime
) -> tuple[str, bool]:
    """The stored value of `name`, storing `make()` when there is none yet:
    (value, whether this call stored it)."""
    existing = get(db, name)
    if existing is not None:
        return existing, False
    candidate = make()
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    stmt = insert(FleetSecret).values(name=name, value=candidate, created_at=now)
    with db.session() as s:
        s.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    stored = get(db, name)
    assert stored is not None  # written by this call or by the node that won the race
    return stored, stored == candidate


AIGC_SECRET = "aigc_secret"


def aigc_secret(
    db: Database, configured: SecretStr | None, data_dir: Path, clock: Callable[[], datetime]
) -> bytes:
    """The HMAC key of AIGC blocks (output URL keys derive from it too): `configured`
    (RF_PROVENANCE_SECRET), else the deployment's key in the database (created by the first
    node that needs it)."""
    if configured:
        return configured.get_secret_value().encode()

    def first_key() -> str:  # an upgraded deployment keeps the key its outputs carry
        legacy = data_dir / "provenance" / "aigc.secret"
        return legacy.read_text().strip() if legacy.is_file() else secrets.token_hex(32)

    value, _ = get_or_create(db, AIGC_SECRET, first_key, clock())
    return value.encode()


def replace(db: Database, name: str, value: str, now: datetime) -> None:
    """Set `name` to `value` (an operator's deliberate rotation)."""
    with db.session() as s:
        row = s.get(FleetSecret, name)
        if row is None:
            s.add(FleetSecret(name=name, value=value, created_at=now))
        else:
            row.value, row.created_at = value, now


NODE_CREDENTIALS = "node_credentials:"  # + a hash of the node: which credentials it signs with


def node_credentials(
    db: Database, node: str, fingerprints: dict[str, str], now: datetime, since: datetime
) -> list[tuple[str, dict[str, str], datetime]]:
    """Record the fingerprints of the credentials `node` signs with; the other nodes started
    since `since` whose last record differs: (node, their fingerprints, when they started)."""
    name = NODE_CREDENTIALS + hashlib.sha1(node.encode()).hexdigest()
    replace(db, name, json.dumps({"node": node, "fingerprints": fingerprints}), now)
    others = []
    with db.session(write=False) as s:
        rows = s.execute(
            select(FleetSecret.name, FleetSecret.value, FleetSecret.created_at).where(
                FleetSecret.name.startswith(NODE_CREDENTIALS),
                FleetSecret.name != name,
                FleetSecret.created_at >= since,
            )
        ).all()
    for _, value, started in rows:
        try:
            record = json.loads(value)
            theirs = {str(k): str(v) for k, v in record["fingerprints"].items()}
            other = str(record["node"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not ours to judge: written by another version
        if theirs != fingerprints:
            others.append((other, theirs, started))
    return sorted(others, key=lambda o: o[2], reverse=True)
