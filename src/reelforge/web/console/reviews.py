"""/console/reviews: the review queue — jobs the policy held and blocked jobs a user appealed,
each with its prompt, input images, the sampled output frames and the moderation signals;
approve or reject with a reason (services.governance.reviews, as /v1/admin/reviews; every
decision is written to the audit log there)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from reelforge.errors import ReelforgeError
from reelforge.services.accounts.signin import WebUser
from reelforge.services.governance import review_media, reviews
from reelforge.web import security
from reelforge.web.console.common import checked, console_router, operator
from reelforge.web.pages import Text, error_page, message, platform_of, redirect, render

router = console_router()

JPEG_HEADERS = {"cache-control": "private, max-age=300"}


def _queue(request: Request, status: str) -> list[dict[str, Any]]:
    p = platform_of(request)
    return [review_media.review_detail(p, r["id"]) for r in reviews.list_reviews(p, status)]


@router.get("/console/reviews")
def reviews_page(request: Request, status: str = "pending") -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    try:
        items = _queue(request, status)
    except ReelforgeError as exc:
        return error_page(request, exc.http_status, exc)
    return render(
        request,
        "console/reviews.html",
        section="reviews",
        items=items,
        shown=status,
        statuses=reviews.STATUSES,
        errors={},
    )


def _image(request: Request, data: bytes) -> Response:
    response = Response(data, media_type="image/jpeg", headers=JPEG_HEADERS)
    security.finish(request, response)
    response.headers["cache-control"] = JPEG_HEADERS["cache-control"]
    return response


@router.get("/console/reviews/{review_id}/inputs/{index}.jpg")
def review_input(request: Request, review_id: str, index: int) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    return _image(request, review_media.review_image(platform_of(request), review_id, index))


@router.get("/console/reviews/{review_id}/frames/{index}.jpg")
def review_frame(request: Request, review_id: str, index: int) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    return _image(request, review_media.review_frame(platform_of(request), review_id, index))


def _decide(request: Request, review_id: str, approve: bool, note: str) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    p = platform_of(request)
    errors: dict[str, str] = {}
    try:
        note = checked(note, "note", free_text=True).strip()
        reviews.decide(p, review_id, approve=approve, reviewer=user.account, note=note or None)
    except ReelforgeError as exc:
        if not request.headers.get("hx-request"):
            return error_page(request, exc.http_status, exc)
        errors = {review_id: message(request, exc)}
    if request.headers.get("hx-request"):  # htmx swaps the item with its decided state
        item = review_media.review_detail(p, review_id)
        return render(request, "console/review_item.html", item=item, errors=errors)
    return redirect(request, "/console/reviews")


@router.post("/console/reviews/{review_id}/approve")
def approve(request: Request, review_id: str, note: Text = "") -> Response:
    return _decide(request, review_id, True, note)


@router.post("/console/reviews/{review_id}/reject")
def reject(request: Request, review_id: str, note: Text = "") -> Response:
    return _decide(request, review_id, False, note)
