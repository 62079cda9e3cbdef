"""/console/likeness: the likeness consent registry — enrol a person from photos (each with
exactly one face), grant consent to an account or to everyone, revoke it
(services.governance.likeness, as /v1/admin/likeness; each change is audited there)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from reelforge.errors import InvalidRequest, PayloadTooLarge, ReelforgeError
from reelforge.services.accounts.signin import WebUser
from reelforge.services.governance import likeness
from reelforge.services.jobs import edge
from reelforge.web.console.common import checked, console_router, operator
from reelforge.web.pages import Text, message, platform_of, redirect, render

router = console_router()

MAX_PHOTOS = 10


def _page(request: Request, status: int = 200, **extra: Any) -> Response:
    extra.setdefault("errors", {})
    extra.setdefault("form", {})
    return render(
        request,
        "console/likeness.html",
        status=status,
        section="likeness",
        people=likeness.list_people(platform_of(request)),
        everyone=likeness.EVERYONE,
        **extra,
    )


@router.get("/console/likeness")
def likeness_page(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    return _page(request)


async def _photos(request: Request, limit: int) -> tuple[str, bool, list[bytes]]:
    """The enrolment form: name, public figure, photos (sizes checked before reading)."""
    form = await request.form()  # parsed once (the CSRF check read it first)
    files = [f for f in form.getlist("photo") if isinstance(f, UploadFile) and f.filename]
    if len(files) > MAX_PHOTOS:
        raise InvalidRequest(f"enrol at most {MAX_PHOTOS} photos at a time", field="photos")
    photos = []
    for f in files:
        if f.size is not None and f.size > limit:
            raise PayloadTooLarge(
                f"{f.filename}: a photo is limited to {limit} bytes", field="photos"
            )
        data = await f.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(
                f"{f.filename}: a photo is limited to {limit} bytes", field="photos"
            )
        photos.append(data)
    name = form.get("name")
    public = form.get("public_figure")
    if not isinstance(name, str) or (public is not None and not isinstance(public, str)):
        raise InvalidRequest("name must be text", field="name")
    edge.check_text(checked(name, "name").strip(), "name", 200)
    for f in files:
        edge.check_filename(f.filename or "", "photos")  # the API's rule for file names
    return name, public in ("1", "true", "on", "yes"), photos


@router.post("/console/likeness")
async def enrol(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    p = platform_of(request)
    name = ""
    try:
        name, public, photos = await _photos(request, p.settings.max_upload_bytes)
        person = await run_in_threadpool(
            likeness.enroll,
            p,
            name,
            photos,
            public_figure=public,
            actor=f"reviewer:{user.account.id}",
        )
    except ReelforgeError as exc:
        field = exc.field if exc.field in ("name", "photos") else "photos"
        text = message(request, exc)
        return _page(
            request,
            status=exc.http_status,
            form={"name": name},
            errors={field: text},
            # which photo and why, in the service's words, under the plain-words line
            detail=exc.message if exc.message != text else None,
        )
    return _page(request, status=201, enrolled=person)


def _consent(request: Request, person_id: str, account: str, give: bool) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    change = likeness.grant if give else likeness.revoke
    try:
        change(
            platform_of(request),
            person_id,
            checked(account, "account").strip() or None,  # empty: everyone
            actor=f"reviewer:{user.account.id}",
        )
    except ReelforgeError as exc:
        return _page(request, status=exc.http_status, errors={person_id: message(request, exc)})
    return redirect(request, f"/console/likeness#{person_id}")


@router.post("/console/likeness/{person_id}/grant")
def grant(request: Request, person_id: str, account: Text = "") -> Response:
    return _consent(request, person_id, account, True)


@router.post("/console/likeness/{person_id}/revoke")
def revoke(request: Request, person_id: str, account: Text = "") -> Response:
    return _consent(request, person_id, account, False)
