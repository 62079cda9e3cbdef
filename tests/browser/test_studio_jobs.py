"""The studio's other paths in a real browser: cancel a running job (a slowed worker) and see
that nothing was charged; keyboard-only use of the create form (Tab, Space on the file
field, typing, Enter) on a prompt the policy blocks, whose page gives the reason in plain
words and takes an appeal, also by keyboard; a held job's page follows a reviewer's approval
live, through to the finished video."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import FileChooser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.studio_server import Served, photo, poll, sign_up, watch_problems
from tests.browser.studio_server import studio_server as studio_server  # the fixture

BLOCKED_PROMPT = "a graphic video of a man being beheaded, blood everywhere"
HELD_PROMPT = "a protest march for better school funding, peaceful"  # the policy's review band


def test_cancel_a_running_job(
    page: Page, studio_server: Callable[..., str], tmp_path: Path
) -> None:
    url = studio_server(motion_frame_delay=0.25)  # 72 frames: 18 s unless cancelled
    problems = watch_problems(page)
    sign_up(page, url, "canceller@example.com")
    page.goto(url + "/studio")
    page.get_by_label("First frame image (JPEG, PNG or WebP)").set_input_files(
        photo(tmp_path / "street.jpg")
    )
    page.get_by_label("Prompt", exact=True).fill("pan right along a street")
    page.get_by_label("Duration (seconds)").fill("3")
    page.get_by_label("Resolution").select_option("480p")
    page.get_by_role("button", name="Generate video").click()
    expect(page).to_have_url(re.compile(r"/videos/vid_[0-9a-z]+$"))
    poll(page, "document.getElementById('progress').dataset.stage === 'render'")
    expect(page.locator("#status-text")).to_have_text("Running")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status-text")).to_have_text("Cancelled", timeout=10_000)
    expect(page.locator("#reason")).to_have_text("No credits were charged.")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator("#credits-charged")).to_have_text("0")
    page.reload()  # the server says so too
    expect(page.locator("#status-text")).to_have_text("Cancelled")
    assert not problems, problems


def tab_to(page: Page, element_id: str, most: int = 40) -> None:
    """Press Tab until the element has the focus (keyboard only)."""
    for _ in range(most):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


def open_file_chooser(page: Page, element_id: str, tries: int = 3) -> FileChooser:
    """Tab to a file input and press Space, as a keyboard user opens it. On a loaded machine
    Chromium has let a press go by without a chooser (seen once in CI, 30 s waited): the
    press is tried again, the input focused again first."""
    for attempt in range(tries):
        tab_to(page, element_id)
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def test_keyboard_only_submit_of_a_blocked_prompt_and_its_appeal(
    page: Page, studio_server: Callable[..., str], tmp_path: Path
) -> None:
    url = studio_server()
    problems = watch_problems(page)
    sign_up(page, url, "keys@example.com")
    page.goto(url + "/studio")
    open_file_chooser(page, "image").set_files(photo(tmp_path / "photo.jpg"))
    expect(page.locator("#image-preview")).to_be_visible()
    tab_to(page, "prompt")
    page.keyboard.type(BLOCKED_PROMPT)
    tab_to(page, "submit")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/videos/vid_[0-9a-z]+$"))

    expect(page.locator("#status-text")).to_have_text("Blocked")
    expect(page.get_by_role("heading", name="This video was blocked")).to_be_visible()
    expect(page.locator("#reason")).to_contain_text("violence or gore")
    expect(page.get_by_text("No credits were charged.")).to_be_visible()
    tab_to(page, "appeal_message")
    page.keyboard.type("A history documentary; the scene is not shown.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send appeal"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="A person is reviewing this video")).to_be_visible()
    expect(page.locator("#status-text")).to_have_text("Held for review")
    assert not problems, problems


def test_a_held_job_page_follows_the_reviewers_approval(
    page: Page, studio_server: Callable[..., Served], tmp_path: Path
) -> None:
    from reelforge.domain.account import AccountRef
    from reelforge.services.governance import reviews

    url = studio_server()
    problems = watch_problems(page)
    sign_up(page, url, "held@example.com")
    page.goto(url + "/studio")
    page.get_by_label("First frame image (JPEG, PNG or WebP)").set_input_files(
        photo(tmp_path / "march.jpg")
    )
    page.get_by_label("Prompt", exact=True).fill(HELD_PROMPT)
    page.get_by_label("Duration (seconds)").fill("1")
    page.get_by_label("Resolution").select_option("480p")
    page.get_by_role("button", name="Generate video").click()
    expect(page).to_have_url(re.compile(r"/videos/vid_[0-9a-z]+$"))
    expect(page.locator("#status-text")).to_have_text("Held for review")
    expect(page.get_by_role("heading", name="A person is reviewing this video")).to_be_visible()
    expect(page.locator("#reason")).to_contain_text("political or election content")
    poll(page, "document.getElementById('progress').dataset.events")  # the page listens

    (pending,) = reviews.list_reviews(url.platform)  # what the console's approve button calls
    reviewer = AccountRef("op", "operator", is_admin=True)
    reviews.decide(url.platform, pending["id"], approve=True, reviewer=reviewer)

    expect(page.locator("#status-text")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#percent")).to_have_text("100 %")
    expect(page.locator("#player")).to_be_visible()
    expect(page.get_by_role("heading", name="A person is reviewing this video")).to_have_count(0)
    assert not problems, problems
