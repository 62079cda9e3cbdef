"""Browser sign-in: e-mail + password logins on accounts (argon2id), sessions, login rate
limiting, password change, and the account's own API keys as the account page manages them.

Sessions are random 256-bit tokens kept in a cookie; the database stores only their SHA-256,
so a read of the table does not yield a usable session. A sign-in always makes a new session
(a session id planted before sign-in is never promoted: no fixation); a password change ends
every other session of the login. Failed sign-ins are counted per e-mail and per client
address in the database, so the limit holds across the API nodes of a fleet."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from reelforge.app.platform import Platform
from reelforge.app.ports import CustomerFactory
from reelforge.domain.account import AccountRef
from reelforge.domain.job import new_id
from reelforge.errors import (
    CapabilityMissing,
    Conflict,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthorized,
)
from reelforge.services.accounts import accounts
from reelforge.services.jobs.edge import check_string
from reelforge.storage import repositories as repo
from reelforge.storage.signin_tables import Login, LoginFailure, WebSession
from reelforge.storage.tables import Account, ApiKey

SESSION_TTL = timedelta(days=14)  # a session unused this long ends
_TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is refreshed at most this often
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5  # failed sign-ins for one e-mail within FAILURE_WINDOW
MAX_FAILURES_PER_IP = 20  # failed sign-ins from one client address within FAILURE_WINDOW
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; this bounds the work an attacker can ask for
MAX_EMAIL = 254

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, 64 MiB, p=4)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when no login has the e-mail, so both cases take the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class WebUser:
    login_id: str
    email: str
    account: AccountRef

    @property
    def is_operator(self) -> bool:
        return self.account.is_admin


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie's value; shown to the browser only
    user: WebUser


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_email(email: str) -> str:
    """A plausible e-mail address, lower-cased; InvalidRequest (field email) otherwise."""
    email = email.strip().lower()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or len(email) > MAX_EMAIL
        or any(ord(c) <= 32 or c in '<>()[]\\,;:"' for c in email)
    ):
        raise InvalidRequest(
            "enter an e-mail address such as name@example.com", code="invalid_email", field="email"
        )
    return email


def check_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"a password needs at least {MIN_PASSWORD} characters",
            code="password_too_short",
            field=field,
        )
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise InvalidRequest(
            f"a password has at most {MAX_PASSWORD} characters and no NUL",
            code="invalid_password",
            field=field,
        )
    return password


def _user(login: Login, account: Account) -> WebUser:
    return WebUser(
        login.id,
        login.email,
        AccountRef(account.id, account.name, account.is_admin, plan=account.plan),
    )


def add_login(
    p: Platform, account_name: str, email: str, password: str, *, operator: bool = False
) -> WebUser:
    """Give the account `account_name` (created if new) an e-mail + password login;
    `operator=True` also gives it the operator role (the console, the admin API)."""
    email, password = check_email(email), check_password(password)
    ref = accounts.ensure_account(p, account_name, admin=True if operator else None)
    password_hash = _hasher.hash(password)
    now = p.clock()
    with p.db.session() as s:
        if s.scalar(select(Login.id).where(Login.email == email)) is not None:
            raise Conflict(
                "an account with this e-mail already exists", code="email_taken", field="email"
            )
        if s.scalar(select(Login.id).where(Login.account_id == ref.id)) is not None:
            raise Conflict(
                f"account {ref.name!r} already has a login", code="login_exists", field="account"
            )
        login = Login(
            id=new_id("login"),
            account_id=ref.id,
            email=email,
            password_hash=password_hash,
            created_at=now,
            password_changed_at=now,
        )
        s.add(login)
        account = s.get(Account, ref.id)
        assert account is not None
        return _user(login, account)


def _email_free(p: Platform, email: str) -> None:
    with p.db.session(write=False) as s:
        if s.scalar(select(Login.id).where(Login.email == email)) is not None:
            raise Conflict(
                "an account with this e-mail already exists; sign in instead",
                code="email_taken",
                field="email",
            )


def _customers(p: Platform) -> CustomerFactory:
    """Billing's customer creation, through the container's port (billing creates accounts,
    so the sign-in use case does not import it)."""
    if p.create_customer is None:
        raise CapabilityMissing("billing is off on this deployment", code="billing_disabled")
    return p.create_customer


def create_with_login(
    p: Platform,
    name: str,
    email: str,
    password: str,
    *,
    plan: str | None = None,
    segment: str = "creator",
    operator: bool = False,
) -> dict[str, Any]:
    """A new account (as `reelforge accounts create`) that can also sign in in a browser;
    the e-mail and password are checked before anything is written."""
    email, password = check_email(email), check_password(password)
    _email_free(p, email)
    summary = _customers(p)(p, name, plan=plan, segment=segment, admin=operator)
    add_login(p, name, email, password, operator=operator)
    return summary


def sign_up(p: Platform, email: str, password: str) -> NewSession:
    """A new account on the free plan named after its e-mail, with a login and a session."""
    email, password = check_email(email), check_password(password)
    with p.db.session(write=False) as s:
        taken = (
            s.scalar(select(Login.id).where(Login.email == email)) is not None
            or repo.account_by_name(s, email) is not None
        )
    if taken:
        raise Conflict(
            "an account with this e-mail already exists; sign in instead",
            code="email_taken",
            field="email",
        )
    # through the account services: the sign-up is recorded as the plan change it starts on
    if p.billing is not None:
        _customers(p)(p, email, plan="free")
    else:
        accounts.ensure_account(p, email, plan="free")
    user = add_login(p, email, email, password)
    return _new_session(p, user)


def _failures(s: Any, key: str, since: datetime) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == key, LoginFailure.at >= since)
        )
        or 0
    )


def sign_in(
    p: Platform, email: str, password: str, *, ip: str = "", old_token: str | None = None
) -> NewSession:
    """A new session for the login with this e-mail and password. `old_token` (the session the
    browser had, if any) is ended: the session id changes at every sign-in."""
    now = p.clock()
    email_key = "email:" + email.strip().lower()[:MAX_EMAIL]
    ip_key = "ip:" + ip[:100]
    since = now - FAILURE_WINDOW
    with p.db.session(write=False) as s:
        if _failures(s, email_key, since) >= MAX_FAILURES_PER_EMAIL or (
            ip and _failures(s, ip_key, since) >= MAX_FAILURES_PER_IP
        ):
            raise RateLimited(
                "too many failed sign-ins; wait 15 minutes and try again",
                code="signin_rate_limited",
                retry_after=int(FAILURE_WINDOW.total_seconds()),
            )
        login = s.scalar(select(Login).where(Login.email == email.strip().lower()))
        stored = login.password_hash if login is not None else _dummy_hash()
        login_id = login.id if login is not None else None
    ok = False
    if len(password) <= MAX_PASSWORD:
        try:
            ok = _hasher.verify(stored, password) and login_id is not None
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        with p.db.session() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW * 4))
            s.add(LoginFailure(key=email_key, at=now))
            if ip:
                s.add(LoginFailure(key=ip_key, at=now))
        raise Unauthorized("wrong e-mail or password", code="invalid_credentials", field="email")
    if old_token:
        sign_out(p, old_token)
    with p.db.session() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.key == email_key))
        login = s.get(Login, login_id)
        assert login is not None
        if _hasher.check_needs_rehash(login.password_hash):
            login.password_hash = _hasher.hash(password)
        account = s.get(Account, login.account_id)
        assert account is not None
        user = _user(login, account)
    return _new_session(p, user)


def _new_session(p: Platform, user: WebUser) -> NewSession:
    token = secrets.token_urlsafe(32)
    now = p.clock()
    with p.db.session() as s:
        s.execute(
            delete(WebSession).where(
                WebSession.login_id == user.login_id, WebSession.expires_at < now
            )
        )
        s.add(
            WebSession(
                id=_token_hash(token),
                login_id=user.login_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_TTL,
            )
        )
    return NewSession(token, user)


def session_user(p: Platform, token: str | None) -> WebUser | None:
    """The signed-in user of a session cookie; None for none, unknown or expired."""
    if not token or len(token) > 200:
        return None
    now = p.clock()
    with p.db.session(write=False) as s:
        row = s.get(WebSession, _token_hash(token))
        if row is None or row.expires_at <= now:
            return None
        login = s.get(Login, row.login_id)
        account = s.get(Account, login.account_id) if login is not None else None
        if login is None or account is None:
            return None
        user = _user(login, account)
        stale = now - row.last_seen_at > _TOUCH_EVERY
    if stale:
        with p.db.session() as s:
            row = s.get(WebSession, _token_hash(token))
            if row is not None:
                row.last_seen_at, row.expires_at = now, now + SESSION_TTL
    return user


def sign_out(p: Platform, token: str | None) -> None:
    if not token or len(token) > 200:
        return
    with p.db.session() as s:
        s.execute(delete(WebSession).where(WebSession.id == _token_hash(token)))


def change_password(p: Platform, user: WebUser, current: str, new: str) -> NewSession:
    """Set a new password after checking the current one; every session of the login ends
    and a new one is returned for this browser."""
    check_password(new, field="new_password")
    with p.db.session(write=False) as s:
        login = s.get(Login, user.login_id)
        if login is None:
            raise Unauthorized("sign in again", code="signed_out")
        stored = login.password_hash
    try:
        ok = len(current) <= MAX_PASSWORD and _hasher.verify(stored, current)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise InvalidRequest(
            "the current password is wrong", code="wrong_password", field="current_password"
        )
    new_hash = _hasher.hash(new)
    with p.db.session() as s:
        login = s.get(Login, user.login_id)
        assert login is not None
        login.password_hash, login.password_changed_at = new_hash, p.clock()
        s.execute(delete(WebSession).where(WebSession.login_id == user.login_id))
    return _new_session(p, user)


# The account page's API keys: always scoped to the signed-in account.


def list_keys(p: Platform, account_id: str) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        rows = s.scalars(
            select(ApiKey)
            .where(ApiKey.account_id == account_id)
            .order_by(ApiKey.created_at.desc())
            .limit(500)
        )
        return [
            {
                "id": r.id,
                "prefix": r.prefix,
                "label": r.label,
                "created_at": r.created_at,
                "last_used_at": r.last_used_at,
                "revoked_at": r.revoked_at,
            }
            for r in rows
        ]


def create_key(p: Platform, user: WebUser, label: str | None) -> accounts.NewApiKey:
    label = (label or "").strip() or None
    if label is not None:  # the edge rule: DEL, C1, bidi and zero-width characters too
        check_string(label, "label")
    if label is not None and (len(label) > 200 or any(ord(c) < 32 for c in label)):
        raise InvalidRequest(
            "a key's label has at most 200 printable characters",
            code="invalid_label",
            field="label",
        )
    return accounts.create_api_key(p, user.account.name, label)


def revoke_key(p: Platform, account_id: str, key_id: str) -> None:
    """Revoke one of the account's keys; another account's key id is not found."""
    with p.db.session() as s:
        row = s.get(ApiKey, key_id[:40])
        if row is None or row.account_id != account_id:
            raise NotFound("no such API key", code="not_found")
        row.revoked_at = row.revoked_at or p.clock()
