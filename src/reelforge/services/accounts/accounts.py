"""Accounts and API keys. Keys are shown once and stored only as a SHA-256 hash
(they are 256-bit random, so a fast hash is enough); lookup is by a public prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef as AccountRef
from reelforge.domain.job import new_id
from reelforge.errors import InvalidRequest, NotFound, Unauthorized
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Account, ApiKey

LOCAL_ACCOUNT = "local"  # the account CLI jobs run as on this machine
INTERNAL_PLAN = "internal"  # the operator's own accounts: metered, never limited or billed
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    account: AccountRef
    key_id: str
    key: str  # the only time the secret is visible
    webhook_secret: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise InvalidRequest("account name must be 1-200 printable characters", field="account")
    return name


def _ref(account: Account) -> AccountRef:
    return AccountRef(account.id, account.name, account.is_admin)


def ensure_account(
    p: Platform,
    name: str,
    *,
    admin: bool | None = None,
    plan: str | None = None,
    segment: str = "creator",
    simulated: bool = False,
) -> AccountRef:
    """The account called `name`, created (with a webhook secret) if it does not exist.
    `admin=True/False` also sets whether it may use the admin API; `plan`, `segment` and
    `simulated` apply to a new account (default plan: the settings')."""
    name = _check_name(name)
    with p.db.session() as s:
        account = repo.account_by_name(s, name)
        if account is None:
            now = p.clock()
            plan = plan or (INTERNAL_PLAN if name == LOCAL_ACCOUNT else p.settings.default_plan)
            account = Account(
                id=new_id("acct"),
                name=name,
                webhook_secret="whsec_" + secrets.token_hex(24),
                is_admin=bool(admin),
                created_at=now,
                plan=plan,
                plan_source="operator",
                plan_started_at=now,
                segment=segment,
                simulated=simulated,
            )
            s.add(account)
            s.flush()
            repo.record_plan_change(s, account.id, None, plan, "signup", now)
        elif admin is not None:
            account.is_admin = admin
        return _ref(account)


def create_api_key(
    p: Platform, account_name: str, label: str | None = None, *, admin: bool | None = None
) -> NewApiKey:
    ref = ensure_account(p, account_name, admin=admin)
    prefix = secrets.token_hex(6)
    key = f"rf_{prefix}_{secrets.token_urlsafe(32)}"
    with p.db.session() as s:
        row = ApiKey(
            id=new_id("key"),
            account_id=ref.id,
            prefix=prefix,
            key_hash=_hash(key),
            label=label,
            created_at=p.clock(),
        )
        s.add(row)
        account = s.get(Account, ref.id)
        assert account is not None
        return NewApiKey(ref, row.id, key, account.webhook_secret)


def authenticate(p: Platform, key: str) -> AccountRef:
    """The account a bearer key belongs to; Unauthorized for anything else."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "rf":
        raise Unauthorized("missing or malformed API key; send `Authorization: Bearer rf_...`")
    now = p.clock()
    with p.db.session(write=False) as s:
        row = repo.api_key_by_prefix(s, parts[1])
        if (
            row is None
            or row.revoked_at is not None
            or not hmac.compare_digest(row.key_hash, _hash(key))
        ):
            raise Unauthorized("invalid or revoked API key")
        account = s.get(Account, row.account_id)
        assert account is not None
        ref = AccountRef(
            account.id, account.name, account.is_admin, key_id=row.id, plan=account.plan
        )
        stale = row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY
        key_id = row.id
    if stale:
        with p.db.session() as s:
            touched = s.get(ApiKey, key_id)
            if touched is not None:
                touched.last_used_at = now
    return ref


def revoke_api_key(p: Platform, key_id: str) -> None:
    with p.db.session() as s:
        row = s.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"no API key {key_id}")
        row.revoked_at = row.revoked_at or p.clock()


def webhook_secret(p: Platform, account_id: str) -> str:
    with p.db.session(write=False) as s:
        account = s.get(Account, account_id)
        assert account is not None
        return account.webhook_secret
