"""An operator approves a held job in the console's review queue (htmx swaps the item, the
reason goes to the audit log) and the creator's job runs: seen through the creator's own
API key (GET /v1/videos/{id}), as a program or the studio would see it."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Page, expect

from reelforge.services.accounts import accounts
from reelforge.services.governance import audit
from tests.browser.console_server import (
    Site,
    collect_problems,
    console_site,
    picture,
    sign_in_operator,
)

__all__ = ["console_site"]  # the fixture, used by name

POLITICAL = "a campaign ad asking people to vote for a candidate in the presidential election"


def test_operator_approves_a_held_job_and_it_runs(page: Page, console_site: Site) -> None:
    url, p = console_site.url, console_site.platform
    key = accounts.create_api_key(p, "creator").key
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    upload = api.post("/v1/uploads", files={"file": ("still.jpg", picture(), "image/jpeg")})
    assert upload.status_code == 201, upload.text
    r = api.post(
        "/v1/videos",
        json={
            "prompt": POLITICAL,
            "image_upload_id": upload.json()["id"],
            "duration": 1,
            "fps": 8,
            "resolution": "480p",
        },
    )
    assert r.status_code in (200, 201, 202), r.text
    job = r.json()
    assert job["status"] == "review" and job["moderation"]["submit"]["decision"] == "review"

    problems = collect_problems(page)
    sign_in_operator(page, url)
    page.get_by_role("link", name="Console").click()
    page.get_by_role("link", name="Review queue").click()
    item = page.locator(f"article.review:has(code:text-is('{job['id']}'))")
    expect(item).to_be_visible()
    expect(item.get_by_text(POLITICAL)).to_be_visible()
    expect(item.get_by_text("political").first).to_be_visible()
    thumb = item.get_by_role("img", name=re.compile("Input image 1"))
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")

    item_id = item.get_attribute("id")
    item.get_by_label("Reason (kept in the audit log)").fill("satire of a campaign ad: allowed")
    page.keyboard.press("Tab")  # keyboard only: from the reason to Approve
    expect(item.get_by_role("button", name="Approve")).to_be_focused()
    page.keyboard.press("Enter")
    decided = page.locator(f"#{item_id}")  # the same item, as the server swapped it in
    expect(decided.locator(".review-status")).to_contain_text("Approved")
    expect(decided.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/console/reviews$"))  # swapped in place

    # the creator's job left review: queued, then run by the worker
    deadline = time.monotonic() + 20
    seen = []
    while time.monotonic() < deadline:
        status = api.get(f"/v1/videos/{job['id']}").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("running", "succeeded"):
            break
        time.sleep(0.1)
    assert seen[-1] in ("running", "succeeded"), seen
    assert "review" not in seen
    entry = next(e for e in audit.entries(p, subject=job["id"]) if e["action"] == "review.approve")
    assert entry["data"]["note"] == "satire of a campaign ad: allowed"
    assert entry["data"]["reviewer"] == "ops"
    api.close()
    assert not problems, problems
