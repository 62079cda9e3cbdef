"""The likeness registry in the console: an operator enrols a person from a photo (a real
face, checked by the face detector), grants consent to an account and revokes it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from reelforge.services.accounts import accounts
from reelforge.services.governance import likeness
from tests.browser.console_server import Site, collect_problems, console_site, sign_in_operator
from tests.governance.test_moderated_jobs import ASTRONAUT

__all__ = ["console_site"]  # the fixture, used by name


def test_enrol_from_a_photo_then_grant_and_revoke(page: Page, console_site: Site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, p = console_site.url, console_site.platform
    acme = accounts.ensure_account(p, "acme")
    photo = tmp_path / "collins.jpg"
    photo.write_bytes(ASTRONAUT)
    problems = collect_problems(page)
    sign_in_operator(page, url)
    page.goto(url + "/console/likeness")

    page.get_by_label("Name", exact=True).fill("Eileen Collins")
    page.get_by_label("Photos (each with exactly one face)").set_input_files(str(photo))
    page.get_by_label("Public figure").check()
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("status")).to_contain_text("Enrolled Eileen Collins from 1 photos")
    row = page.get_by_role("row", name=re.compile("Eileen Collins"))
    expect(row).to_contain_text("nobody")
    (person,) = likeness.list_people(p)
    assert person["faces"] == 1 and person["public_figure"] and person["consent"] == []

    row.get_by_label(re.compile("^Account")).fill("acme")
    row.get_by_role("button", name="Grant").click()
    row = page.get_by_role("row", name=re.compile("Eileen Collins"))
    expect(row).to_contain_text(acme.id)
    row.get_by_label(re.compile("^Account")).fill("acme")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row", name=re.compile("Eileen Collins"))).to_contain_text("nobody")
    assert likeness.list_people(p)[0]["consent"] == []
    assert not problems, problems
