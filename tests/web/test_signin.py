"""Web sign-in over HTTP (TestClient): sign-up, sign-in, sign-out, sessions, CSRF, rate
limiting, password change, API keys on the account page, the console's role check."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.services.accounts import signin
from reelforge.web.security import CSP, CSRF_COOKIE, SESSION_COOKIE
from tests.web.conftest import PASSWORD, Browser, csrf_of


def test_sign_up_sign_out_sign_in_on_both_stacks(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        b = Browser(client)
        r = b.sign_up("Ada@Example.com")
        assert r.status_code == 200 and r.url.path == "/account"
        assert "ada@example.com" in r.text and "free" in r.text
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie and len(cookie) >= 40
        r = b.submit("/account", "/signout", {})
        assert r.url.path == "/signin"
        assert client.get("/account", follow_redirects=False).status_code == 303
        # the ended session is gone on the server, not only in this browser
        assert signin.session_user(platform, cookie) is None
        r = b.sign_in("ada@example.com")
        assert r.url.path == "/account"


def test_password_hashes_are_argon2id(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(signin, "_hasher", PasswordHasher())  # the production parameters
    stored = signin._hasher.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert signin._hasher.verify(stored, PASSWORD)


def test_session_cookie_flags_and_secure_setting(web_platform: Platform, visitor: Browser) -> None:
    visitor.get("/signup")
    r = visitor.client.post(
        "/signup",
        data={"email": "b@example.com", "password": PASSWORD, "csrf_token": csrf_of(visitor.page)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    header = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header
    web_platform.settings.web_cookie_secure = "always"
    b2 = Browser(TestClient(visitor.client.app, base_url="https://testserver"))
    b2.get("/signin")
    r = b2.client.post(
        "/signin",
        data={"email": "b@example.com", "password": PASSWORD, "csrf_token": csrf_of(b2.page)},
        follow_redirects=False,
    )
    header = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "Secure" in header and "HttpOnly" in header


def test_session_id_rotates_at_sign_in(
    web_platform: Platform, visitor: Browser, new_browser
) -> None:  # type: ignore[no-untyped-def]
    visitor.sign_up("c@example.com")
    # an attacker plants a session id they know (their own) in the victim's browser
    attacker = new_browser()
    attacker.sign_up("attacker@example.com")
    planted = attacker.client.cookies.get(SESSION_COOKIE)
    victim = new_browser()
    victim.client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    victim.sign_in("c@example.com")
    after = victim.client.cookies.get(SESSION_COOKIE)
    assert after != planted
    # the planted id was ended by the sign-in and never becomes the victim's session
    assert signin.session_user(web_platform, planted) is None
    user = signin.session_user(web_platform, after)
    assert user is not None and user.email == "c@example.com"
    # the CSRF token is replaced too
    first = visitor.client.cookies.get(CSRF_COOKIE)
    visitor.submit("/account", "/signout", {})
    visitor.sign_in("c@example.com")
    assert visitor.client.cookies.get(CSRF_COOKIE) != first


@pytest.mark.parametrize("how", ["missing", "wrong", "cross_origin"])
def test_csrf_refused(visitor: Browser, how: str) -> None:
    visitor.sign_up("d@example.com")
    token = csrf_of(visitor.get("/account").text)
    data = {"label": "x"}
    headers = {}
    if how == "wrong":
        data["csrf_token"] = token[:-2] + "xx"
    elif how == "cross_origin":
        data["csrf_token"] = token
        headers["origin"] = "https://evil.example"
    r = visitor.client.post("/account/keys", data=data, headers=headers)
    assert r.status_code == 403
    assert "expired or came from another site" in r.text
    assert "No keys yet." in visitor.get("/account").text  # no key was made
    # the same request with the token is accepted, also as htmx's header
    r = visitor.client.post("/account/keys", data={"label": "x"}, headers={"x-csrf-token": token})
    assert r.status_code == 201
    # sign-in and sign-up forms are protected as well (login CSRF)
    assert (
        visitor.client.post(
            "/signin", data={"email": "d@example.com", "password": PASSWORD}
        ).status_code
        == 403
    )


def test_login_rate_limited_per_email_and_per_ip(
    web_platform: Platform, visitor: Browser, new_browser
) -> None:  # type: ignore[no-untyped-def]
    visitor.sign_up("e@example.com")
    attacker = new_browser()
    for _ in range(signin.MAX_FAILURES_PER_EMAIL):
        r = attacker.sign_in("e@example.com", "wrong password!")
        assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    r = attacker.sign_in("e@example.com")  # even the right password, while locked
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    # per address: many e-mails from one client are stopped too
    for i in range(signin.MAX_FAILURES_PER_IP - signin.MAX_FAILURES_PER_EMAIL):
        attacker.sign_in(f"nobody{i}@example.com", "wrong password!")
    with pytest.raises(Exception) as exc:
        signin.sign_in(web_platform, "fresh@example.com", "x" * 10, ip="testclient")
    assert getattr(exc.value, "code", "") == "signin_rate_limited"
    # another address signs in to another account normally
    signin.add_login(web_platform, "other", "f@example.com", PASSWORD)
    assert signin.sign_in(web_platform, "f@example.com", PASSWORD, ip="10.9.9.9").token


def test_unknown_email_and_wrong_password_read_the_same(visitor: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    visitor.sign_up("g@example.com")
    other = new_browser()
    a = other.sign_in("g@example.com", "not the password")
    b = other.sign_in("nobody@example.com", "not the password")
    assert a.status_code == b.status_code == 401
    assert "Wrong e-mail or password" in a.text and "Wrong e-mail or password" in b.text


def test_sign_up_errors_shown_next_to_the_field(visitor: Browser) -> None:
    r = visitor.sign_up("not-an-email")
    assert r.status_code == 422 and 'id="email-error"' in r.text
    r = visitor.sign_up("h@example.com", "short")
    assert r.status_code == 422 and 'id="password-error"' in r.text
    visitor.sign_up("h@example.com")
    visitor.submit("/account", "/signout", {})
    r = visitor.sign_up("H@example.com")
    assert r.status_code == 409 and "already exists" in r.text


def test_bad_form_input_answers_with_a_page(visitor: Browser, app_client: TestClient) -> None:
    # control characters (refused by the app-wide edge check) and over-long fields: a page
    # with the reason, not the API's JSON; nothing is written
    for data in (
        {"email": "a\x00b@example.com", "password": PASSWORD},
        {"email": "x" * 3000 + "@example.com", "password": PASSWORD},
    ):
        r = visitor.submit("/signup", "/signup", data)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["content-security-policy"] == CSP
    assert visitor.sign_in("ab@example.com").status_code == 401
    # the API keeps its JSON errors
    r = app_client.post("/v1/quotes", content=b"{", headers={"content-type": "application/json"})
    assert r.headers["content-type"].startswith("application/json")


def test_password_change_ends_other_sessions(
    web_platform: Platform, visitor: Browser, new_browser
) -> None:  # type: ignore[no-untyped-def]
    visitor.sign_up("i@example.com")
    other = new_browser()
    other.sign_in("i@example.com")
    old = visitor.client.cookies.get(SESSION_COOKIE)
    r = visitor.submit(
        "/account/password",
        "/account/password",
        {
            "current_password": "wrong wrong",
            "new_password": "n" * 12,
            "new_password_again": "n" * 12,
        },
    )
    assert r.status_code == 422 and "current password is wrong" in r.text
    r = visitor.submit(
        "/account/password",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "n" * 12, "new_password_again": "n" * 12},
    )
    assert r.status_code == 200 and "Password changed" in r.text
    assert visitor.client.cookies.get(SESSION_COOKIE) != old
    assert visitor.get("/account").url.path == "/account"
    assert other.get("/account").url.path == "/signin"
    assert other.sign_in("i@example.com").status_code == 401
    assert other.sign_in("i@example.com", "n" * 12).url.path == "/account"


def test_api_keys_created_shown_once_revoked_and_scoped(visitor: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    visitor.sign_up("j@example.com")
    r = visitor.submit("/account", "/account/keys", {"label": "ci"})
    assert r.status_code == 201
    key = re.search(r'id="new-key">(rf_[^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert r.headers["cache-control"] == "no-store"
    # the key works on the API and is never shown again
    assert (
        visitor.client.get("/v1/account", headers={"authorization": f"Bearer {key}"}).status_code
        == 200
    )
    page = visitor.get("/account").text
    assert key not in page and "ci" in page
    key_id = re.search(r'id="key-(key_[^"]+)"', page).group(1)  # type: ignore[union-attr]
    # another account's key id is not found, and its key keeps working
    other = new_browser()
    other.sign_up("k@example.com")
    r = other.submit("/account", f"/account/keys/{key_id}/revoke", {})
    assert r.status_code == 404
    assert (
        visitor.client.get("/v1/account", headers={"authorization": f"Bearer {key}"}).status_code
        == 200
    )
    # htmx revoke answers the row
    token = csrf_of(visitor.get("/account").text)
    r = visitor.client.post(
        f"/account/keys/{key_id}/revoke", headers={"x-csrf-token": token, "hx-request": "true"}
    )
    assert r.status_code == 200 and r.text.startswith("<tr") and "Revoked" in r.text
    assert (
        visitor.client.get("/v1/account", headers={"authorization": f"Bearer {key}"}).status_code
        == 401
    )


def test_console_is_for_operators(web_platform: Platform, visitor: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    assert visitor.client.get("/console", follow_redirects=False).status_code == 303
    visitor.sign_up("creator@example.com")
    r = visitor.get("/console")
    assert r.status_code == 403 and "for operators" in r.text
    assert 'href="/console"' not in visitor.get("/account").text
    signin.create_with_login(web_platform, "ops", "ops@example.com", PASSWORD, operator=True)
    op = new_browser()
    op.sign_in("ops@example.com")
    r = op.get("/console")
    assert r.status_code == 200 and "Workers" in r.text and "motion" in r.text


def test_prompt_like_user_text_is_escaped(visitor: Browser) -> None:
    visitor.sign_up("l@example.com")
    r = visitor.submit("/account", "/account/keys", {"label": "<script>alert(1)</script>"})
    assert r.status_code == 201
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    r = visitor.sign_up('"><img src=x onerror=alert(1)>@x.io')
    assert "<img src=x" not in r.text


def test_headers_csp_and_static_files(app_client: TestClient) -> None:
    r = app_client.get("/signin")
    assert r.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert "<script>" not in r.text  # every script is a file
    assert 'href="/docs"' in r.text
    for path in ("/static/web/htmx.min.js", "/static/web/app.js", "/static/web/style.css"):
        assert app_client.get(path).status_code == 200, path
    # the API's JSON errors are unchanged
    assert app_client.get("/v1/account").json()["error"]["code"] == "unauthorized"


def test_language_from_accept_language_and_switcher(visitor: Browser) -> None:
    r = visitor.get("/signin", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-Hans">' in r.text and "登录" in r.text
    r = visitor.get("/signin", headers={"accept-language": "fr, en;q=0.5"})
    assert '<html lang="en">' in r.text and "Sign in" in r.text
    r = visitor.submit("/signin", "/lang", {"lang": "zh", "next": "/signup"})
    assert r.url.path == "/signup" and "创建账户" in r.text
    # never an open redirect
    r = visitor.submit(
        "/signin", "/lang", {"lang": "en", "next": "//evil.example/x"}, follow_redirects=False
    )
    assert r.headers["location"] == "/"


def test_catalogue_covers_every_message() -> None:
    from babel.messages.extract import extract_from_dir

    from reelforge.web import i18n

    src = __import__("reelforge.web", fromlist=["x"]).__path__[0]
    ids = {
        m[2]
        for m in extract_from_dir(
            src,
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
            keywords={"_": None, "gettext": None, "N_": None},
        )
    }
    zh = i18n.translations("zh")
    missing = [m for m in ids if isinstance(m, str) and zh.gettext(m) == m]
    assert not missing, missing


def test_cli_accounts_create_operator(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from reelforge.app.bootstrap import bootstrap
    from reelforge.cli import app
    from reelforge.config import load_settings

    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    args = [
        "accounts",
        "create",
        "boss",
        "--email",
        "boss@example.com",
        "--password-stdin",
        "--operator",
        "--json",
    ]
    r = CliRunner().invoke(app, args, input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*args[:2], "boss2", *args[3:]], input=PASSWORD + "\n")
    assert r.exit_code == 2 and "already exists" in r.output
    # checked before anything is written: no account boss2
    assert CliRunner().invoke(app, ["accounts", "show", "boss2"]).exit_code != 0
    r = CliRunner().invoke(app, [*args[:2], "boss3", "--email", "b3@example.com"])
    assert r.exit_code == 2 and "go together" in r.output
    p = bootstrap(load_settings())
    try:
        session = signin.sign_in(p, "boss@example.com", PASSWORD)
        assert session.user.is_operator and session.user.account.name == "boss"
    finally:
        p.close()
