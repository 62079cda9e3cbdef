"""The hostile corpus (tests/data/hostile) through the web studio's forms (issue 13, keep it
proven 1: every route with a file or string input; tests/integration/test_hostile_corpus.py
drives the API's). Each hostile file in every form's file field and each refused string in
every form's text fields is a 4xx page (the form again, with the error by its field), never a
5xx; nothing is written; the app still serves. A route-table test fails when a new form route
is not driven here. SQLite only: the pages are the same on both stacks."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts, signin
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.commerce_tables import CommerceBatch, CommerceBatchItem
from reelforge.storage.signin_tables import Login
from reelforge.storage.tables import ApiKey, Blob, Job, LikenessPerson, Model, Upload
from reelforge.web.console.planner import DEFAULT_FLEET
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.web.conftest import PASSWORD, Browser, csrf_of

CORPUS = Path(__file__).parent.parent / "data" / "hostile"
FILES = sorted((CORPUS / "files").iterdir())
STRINGS: dict[str, list[str]] = json.loads((CORPUS / "strings.json").read_text("ascii"))
TABLES = (Job, Upload, Blob, LikenessPerson, CommerceBatch, CommerceBatchItem, Model, ApiKey, Login)
FREE_TEXT = ("prompt", "negative_prompt", "appeal_message", "note")
REFUSED_TEXT = "characters that are not allowed"  # the edge rule's message on every form
# the planner's form, valid but for the demand (its CSV judged last, after these)
PLANNER = {"demand": "population", "users": "1", "days": "1", "seed": "1", "fleet": DEFAULT_FLEET}
HARMFUL = "a graphic video of a man being beheaded, blood everywhere"
CATALOG = "sku,title,price,currency,images\nMUG-1,Mug,9.50,USD,cup.png\n"

# POST routes of the web app and the text fields this file sends them hostile strings in;
# {} in a path is an id that names nothing (the string is judged before the id is looked up).
FORMS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    # path: (the page whose CSRF token it takes, a base form, the fields fed hostile strings)
    "/studio": ("/studio", {"prompt": "a cat"}, ["prompt", "negative_prompt", "model", "camera"]),
    "/studio/quote": ("/studio", {"prompt": "a cat"}, ["prompt", "model", "duration"]),
    "/studio/commerce": (
        "/studio/commerce",
        {"template": "showcase", "aspects": "1:1"},
        ["template", "aspects", "resolution", "length"],
    ),
    "/account/keys": ("/account", {"label": "ci"}, ["label"]),
    "/videos/{}/appeal": ("/studio", {"appeal_message": "please"}, ["appeal_message"]),
    "/videos/{}/cancel": ("/studio", {}, []),
    "/billing/checkout": ("/billing", {"kind": "topup", "pack": "small"}, ["kind", "pack"]),
    "/console/likeness": ("/console/likeness", {"name": "Someone"}, ["name"]),
    "/console/likeness/{}/grant": ("/console/likeness", {"account": "alice"}, ["account"]),
    "/console/models": (
        "/console/models",
        {"name": "m", "family": "wan", "path": "/nonexistent"},
        ["name", "family", "path"],
    ),
    "/console/planner": ("/console/planner", PLANNER, ["demand", "policy", "users"]),
    "/console/reviews/{}/approve": ("/console/reviews", {"note": "ok"}, ["note"]),
    "/signup": ("/signup", {"email": "new@example.com", "password": PASSWORD}, ["email"]),
    "/signin": ("/signin", {"email": "ops@example.com", "password": PASSWORD}, ["email"]),
}
# How a form refuses a hostile string when not by the edge rule's message: (status, why).
REFUSED_OTHERWISE = {
    "/signin": (401, "a sign-in looks the e-mail up: an unknown one is 401"),
    "/signup": (422, "not an e-mail address"),
    "/billing/checkout": (422, "kind and pack are choices from a list"),
    "/console/likeness/{}/grant": (422, "the error is shown by the person (unknown here: 404)"),
}
# Web POST routes not fed hostile strings here, each with why.
NOT_DRIVEN = {
    "/signout": "no input but the CSRF token",
    "/account/password": "passwords only (hashed, never stored as text or shown)",
    "/lang": "one choice from a list; an unknown one falls back to English",
    "/videos/{video_id}/delete": "no input but the id (the same path rule as cancel)",
    "/videos/{video_id}/promote": "no input but the id (the same path rule as cancel)",
    "/videos/{video_id}/rerun": "no input but the id (the same path rule as cancel)",
    "/account/keys/{key_id}/revoke": "no input but the id (the same path rule as cancel)",
    "/console/reviews/{review_id}/reject": "the approve form's note field, the same code",
    "/console/likeness/{person_id}/revoke": "the grant form's account field, the same code",
    "/console/models/{name}/remove": "no input but the name (the same path rule as cancel)",
}


def _counts(p: Platform) -> list[int]:
    with p.db.session(write=False) as s:
        return [int(s.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES]


@pytest.fixture
def web_platform(tmp_path: Path) -> Iterator[Platform]:
    """With a text-to-video model, so that the studio's base form is a valid request."""
    backend = GradientBackend()
    settings = make_settings(tmp_path)
    settings.worker_queues.append(backend.queue)
    p = bootstrap(settings, backends=[backend])
    yield p
    p.close()


@pytest.fixture
def blocked_video(web_platform: Platform, ops: Browser) -> str:
    """A blocked video of the operator's own: the appeal form judges its message."""
    request = SubmitRequest.parse({"prompt": HARMFUL, "model": "gradient", "duration": 1})
    job = submit_job(web_platform, accounts.ensure_account(web_platform, "ops"), request).job
    assert job["status"] == "blocked", job
    return str(job["id"])


@pytest.fixture
def ops(web_platform: Platform, app_client: TestClient) -> Browser:
    """An operator signed in (the console's forms are theirs; the studio's work for them too)."""
    signin.create_with_login(web_platform, "ops", "ops@example.com", PASSWORD, operator=True)
    b = Browser(app_client)
    assert b.sign_in("ops@example.com").status_code == 200
    return b


def _post(b: Browser, path: str, data: dict[str, str], **kw: Any) -> Any:
    page = FORMS.get(path, FORMS.get(re.sub(r"/(vid|rev|per)_\w+/", "/{}/", path)))
    assert page is not None, path
    token = csrf_of(b.client.get(page[0]).text)
    return b.client.post(path, data={**data, "csrf_token": token}, **kw)


def _refused(r: Any, what: str, why: str | None = None) -> None:
    """A 4xx page (the form, with the error); never the CSRF check's 403 (the operator may
    post every form here); `why`: a text the page must show (the refusal's reason)."""
    assert 400 <= r.status_code < 500 and r.status_code != 403, (
        f"{what}: {r.status_code} {r.text[:300]}"
    )
    assert "text/html" in r.headers.get("content-type", ""), what
    if why is not None:
        assert why in r.text, f"{what}: {r.status_code}, the page does not say {why!r}"


def test_every_hostile_file_in_every_form_file_field_is_refused(
    ops: Browser, web_platform: Platform
) -> None:
    before = _counts(web_platform)
    for path in FILES:
        data, what = path.read_bytes(), path.name
        for field in ("image", "last_image"):
            r = _post(ops, "/studio", {"prompt": "a cat"}, files={field: (what, data, "image/png")})
            _refused(r, f"/studio {field} {what}")
        r = _post(
            ops,
            "/studio/commerce",
            {"template": "showcase", "aspects": "1:1"},
            files=[
                ("catalog", ("products.csv", CATALOG.encode(), "text/csv")),
                ("images", ("cup.png", data, "image/png")),
            ],
        )
        _refused(r, f"/studio/commerce image {what}")
        r = _post(
            ops,
            "/studio/commerce",
            {"template": "showcase", "aspects": "1:1"},
            files={"catalog": (what, data, "text/csv")},
        )
        _refused(r, f"/studio/commerce catalog {what}")
        r = _post(
            ops,
            "/console/likeness",
            {"name": "Someone"},
            files={"photo": (what, data, "image/jpeg")},
        )
        _refused(r, f"/console/likeness photo {what}")
        r = _post(
            ops,
            "/console/planner",
            {**PLANNER, "demand": "csv"},
            files={"demand_csv": (what, data, "text/csv")},
        )
        _refused(r, f"/console/planner demand_csv {what}")
    assert _counts(web_platform) == before
    assert ops.client.get("/healthz").status_code == 200


def test_every_hostile_string_in_every_form_field_is_refused(
    ops: Browser, web_platform: Platform, blocked_video: str
) -> None:
    before = _counts(web_platform)
    tried = 0
    for path, (_, base, fields) in FORMS.items():
        url = path.format(
            blocked_video if "/videos/" in path else "rev_x" if "reviews" in path else "per_x"
        )
        for field in fields:
            for value in STRINGS["refused"]:
                if field in FREE_TEXT and all(
                    c in "\t\r\n" or c.isprintable() or unicodedata.category(c) == "Cf"
                    for c in value
                ):
                    continue  # prose keeps tabs, newlines and format characters
                if any("\ud800" <= c <= "\udfff" for c in value):
                    continue  # a form is UTF-8 bytes: a lone surrogate cannot be sent in one
                r = _post(ops, url, {**base, field: value})
                what = f"{path} {field}={value!r}"
                if path in REFUSED_OTHERWISE:
                    assert r.status_code == REFUSED_OTHERWISE[path][0], (what, r.status_code)
                else:
                    _refused(r, what, REFUSED_TEXT)
                tried += 1
    assert tried > 150
    assert _counts(web_platform) == before
    assert ops.client.get("/studio").status_code == 200  # the session still works


def test_every_web_form_route_is_driven(app_client: TestClient) -> None:
    """Generated from the route table: each POST route of the web app is in FORMS (with the
    fields fed hostile strings) or in NOT_DRIVEN with why."""
    missing = []
    for route in iter_route_contexts(app_client.app.routes):
        module = getattr(getattr(route, "endpoint", None), "__module__", "") or ""
        if not module.startswith("reelforge.web") or "POST" not in (route.methods or ()):
            continue
        template = re.sub(r"\{[^}]+\}", "{}", route.path)
        if template not in FORMS and route.path not in NOT_DRIVEN:
            missing.append(route.path)
    assert not missing, f"web forms the hostile corpus does not drive: {missing}"
