"""The studio over HTTP (TestClient): the create form and its validation (the API's codes,
shown next to the field), bad uploads that write nothing, the live quote (the quotes
service's numbers), the video page, escaping of prompts, the gallery's filters, the
actions (cancel, delete, re-run, appeal) and tenant isolation on every page and fragment."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from reelforge.app.platform import Platform
from reelforge.errors import InvalidRequest
from reelforge.services.billing import quotes
from reelforge.services.jobs import event_streams
from reelforge.services.jobs.submit import SubmitRequest
from reelforge.storage.tables import Job, Upload
from tests.web.conftest import Browser, csrf_of

BLOCKED_PROMPT = "a graphic video of a man being beheaded, blood everywhere"


def jpeg(width: int = 160, height: int = 120, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


FIELDS = {
    "prompt": "a calm lake at dawn",
    "mode": "image2video",
    "duration": "1",
    "resolution": "480p",
    "aspect_ratio": "16:9",
}


def create(
    b: Browser, data: dict[str, str] | None = None, files: dict[str, Any] | None = None
) -> Any:
    token = csrf_of(b.get("/studio").text)
    files = files if files is not None else {"image": ("photo.jpg", jpeg(), "image/jpeg")}
    r = b.client.post(
        "/studio",
        data={**FIELDS, **(data or {}), "csrf_token": token},
        files=files,
        follow_redirects=False,
    )
    b.page = r.text
    return r


def created_id(r: Any) -> str:
    assert r.status_code == 303, r.text[-2000:]
    match = re.fullmatch(r"/videos/(vid_[0-9a-z]+)", r.headers["location"])
    assert match, r.headers["location"]
    return match.group(1)


def counts(p: Platform) -> tuple[int, int, int]:
    """Jobs, uploads and stored blobs: what a refused form must not add to."""
    with p.db.session(write=False) as s:
        jobs = s.scalar(select(func.count()).select_from(Job))
        uploads = s.scalar(select(func.count()).select_from(Upload))
    blobs = Path(p.settings.data_dir) / "blobs"
    files = sum(1 for f in blobs.rglob("*") if f.is_file()) if blobs.exists() else 0
    return int(jobs or 0), int(uploads or 0), files


def error_next_to(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error" role="alert">(.*?)</p>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


@pytest.fixture
def creator(visitor: Browser) -> Browser:
    visitor.sign_up("maker@example.com")
    return visitor


def test_studio_needs_sign_in_and_home_leads_there(visitor: Browser) -> None:
    r = visitor.client.get("/studio", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    visitor.sign_up("a@example.com")
    r = visitor.client.get("/", follow_redirects=False)
    assert r.headers["location"] == "/studio"
    page = visitor.get("/studio").text
    assert 'href="/studio"' in page and 'href="/videos"' in page  # the navigation
    # every control has a label
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', page)
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert {"image", "last_image", "prompt", "negative_prompt", "mode", "model", "camera"} <= set(
        ids
    )
    assert set(ids) - {"lang-select"} <= labelled, set(ids) - labelled
    assert not re.search(r"<script(?![^>]*\ssrc=)", page)  # no inline script
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handler


def test_form_shows_models_quote_and_balance(creator: Browser, web_platform: Platform) -> None:
    page = creator.get("/studio").text
    assert '<option value="motion"' in page
    assert re.search(r'id="quote-credits">\d+<', page)
    assert re.search(r'id="balance">\d+<', page)


def test_live_quote_is_the_quotes_service(creator: Browser, web_platform: Platform) -> None:
    token = csrf_of(creator.get("/studio").text)
    headers = {"x-csrf-token": token}
    answers = {}
    for duration in ("2", "20"):
        data = {**FIELDS, "duration": duration, "has_image": "1"}
        r = creator.client.post("/studio/quote", data=data, headers=headers)
        assert r.status_code == 200, r.text
        answers[duration] = int(re.search(r'id="quote-credits">(\d+)<', r.text).group(1))  # type: ignore[union-attr]
    user = creator.client.cookies.get("rf_session")
    from reelforge.services.accounts import signin

    account = signin.session_user(web_platform, user).account  # type: ignore[union-attr]
    for duration, credits in answers.items():
        body = {"mode": "image2video", "duration": duration, "resolution": "480p"}
        assert quotes.quote(web_platform, account, SubmitRequest.parse(body))["credits"] == credits
    assert answers["20"] > answers["2"]
    # a bad field: the API's message, no price
    r = creator.client.post("/studio/quote", data={**FIELDS, "duration": "x"}, headers=headers)
    assert r.status_code == 422 and "invalid_request" in r.text and "duration" in r.text
    # CSRF: refused without the token
    r = creator.client.post("/studio/quote", data=FIELDS)
    assert r.status_code == 403


def test_submit_creates_the_job_and_escapes_the_prompt(
    creator: Browser, web_platform: Platform
) -> None:
    prompt = '<script>alert("x")</script> & a lake'
    video_id = created_id(create(creator, {"prompt": prompt, "seed": "7"}))
    page = creator.get(f"/videos/{video_id}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; a lake" in page
    assert '<script>alert("x")' not in page
    assert re.search(rf'data-events="/videos/{video_id}/events\?after=[1-9]\d*"', page)
    assert 'id="cancel-form"' in page
    jobs, uploads, _ = counts(web_platform)
    assert (jobs, uploads) == (1, 1)
    gallery = creator.get("/videos").text
    assert f'href="/videos/{video_id}"' in gallery and "&lt;script&gt;" in gallery


INVALID_FIELDS = [
    ({"duration": "abc"}, "duration", "invalid_request"),
    ({"duration": "500"}, "duration", "invalid_request"),
    ({"seed": "-1"}, "seed", "invalid_request"),
    ({"camera": "spin"}, "camera", "invalid_request"),
    ({"prompt": "x" * 2501}, "prompt", "invalid_request"),
    ({"prompt": "bad\x00nul"}, "prompt", "invalid_characters"),
    ({"mode": "extend"}, "extend_from", "invalid_request"),
    ({"model": "nope"}, "model", "unknown_model"),
]


def test_invalid_fields_show_the_api_code_next_to_the_field(
    creator: Browser, web_platform: Platform
) -> None:
    for data, field, code in INVALID_FIELDS:  # one sign-up for all: each case is one request
        r = create(creator, data)
        assert r.status_code in (400, 404, 422), (data, r.status_code)
        assert code in error_next_to(r.text, field), data
        assert f'aria-describedby="{field}-error"' in r.text, data
        assert counts(web_platform) == (0, 0, 0), data  # nothing written, not the good image


def test_same_codes_as_the_api(creator: Browser, web_platform: Platform) -> None:
    from reelforge.services.accounts import signin

    user = signin.session_user(web_platform, creator.client.cookies.get("rf_session"))
    assert user is not None
    key = signin.create_key(web_platform, user, "t").key
    auth = {"authorization": f"Bearer {key}"}
    for body, field in (({"duration": "abc"}, "duration"), ({"seed": -1}, "seed")):
        api = creator.client.post("/v1/videos", json={"prompt": "x", **body}, headers=auth)
        page = create(creator, {k: str(v) for k, v in body.items()})
        assert api.status_code == page.status_code
        assert api.json()["error"]["code"] in error_next_to(page.text, field)


def test_bad_uploads_give_the_api_error_and_write_nothing(
    creator: Browser, web_platform: Platform
) -> None:
    web_platform.settings.max_upload_bytes = 20_000
    web_platform.settings.max_image_pixels = 100_000
    big = jpeg(220, 170)  # over the upload limit, under the form's body limit (two images)
    assert 20_000 < len(big) < 40_000
    cases = [
        ({"image": ("notes.txt", b"just some text", "text/plain")}, "image", "invalid_image"),
        ({"image": ("big.jpg", big, "image/jpeg")}, "image", "payload_too_large"),
        ({"image": ("bomb.png", _bomb(), "image/png")}, "image", "4000x4000"),
        (  # a good first image and a bad last one: neither is stored
            {
                "image": ("a.jpg", jpeg(), "image/jpeg"),
                "last_image": ("b.gif", b"GIF89a\x01\x00\x01\x00", "image/gif"),
            },
            "last_image",
            "unsupported_image_type",
        ),
    ]
    for files, field, code in cases:
        r = create(creator, {"mode": "first_last_frame"}, files=files)
        assert r.status_code in (400, 413, 415, 422), (code, r.status_code)
        shown = error_next_to(r.text, field)
        assert code in shown, shown
        assert counts(web_platform) == (0, 0, 0), code


def _bomb() -> bytes:
    """A small PNG whose header declares 4000x4000 pixels (highly compressible)."""
    buf = io.BytesIO()
    Image.new("L", (4000, 4000)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def test_blocked_prompt_shows_the_reason_and_takes_an_appeal(
    creator: Browser, web_platform: Platform
) -> None:
    video_id = created_id(create(creator, {"prompt": BLOCKED_PROMPT}))
    page = creator.get(f"/videos/{video_id}").text
    assert "This video was blocked" in page and "violence or gore" in page
    assert "No credits were charged." in page and 'id="appeal-form"' in page
    assert "data-events" not in page  # final: no stream
    # an empty appeal is refused next to the field
    r = creator.submit(f"/videos/{video_id}", f"/videos/{video_id}/appeal", {"appeal_message": ""})
    assert r.status_code == 422 and 'id="appeal-error"' in r.text
    r = creator.submit(
        f"/videos/{video_id}",
        f"/videos/{video_id}/appeal",
        {"appeal_message": "It is a history documentary."},
    )
    assert r.status_code == 200 and r.url.path == f"/videos/{video_id}"
    assert "A person is reviewing this video" in r.text
    from reelforge.services.governance import reviews

    (review,) = reviews.list_reviews(web_platform)
    assert review["job_id"] == video_id and review["kind"] == "appeal"


def test_cancel_a_queued_job_and_delete_it(creator: Browser, web_platform: Platform) -> None:
    video_id = created_id(create(creator))
    r = creator.submit(f"/videos/{video_id}", f"/videos/{video_id}/cancel", {})
    assert r.url.path == f"/videos/{video_id}"
    assert "Cancelled" in r.text and "No credits were charged." in r.text
    assert 'id="cancel-form"' not in r.text
    r = creator.submit(f"/videos/{video_id}", f"/videos/{video_id}/delete", {})
    assert r.url.path == "/videos"
    with web_platform.db.session(write=False) as s:
        job = s.get(Job, video_id)
        assert job is not None and job.status == "cancelled" and job.deleted_at is not None


def test_rerun_same_and_new_seed(creator: Browser, web_platform: Platform) -> None:
    first = created_id(create(creator, {"seed": "42", "camera": "pan_left"}))
    creator.submit(f"/videos/{first}", f"/videos/{first}/cancel", {})
    r = creator.submit(f"/videos/{first}", f"/videos/{first}/rerun", {"seed": "same"})
    same = r.url.path.rsplit("/", 1)[1]
    r = creator.submit(f"/videos/{first}", f"/videos/{first}/rerun", {"seed": "new"})
    new = r.url.path.rsplit("/", 1)[1]
    assert len({first, same, new}) == 3
    with web_platform.db.session(write=False) as s:
        specs = {j: s.get(Job, j).spec for j in (first, same, new)}  # type: ignore[union-attr]
        inputs = {j: s.get(Job, j).inputs for j in (first, same, new)}  # type: ignore[union-attr]
    assert specs[same]["seed"] == 42 and specs[same]["camera"] == "pan_left"
    assert specs[same]["images"] == specs[first]["images"] == specs[new]["images"]
    assert inputs[same][0]["upload_id"] == inputs[first][0]["upload_id"]
    assert specs[new]["prompt"] == specs[first]["prompt"]


def test_gallery_filters_by_status_and_model(creator: Browser, web_platform: Platform) -> None:
    blocked = created_id(create(creator, {"prompt": BLOCKED_PROMPT}))
    queued = created_id(create(creator, {"prompt": "a quiet harbour"}))
    page = creator.get("/videos?status=blocked").text
    assert blocked in page and queued not in page
    page = creator.get("/videos?model=motion").text
    assert blocked in page and queued in page
    page = creator.get("/videos?model=other").text
    assert blocked not in page and "No videos yet." in page
    r = creator.get("/videos?status=bogus")
    assert r.status_code == 200 and "status must be one of" in r.text


def test_event_stream_of_a_final_job_and_the_stream_cap(
    creator: Browser, web_platform: Platform
) -> None:
    video_id = created_id(create(creator, {"prompt": BLOCKED_PROMPT}))
    r = creator.client.get(f"/videos/{video_id}/events")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert re.findall(r"^event: (\w+)$", r.text, re.M) == ["submitted", "blocked"]
    # Last-Event-ID resumes after what was seen
    r = creator.client.get(f"/videos/{video_id}/events", headers={"last-event-id": "1"})
    assert re.findall(r"^event: (\w+)$", r.text, re.M) == ["blocked"]
    r = creator.client.get(f"/videos/{video_id}/events?after=1")  # as the page asks
    assert re.findall(r"^event: (\w+)$", r.text, re.M) == ["blocked"]
    # the per-key cap of the API's streams holds for the page's streams too
    from reelforge.services.accounts import signin

    user = signin.session_user(web_platform, creator.client.cookies.get("rf_session"))
    assert user is not None
    slots = [
        event_streams.take_slot(web_platform, user.account)
        for _ in range(web_platform.settings.event_streams_per_key)
    ]
    try:
        r = creator.client.get(f"/videos/{video_id}/events")
        assert r.status_code == 429 and "Too many live views are open" in r.text
    finally:
        for slot in slots:
            slot.release()


def test_another_accounts_video_is_404_everywhere(
    creator: Browser, new_browser: Any, web_platform: Platform
) -> None:
    video_id = created_id(create(creator))
    blocked_id = created_id(create(creator, {"prompt": BLOCKED_PROMPT}))
    other = new_browser()
    other.sign_up("other@example.com")
    token = csrf_of(other.get("/studio").text)
    for vid in (video_id, blocked_id, "vid_doesnotexist", "x" * 300):
        for path in ("", "/events", "/content", "/poster", "/download", "/provenance"):
            r = other.client.get(f"/videos/{vid}{path}")
            assert r.status_code == 404, (vid, path, r.status_code)
            assert "<!doctype html>" in r.text.lower()  # a page, not the API's JSON
        for action in ("cancel", "delete", "promote", "rerun", "appeal"):
            r = other.client.post(
                f"/videos/{vid}/{action}",
                data={"csrf_token": token, "appeal_message": "please", "seed": "new"},
            )
            assert r.status_code == 404, (vid, action, r.status_code)
    assert video_id not in other.get("/videos").text
    # and nothing happened to the owner's videos
    with web_platform.db.session(write=False) as s:
        assert s.get(Job, video_id).status == "queued"  # type: ignore[union-attr]
        assert s.get(Job, blocked_id).status == "blocked"  # type: ignore[union-attr]
    # signed out: fragments and files are refused, pages send to sign-in
    anon = new_browser()
    assert anon.client.get(f"/videos/{video_id}", follow_redirects=False).status_code == 303
    assert anon.client.get(f"/videos/{video_id}/content").status_code == 401
    assert anon.client.get(f"/videos/{video_id}/events").status_code == 401


def test_extend_link_prefills_the_form(creator: Browser) -> None:
    page = creator.get("/studio?mode=extend&extend_from=vid_abc").text
    assert 'value="vid_abc"' in page
    assert re.search(r'<option value="extend" selected>', page)


@pytest.mark.slow
def test_finished_video_plays_downloads_and_verifies(
    creator: Browser, web_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelforge.worker.loop import Worker
    from tests.helpers import wait_for

    video_id = created_id(create(creator, {"seed": "3"}))
    worker = Worker(web_platform).start()
    try:
        wait_for(lambda: _status(web_platform, video_id) in ("succeeded", "failed"), 60)
    finally:
        worker.stop(hand_back=True)
    assert _status(web_platform, video_id) == "succeeded"
    page = creator.get(f"/videos/{video_id}").text
    assert f'src="/videos/{video_id}/content"' in page and 'id="download"' in page
    assert "100 %" in page and 'data-events="' not in page
    whole = creator.client.get(f"/videos/{video_id}/content")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content[4:8] == b"ftyp"
    part = creator.client.get(f"/videos/{video_id}/content", headers={"range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    assert part.content == whole.content[:100]
    tail = creator.client.get(f"/videos/{video_id}/content", headers={"range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    bad = creator.client.get(f"/videos/{video_id}/content", headers={"range": "bytes=999999999-"})
    assert bad.status_code == 416
    dl = creator.client.get(f"/videos/{video_id}/download")
    assert dl.headers["content-disposition"].startswith("attachment")
    assert dl.content == whole.content
    poster = creator.client.get(f"/videos/{video_id}/poster")
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"
    prov = creator.client.get(f"/videos/{video_id}/provenance").text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)", prov))
    assert facts["Visible label"].startswith("Found")
    assert facts["C2PA manifest"].startswith("Valid, trusted")
    assert facts["Watermark"] == "Found" and facts["Verdict"] == "ai-generated"
    # the report is kept per stored file: a reload does not decode again
    from reelforge.services.studio import provenance

    calls: list[object] = []
    real = provenance.verify
    monkeypatch.setattr(provenance, "verify", lambda *a: calls.append(a) or real(*a))
    assert creator.client.get(f"/videos/{video_id}/provenance").text == prov and calls == []
    # a process already verifying its most says so instead of queueing another decode
    provenance._reports.clear()
    held = [provenance._running.acquire(blocking=False) for _ in range(provenance.AT_ONCE)]
    try:
        assert all(held)
        busy = creator.client.get(f"/videos/{video_id}/provenance")
        assert busy.status_code == 200 and "The provenance check is busy" in busy.text
    finally:
        for _ in held:
            provenance._running.release()
    assert "Valid, trusted" in creator.client.get(f"/videos/{video_id}/provenance").text
    assert len(calls) == 1
    assert "<img" in creator.get("/videos?status=succeeded").text  # the poster in the gallery
    # extend it: the form's extend mode names it, no image
    extended = created_id(create(creator, {"mode": "extend", "extend_from": video_id}, {}))
    with web_platform.db.session(write=False) as s:
        job = s.get(Job, extended)
        assert job is not None and job.mode == "extend" and job.spec["extends"] == video_id
    assert re.search(r'id="credits-charged">[1-9]\d*<', page)


def _status(p: Platform, video_id: str) -> str:
    with p.db.session(write=False) as s:
        job = s.get(Job, video_id)
        return job.status if job else ""


def test_promote_needs_a_draft_and_says_so(creator: Browser) -> None:
    video_id = created_id(create(creator))
    creator.submit(f"/videos/{video_id}", f"/videos/{video_id}/cancel", {})
    r = creator.submit(f"/videos/{video_id}", f"/videos/{video_id}/promote", {})
    assert r.status_code == 409 and "Only drafts can be promoted." in r.text


def test_chinese_studio(creator: Browser) -> None:
    page = creator.get("/studio", headers={"accept-language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="zh-Hans">' in page
    assert "创建视频" in page and "生成视频" in page and "运镜" in page
    assert "积分" in page


def test_failed_job_shows_the_error_and_no_charge(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from reelforge.api.app import create_app
    from reelforge.app.bootstrap import bootstrap
    from reelforge.worker.loop import Worker
    from tests.conftest import make_settings
    from tests.fakes import broken_backend
    from tests.helpers import wait_for

    settings = make_settings(tmp_path, max_attempts=1, worker_queues=["gradient"])
    p = bootstrap(settings, backends=[broken_backend()])
    try:
        with TestClient(create_app(p)) as client:
            b = Browser(client)
            b.sign_up("failing@example.com")
            assert '<option value="gradient"' in b.get("/studio").text
            video_id = created_id(
                create(b, {"model": "gradient", "mode": "text2video", "prompt": "waves"}, {})
            )
            worker = Worker(p).start()
            try:
                wait_for(lambda: _status(p, video_id) == "failed", 30)
            finally:
                worker.stop(hand_back=True)
            page = b.get(f"/videos/{video_id}").text
            assert "This video failed" in page and "the model ran out of memory" in page
            assert "out_of_memory" in page and "No credits were charged." in page
            assert re.search(r'id="credits-charged">0<', page)
    finally:
        p.close()


def test_gallery_pages_and_stays_in_the_account(creator: Browser, web_platform: Platform) -> None:
    from reelforge.services.accounts import signin
    from reelforge.services.studio import gallery

    ids = [created_id(create(creator, {"prompt": f"clip {i}"})) for i in range(3)]
    user = signin.session_user(web_platform, creator.client.cookies.get("rf_session"))
    assert user is not None
    first = gallery.list_videos(web_platform, user.account, limit=2)
    assert [v["id"] for v in first["data"]] == ids[::-1][:2] and first["next"] == ids[1]
    rest = gallery.list_videos(web_platform, user.account, limit=2, before=first["next"])
    assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["next"] is None
    other = signin.sign_up(web_platform, "else@example.com", "correct horse battery").user
    assert gallery.list_videos(web_platform, other.account)["data"] == []
    assert gallery.models_used(web_platform, other.account) == []
    assert gallery.models_used(web_platform, user.account) == ["motion"]
    for bad in ({"before": "x" * 50}, {"status": "nope"}, {"model": "a\x00b"}):
        with pytest.raises(InvalidRequest):
            gallery.list_videos(web_platform, user.account, **bad)  # type: ignore[arg-type]


def test_the_plans_request_rate_holds_for_the_studio(
    creator: Browser, web_platform: Platform
) -> None:
    from reelforge.services.accounts import signin
    from reelforge.services.billing import customers

    user = signin.session_user(web_platform, creator.client.cookies.get("rf_session"))
    assert user is not None
    customers.set_plan(web_platform, user.account.name, "free")
    billing = web_platform.billing
    assert billing is not None
    rpm = billing.sheet.plan("free").requests_per_minute
    for _ in range(rpm):  # this minute's work-creating requests, spent
        assert billing.limit_rate(f"web:{user.account.id}", "free").allowed
    r = create(creator)
    assert r.status_code == 429 and "rate_limited" in error_next_to(r.text, "form")
    assert counts(web_platform) == (0, 0, 0)
    # another account is not slowed by it
    assert billing.limit_rate("web:someone-else", "free").allowed


def test_the_label_position_is_on_the_form_and_on_the_job(
    creator: Browser, web_platform: Platform
) -> None:
    """A creator moves the AI-generated banner off the product from the studio, as the API's
    `label_position` and the CLI's --label-position do (issue 12 item 13)."""
    page = creator.get("/studio").text
    assert re.search(r'<select id="label_position" name="label_position"', page)
    assert '<option value="bottom">' in page and '<option value="top" selected>' in page
    zh = creator.get("/studio", headers={"accept-language": "zh-CN,zh;q=0.9"}).text
    assert "AI 生成标识横幅" in zh and "下方三分之一" in zh
    video_id = created_id(create(creator, {"label_position": "bottom"}))
    with web_platform.db.session(write=False) as s:
        job = s.get(Job, video_id)
        assert job is not None and job.spec["label_position"] == "bottom"
    r = create(creator, {"label_position": "middle"})
    assert "invalid_request" in error_next_to(r.text, "label_position")
