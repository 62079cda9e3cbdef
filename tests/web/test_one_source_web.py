"""One source per mapping between the API and the pages (issue 14 item 4): the studio's event
stream and its video files are the API's (services/jobs/event_streams.py and byte_ranges.py,
byte for byte), its forms and the console's refuse what the API's edge rule refuses
(services/jobs/edge.py), and a page form's body over its limit is answered with the error
page (413, the text of `payload_too_large`) where the API answers JSON."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from reelforge.app.platform import Platform
from reelforge.errors import InvalidCharacters
from reelforge.services.accounts import signin
from reelforge.services.jobs import edge
from reelforge.worker.loop import Worker
from tests.helpers import wait_for
from tests.web.conftest import Browser, csrf_of
from tests.web.test_studio import (
    BLOCKED_PROMPT,
    counts,
    create,
    created_id,
    error_next_to,
    jpeg,
)

TOO_LARGE_TEXT = "The file is too large."  # ERROR_TEXT["payload_too_large"] (web.studio)


@pytest.fixture
def creator(visitor: Browser) -> Browser:
    visitor.sign_up("one-source@example.com")
    return visitor


def api_key(p: Platform, b: Browser) -> dict[str, str]:
    """An API key of the browser's signed-in account."""
    user = signin.session_user(p, b.client.cookies.get("rf_session"))
    assert user is not None
    return {"authorization": f"Bearer {signin.create_key(p, user, 't').key}"}


def _status(b: Browser, auth: dict[str, str], video_id: str) -> str:
    status: str = b.client.get(f"/v1/videos/{video_id}", headers=auth).json()["status"]
    return status


@pytest.mark.slow  # a worker renders the video (about 6 s)
def test_the_pages_stream_and_files_are_the_apis(creator: Browser, web_platform: Platform) -> None:
    auth = api_key(web_platform, creator)
    video_id = created_id(create(creator, {"seed": "5"}))
    worker = Worker(web_platform).start()
    try:
        wait_for(lambda: _status(creator, auth, video_id) == "succeeded", 60)
    finally:
        worker.stop(hand_back=True)
    c = creator.client
    page, api = f"/videos/{video_id}", f"/v1/videos/{video_id}"
    # the event stream: the same bytes from the start, after ?after= and after Last-Event-ID
    whole = c.get(f"{api}/events", headers=auth)
    assert whole.status_code == 200 and whole.text.count("event: ") > 3
    assert c.get(f"{page}/events").content == whole.content
    for query, headers in (("?after=2", {}), ("", {"last-event-id": "2"})):
        api_part = c.get(f"{api}/events{query}", headers={**auth, **headers})
        page_part = c.get(f"{page}/events{query}", headers=headers)
        assert page_part.status_code == api_part.status_code == 200
        assert page_part.content == api_part.content != whole.content
        assert "id: 2\n" not in page_part.text and "id: 3\n" in page_part.text
    # a Last-Event-ID that is no event id: 422 on both (the page: the error page)
    bad_api = c.get(f"{api}/events", headers={**auth, "last-event-id": "2x"})
    bad_page = c.get(f"{page}/events", headers={"last-event-id": "2x"})
    assert bad_api.status_code == bad_page.status_code == 422
    assert bad_api.json()["error"]["field"] == "last-event-id"
    assert bad_page.headers["content-type"].startswith("text/html")
    # the MP4 and the poster: the same status, bytes and range headers for every Range
    size = len(c.get(f"{api}/content", headers=auth).content)
    ranges = [None, "bytes=0-99", "bytes=-10", f"bytes={size - 5}-", "bytes=10-5", "bytes=-0"]
    ranges += [f"bytes={size}-", "bytes=0-1,4-5", "items=0-1", "bytes=-"]
    for what in ("content", "poster"):
        for rng in ranges:
            headers = {"range": rng} if rng else {}
            a = c.get(f"{api}/{what}", headers={**auth, **headers})
            b = c.get(f"{page}/{what}", headers=headers)
            assert (b.status_code, b.content) == (a.status_code, a.content), (what, rng)
            for name in ("content-range", "content-length", "content-type", "accept-ranges"):
                assert b.headers.get(name) == a.headers.get(name), (what, rng, name)
            assert b.headers["x-content-type-options"] == "nosniff"
    tail = c.get(f"{page}/content", headers={"range": "bytes=-10"})
    assert (
        tail.status_code == 206
        and tail.headers["content-range"] == f"bytes {size - 10}-{size - 1}/{size}"
    )
    assert c.get(f"{page}/content", headers={"range": "bytes=-0"}).status_code == 416
    dl = c.get(f"{page}/download", headers={"range": "bytes=0-9"})
    assert dl.status_code == 206 and dl.headers["content-disposition"].startswith("attachment")


# strings the edge rule refuses outside free text (C0, C1, DEL, bidi override, zero-width, BOM)
HOSTILE = ["a\x00b", "a\x1bb", "a\x85b", "a\x7fb", "a\u202eb", "a\u200bb", "\ufeffa"]


def test_the_studio_refuses_what_the_api_refuses(creator: Browser, web_platform: Platform) -> None:
    auth = api_key(web_platform, creator)
    c = creator.client
    for value in HOSTILE:
        assert edge.bad_character(value) is not None
        api = c.post("/v1/videos", json={"prompt": "a lake", "model": value}, headers=auth)
        assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_characters"
        page = create(creator, {"model": value})
        assert page.status_code == 422, (value, page.status_code)
        assert "characters that are not allowed" in error_next_to(page.text, "model")
        # an uploaded image's file name under the same rule (httpx sends NUL as %00)
        if "\x00" not in value:
            page = create(creator, files={"image": (f"{value}.jpg", b"x", "image/jpeg")})
            assert page.status_code == 422, value
            assert "not allowed" in error_next_to(page.text, "image")
    assert counts(web_platform) == (0, 0, 0)
    # free text keeps newlines and tabs (and, as in the API, format characters)
    prose = "a calm lake\n\tat dawn \u200b"
    assert edge.bad_character(prose, free_text=True) is None
    image_url = "data:image/jpeg;base64," + base64.b64encode(jpeg()).decode()
    body = {"prompt": prose, "mode": "image2video", "image_url": image_url, "duration": 1}
    api = c.post("/v1/videos", json=body, headers=auth)
    assert api.status_code == 202, api.text
    assert api.json()["prompt"] == prose
    assert created_id(create(creator, {"prompt": prose}))
    # a file name with a directory: the API's invalid_filename, next to the field
    page = create(creator, files={"image": ("../a.jpg", b"x", "image/jpeg")})
    assert page.status_code == 422 and "plain name" in error_next_to(page.text, "image")


def test_the_console_checks_its_fields_by_the_apis_rule() -> None:
    from reelforge.web.console.common import checked

    for value in [*HOSTILE, "a\ud800"]:
        with pytest.raises(InvalidCharacters) as refused:
            checked(value, "name")
        assert refused.value.message == f"name must not contain {edge.bad_character(value)}"
    prose = "line one\nline two\ttab \u200b"
    assert checked(prose, "note", free_text=True) == prose
    with pytest.raises(InvalidCharacters, match="lone surrogate"):
        checked("a\ud800", "note", free_text=True)


@pytest.fixture
def small_bodies(web_platform: Platform) -> Iterator[None]:
    """Body limits small enough to pass with a few kilobytes (read live by the middleware)."""
    web_platform.settings.max_upload_bytes = 1000  # /studio: two images and 64 KiB around
    web_platform.settings.max_body_bytes = 2000  # every other route (the console's forms)
    yield


def _chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 8192):
        yield data[i : i + 8192]


@pytest.mark.usefixtures("small_bodies")
def test_a_page_forms_body_over_its_limit_answers_the_error_page(
    creator: Browser, web_platform: Platform
) -> None:
    c = creator.client
    token = csrf_of(creator.get("/studio").text)
    big = b"\xff\xd8" + b"\x00" * (200 * 1024)
    # declared (Content-Length): answered before a byte is read
    r = c.post("/studio", data={"csrf_token": token}, files={"image": ("a.jpg", big, "image/jpeg")})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert TOO_LARGE_TEXT in r.text and r.headers["connection"] == "close"
    assert r.headers["x-frame-options"] == "DENY"  # a page, with the pages' headers
    # streamed (chunked, no Content-Length): answered the moment the count passes the limit
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = c.post(
        "/studio",
        content=_chunks(body),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and TOO_LARGE_TEXT in r.text
    # a console form (the JSON default limit) is a page too
    r = c.post("/console/reviews/rev_x/reject", data={"note": "n" * 5000, "csrf_token": token})
    assert r.status_code == 413 and TOO_LARGE_TEXT in r.text
    # the API's routes keep the API's JSON
    r = c.post("/v1/videos", content=b"{" + b" " * 5000 + b"}")
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    r = c.post("/v1/videos", content=_chunks(b"{" + b" " * 5000 + b"}"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    # under the limit nothing changed: the form is read and answered by its route
    web_platform.settings.max_upload_bytes = 10**6
    assert created_id(create(creator, {"prompt": BLOCKED_PROMPT}))


def test_the_console_likeness_form_takes_file_names_by_the_apis_rule(
    web_platform: Platform, visitor: Browser
) -> None:
    from tests.web.conftest import PASSWORD

    signin.create_with_login(web_platform, "ops", "ops@example.com", PASSWORD, operator=True)
    assert visitor.sign_in("ops@example.com").status_code == 200
    auth = api_key(web_platform, visitor)
    c = visitor.client
    cases = (
        ("../a.jpg", "invalid_filename", "must be a plain name"),
        ("a\u202e.jpg", "invalid_characters", "characters that are not allowed"),
    )
    for name, code, text in cases:
        photo = [("photo", (name, jpeg(), "image/jpeg"))]
        api = c.post("/v1/admin/likeness", data={"name": "Nobody"}, files=photo, headers=auth)
        assert api.status_code == 422 and api.json()["error"]["code"] == code, api.text
        token = csrf_of(visitor.get("/console/likeness").text)
        page = c.post(
            "/console/likeness", data={"name": "Nobody", "csrf_token": token}, files=photo
        )
        assert page.status_code == 422 and 'id="person-photos-error"' in page.text, name
        assert text in page.text and "Each photo must show" not in page.text, name  # by its name
    from reelforge.services.governance import likeness

    assert likeness.list_people(web_platform) == []
