"""The studio in a real browser: sign up, upload a photo (its preview shows), see the live
quote follow the fields, submit, watch the job's progress stream reach 100 %, play the MP4
in the page (the <video> element reports a duration), download it, read its provenance;
a phone's width without horizontal scroll; no Content-Security-Policy violation."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.studio_server import credits, photo, poll, sign_up, watch_problems
from tests.browser.studio_server import studio_server as studio_server  # the fixture


def test_upload_quote_submit_progress_play_download(
    page: Page, studio_server: Callable[..., str], tmp_path: Path
) -> None:
    # 24 frames: progress is seen live; a small upload limit for the too-large check
    url = studio_server(motion_frame_delay=0.04, max_upload_bytes=300_000)
    problems = watch_problems(page)
    sign_up(page, url, "creator@example.com")
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/studio$"))

    image = page.get_by_label("First frame image (JPEG, PNG or WebP)")
    big = tmp_path / "big.jpg"  # over the upload limit: said before anything is sent
    big.write_bytes(b"\xff\xd8\xff" + bytes(400_000))
    image.set_input_files(big)
    expect(page.locator("#image-size-error")).to_be_visible()
    page.get_by_role("button", name="Generate video").click()
    expect(page).to_have_url(re.compile(r"/studio$"))
    # the photo dropped on the image's zone (drag and drop)
    dropped = page.evaluate_handle(
        "(b64) => { const bin = atob(b64); const bytes = new Uint8Array(bin.length);"
        " for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);"
        " const dt = new DataTransfer();"
        " dt.items.add(new File([bytes], 'lake.jpg', { type: 'image/jpeg' })); return dt; }",
        base64.b64encode(photo(tmp_path / "lake.jpg").read_bytes()).decode(),
    )
    page.dispatch_event("[data-drop=image]", "drop", {"dataTransfer": dropped})
    assert page.evaluate("document.getElementById('image').files[0].name") == "lake.jpg"
    expect(page.locator("#image-size-error")).to_be_hidden()
    expect(page.locator("#image-preview")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("slow zoom in on a calm lake")
    page.get_by_label("Resolution").select_option("480p")
    expect(page.locator("#balance")).to_have_text(re.compile(r"^\d+$"))
    page.get_by_label("Duration (seconds)").fill("20")
    expect(page.locator("#quote-credits")).to_have_text(re.compile(r"^\d+$"))
    poll(page, "document.getElementById('quote').dataset.updated")
    long_price = credits(page)
    page.get_by_label("Duration (seconds)").fill("1")
    expect(page.locator("#quote-credits")).not_to_have_text(str(long_price))
    assert credits(page) < long_price  # the quote follows the fields

    clicked = time.monotonic()
    page.get_by_role("button", name="Generate video").click()
    expect(page).to_have_url(re.compile(r"/videos/vid_[0-9a-z]+$"))
    on_page = time.monotonic() - clicked
    # the first progress update the page shows (from the job's event stream)
    poll(
        page,
        "(() => { const p = document.getElementById('progress');"
        " return p.dataset.seq && !['queued', 'started'].includes(p.dataset.stage); })()",
    )
    first_update = time.monotonic() - clicked
    print(
        f"\nsubmit click -> video page {on_page:.2f} s -> first progress update "
        f"{first_update:.2f} s"
    )
    # no layout shift while progress updates: every box of the progress card stays put
    boxes, steps = set(), set()
    while True:
        seen = page.evaluate(
            "(() => { const ids = ['progress', 'progress-bar', 'percent', 'stage', 'step',"
            " 'cancel-form', 'request'];"
            " const r = ids.map((id) => { const e = document.getElementById(id);"
            " if (!e) return null; const b = e.getBoundingClientRect();"
            " return [b.x, b.y, b.width, b.height]; });"
            " return [document.getElementById('percent').textContent, JSON.stringify(r),"
            " document.getElementById('step').textContent]; })()"
        )
        if seen[0] == "100 %":
            break
        boxes.add(seen[1])
        steps.add(seen[2])
        assert time.monotonic() - clicked < 60, "no 100 %"
        time.sleep(0.02)
    assert len(boxes) == 1, boxes
    assert any(re.fullmatch(r"\d+ / 24", s) for s in steps), steps  # the step, of 24 frames
    expect(page.locator("#percent")).to_have_text("100 %", timeout=60_000)
    expect(page.locator("#status-text")).to_have_text("Done")
    expect(page.locator("#credits-charged")).to_have_text(re.compile(r"^[1-9]\d*$"))  # updated

    # the MP4 plays in the page, through range requests on the cookie-authenticated route
    player = page.locator("#player")
    expect(player).to_be_visible(timeout=10_000)
    duration = poll(
        page,
        "(() => { const v = document.getElementById('player');"
        " return v && v.duration > 0 ? v.duration : null; })()",
        timeout=15,
    )
    assert isinstance(duration, (int, float)) and 0.5 < duration < 2.0, duration
    page.evaluate(
        "(() => { const v = document.getElementById('player'); v.muted = true;"
        " return v.play(); })()"
    )
    poll(page, "document.getElementById('player').currentTime > 0", timeout=10)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download MP4").click()
    saved = Path(info.value.path())
    data = saved.read_bytes()
    assert data[4:8] == b"ftyp" and len(data) > 10_000
    assert info.value.suggested_filename.endswith(".mp4")

    # provenance from the verify service
    facts = page.locator("#provenance-facts")
    expect(facts).to_contain_text("Valid, trusted", timeout=20_000)
    expect(facts).to_contain_text("ai-generated")

    # the gallery lists it with its poster; a phone's width has no horizontal scroll
    video_page = page.url
    page.get_by_role("link", name="My videos").first.click()
    expect(page.locator(".tile img")).to_have_count(1)
    for path in ("/videos", "/studio", video_page.removeprefix(url)):
        page.goto(url + path)
        page.set_viewport_size({"width": 390, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    assert not problems, problems
