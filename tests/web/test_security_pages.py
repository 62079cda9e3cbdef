"""Security of the web pages over HTTP (TestClient), over every route the app has (read from
its route table, so routes added later are covered): CSRF refused without a token on every
state-changing page route; the session id changes at sign-in and sign-up (fixation);
another account's video id answers 404 on every page and fragment under /videos and
changes nothing; a prompt of markup is rendered as text; every /console route is 403 for a
creator. (The same prompt in a real browser: tests/browser/test_security_browser.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import signin
from reelforge.services.jobs import queries
from reelforge.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.browser.site import XSS_PROMPT, WebRoute, picture, post_routes, routes
from tests.conftest import make_settings
from tests.helpers import wait_final
from tests.web.conftest import PASSWORD, Browser, csrf_of

CSRF_TEXT = "This form has expired or came from another site"


def fill(route: WebRoute, ids: dict[str, str]) -> str:
    """The route's path with its parameters filled: a real id where the test has one, else
    0 (valid for a text or a number parameter, so validation does not answer first)."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: ids.get(m.group(1), "0"), route.path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An app with two creators and an operator; the victim has one finished clip (its
    prompt is markup) made by a real worker with the built-in motion model."""
    from argon2 import PasswordHasher

    from reelforge.services.jobs.request import SubmitRequest
    from reelforge.services.jobs.submit import submit_job
    from reelforge.services.jobs.uploads import create_upload
    from reelforge.worker.loop import Worker

    saved = signin._hasher
    signin._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    p = bootstrap(make_settings(tmp_path_factory.mktemp("sec"), default_plan="free"))
    try:
        victim = signin.sign_up(p, "victim@example.com", PASSWORD)
        intruder = signin.sign_up(p, "intruder@example.com", PASSWORD)
        signin.add_login(p, "ops", "ops@example.com", PASSWORD, operator=True)
        operator = signin.sign_in(p, "ops@example.com", PASSWORD)
        user = signin.session_user(p, victim.token)
        assert user is not None
        up = create_upload(p, user.account, picture(), "garden.png")
        job = submit_job(
            p,
            user.account,
            SubmitRequest(prompt=XSS_PROMPT, image_upload_id=up.id, duration=1, resolution="480p"),
        ).job
        worker = Worker(p, name="sec").start()
        try:
            assert wait_final(p, user.account, job["id"], timeout=60)["status"] == "succeeded"
        finally:
            worker.stop()
        app = create_app(p)
        yield {
            "platform": p,
            "app": app,
            "victim": victim.token,
            "intruder": intruder.token,
            "operator": operator.token,
            "account": user.account,
            "video_id": job["id"],
        }
    finally:
        signin._hasher = saved
        signin._dummy_hash.cache_clear()
        p.close()


def browser_of(world: dict[str, Any], who: str | None) -> Browser:
    client = TestClient(world["app"], base_url="http://testserver")
    if who:
        client.cookies.set(SESSION_COOKIE, world[who])
    return Browser(client)


def page_posts(world: dict[str, Any]) -> list[WebRoute]:
    found = post_routes(world["app"])
    # what must be there whatever else lands: a broken discovery fails here
    assert {"/signin", "/signup", "/signout", "/account/keys", "/billing/checkout"} <= {
        r.path for r in found
    }
    return found


def test_csrf_refused_without_a_token_on_every_state_changing_route(
    world: dict[str, Any],
) -> None:
    """Signed in as the operator (whom no page refuses), with the victim's video id: every
    POST without a token, with a wrong token, or from another site's page is refused
    before it does anything."""
    b = browser_of(world, "operator")
    token = csrf_of(b.get("/account").text)
    ids = {"video_id": world["video_id"]}
    refused: list[str] = []
    for route in page_posts(world):
        path = fill(route, ids)
        attempts: list[dict[str, Any]] = [
            {"data": {"label": "x"}},  # no token at all
            {"data": {"csrf_token": "w" * 43}},  # another token than the cookie's
            {"headers": {"x-csrf-token": "w" * 43}},  # the same, as htmx sends it
            {  # the right token, but posted from another site's page
                "data": {"csrf_token": token},
                "headers": {"origin": "https://evil.example"},
            },
        ]
        for kw in attempts:
            for method in sorted(route.methods & {"POST", "PUT", "PATCH", "DELETE"}):
                r = b.client.request(method, path, follow_redirects=False, **kw)
                if r.status_code != 403 or CSRF_TEXT not in r.text:
                    refused.append(f"{method} {path} {kw}: {r.status_code}")
    assert not refused, refused
    # nothing happened: no key made, the video still there, the session still valid
    assert signin.list_keys(world["platform"], _account_of(world, "operator")) == []
    assert queries.get_job(world["platform"], world["account"], world["video_id"])
    assert b.client.get("/account", follow_redirects=False).status_code == 200
    # the control: with the page's token the same post goes through
    r = b.client.post("/account/keys", data={"label": "x", "csrf_token": token})
    assert r.status_code == 201


def _account_of(world: dict[str, Any], who: str) -> str:
    user = signin.session_user(world["platform"], world[who])
    assert user is not None
    return user.account.id


def test_session_fixation(web_platform: Platform, visitor: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    """A session id planted before sign-in or sign-up (made up, or the attacker's own) is
    not the one after, and never becomes the victim's session."""
    visitor.sign_up("victim@example.com")
    visitor.submit("/account", "/signout", {})
    attacker = new_browser()
    attacker.sign_up("attacker@example.com")
    for planted in ("made-up-session-id-" + "a" * 30, attacker.client.cookies.get(SESSION_COOKIE)):
        victim = new_browser()
        victim.client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
        victim.get("/signin")
        csrf_before = victim.client.cookies.get(CSRF_COOKIE)
        r = victim.sign_in("victim@example.com")
        assert r.url.path == "/account"
        after = victim.client.cookies.get(SESSION_COOKIE)
        assert after and after != planted
        assert victim.client.cookies.get(CSRF_COOKIE) != csrf_before  # rotated too
        # the planted id is no one's session now (the attacker's own was ended by the
        # sign-in: it never becomes the victim's)
        assert signin.session_user(web_platform, planted) is None
    fresh = new_browser()
    planted = "planted-before-sign-up-" + "b" * 30
    fresh.client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    fresh.sign_up("newcomer@example.com")
    assert fresh.client.cookies.get(SESSION_COOKIE) not in (None, planted)
    assert signin.session_user(web_platform, planted) is None


def test_another_accounts_video_is_404_on_every_page_and_fragment(
    world: dict[str, Any],
) -> None:
    video = world["video_id"]
    under = [r for r in routes(world["app"]) if r.path.startswith("/videos/{")]
    assert {"/videos/{video_id}"} <= {r.path for r in under}, [r.path for r in under]
    owner, intruder = browser_of(world, "victim"), browser_of(world, "intruder")
    token = csrf_of(intruder.get("/account").text)
    leaks: list[str] = []
    for route in under:
        path = fill(route, {"video_id": video})
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            kw: dict[str, Any] = {"follow_redirects": False}
            if method != "GET":
                kw["data"] = {"csrf_token": token, "appeal_message": "let me in"}
            with intruder.client.stream(method, path, **kw) as r:
                if r.status_code != 404:
                    leaks.append(f"{method} {path}: {r.status_code}")
    assert not leaks, leaks
    # nothing changed for the owner, who still sees the page (so the 404s mean something)
    job = queries.get_job(world["platform"], world["account"], video)
    assert job["status"] == "succeeded" and not job.get("deleted_at")
    assert owner.get(f"/videos/{video}").status_code == 200
    # an unknown id, and the gallery lists only one's own
    assert intruder.get("/videos/vid_00000000000000000000000000").status_code == 404
    assert video not in intruder.get("/videos").text
    assert video in owner.get("/videos").text


def test_a_prompt_of_markup_is_rendered_as_text(world: dict[str, Any]) -> None:
    owner = browser_of(world, "victim")
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    for path in ("/videos", f"/videos/{world['video_id']}"):
        html = owner.get(path).text
        assert "<script>alert(" not in html, path
        assert escaped in html or escaped.replace("&#34;", "&quot;") in html, path
    # every script the pages load is a file of ours (the CSP forbids inline ones)
    html = owner.get(f"/videos/{world['video_id']}").text
    assert all(re.fullmatch(r"/static/web/[\w.-]+\.js", s) for s in _scripts(html)), _scripts(html)


def _scripts(html: str) -> list[str]:
    tags = re.findall(r"<script\b([^>]*)>", html)
    assert all("src=" in t for t in tags), tags  # no inline script
    return [re.search(r'src="([^"]+)"', t).group(1) for t in tags]  # type: ignore[union-attr]


def test_every_console_route_is_403_for_a_creator(world: dict[str, Any]) -> None:
    console = [r for r in routes(world["app"]) if r.path.startswith("/console")]
    assert {"/console"} <= {r.path for r in console}
    creator, anonymous = browser_of(world, "victim"), browser_of(world, None)
    token = csrf_of(creator.get("/account").text)
    wrong: list[str] = []
    for route in console:
        path = fill(route, {})
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            kw: dict[str, Any] = {"follow_redirects": False}
            if method != "GET":
                kw["data"] = {"csrf_token": token}
            with creator.client.stream(method, path, **kw) as r:
                if r.status_code != 403:
                    wrong.append(f"creator {method} {path}: {r.status_code}")
            with anonymous.client.stream(method, path, follow_redirects=False) as r:
                if r.status_code not in (303, 403):  # signed out: sent to sign in (or CSRF)
                    wrong.append(f"signed out {method} {path}: {r.status_code}")
    assert not wrong, wrong
    # the control: the operator is let in
    assert browser_of(world, "operator").get("/console").status_code == 200


def test_the_billing_page_shows_only_ones_own_ledger(world: dict[str, Any]) -> None:
    """The victim's history links the clip's charge; the intruder's page has none of it."""
    assert world["video_id"] in browser_of(world, "victim").get("/billing").text
    assert world["video_id"] not in browser_of(world, "intruder").get("/billing").text
