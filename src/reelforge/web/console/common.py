"""What the console's pages share: the router (CSRF on every state-changing request), the
operator check and the plain-words texts of the service errors they show."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from reelforge.services.accounts.signin import WebUser
from reelforge.services.billing import reports
from reelforge.services.jobs import edge
from reelforge.web import security
from reelforge.web.i18n import N_
from reelforge.web.pages import register_errors, require_operator

register_errors(
    {
        "review_not_found": N_("This review does not exist."),
        "review_decided": N_("Another operator has already decided this review."),
        "person_not_found": N_("This person is not in the likeness registry."),
        "account_not_found": N_("No account has this name or id."),
        "no_single_face": N_("Each photo must show exactly one face."),
        "invalid_model_name": N_(
            "A model name uses lower-case letters, digits, '.', '_' or '-' (not 'motion')."
        ),
        "model_exists": N_("A model with this name is already registered."),
        "model_not_found": N_("No model has this name."),
    }
)


def console_router() -> APIRouter:
    return APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])


def operator(request: Request) -> WebUser | Response:
    """The signed-in operator, or the response for anyone else (sign in, or 403)."""
    return require_operator(request)


def when(value: str | None, field: str) -> datetime | None:
    """A date or date-time from a filter form (YYYY-MM-DD: midnight UTC), as the API reads it."""
    return reports.parse_when(value, field)


def checked(value: str, field: str, *, free_text: bool = False) -> str:
    """`value` if the edge rule (services/jobs/edge.py, the API's) allows it — no control
    character (free text keeps tab and newlines), no lone surrogate, and outside free text no
    invisible format character; else 422 `invalid_characters` naming `field`. The console's
    form fields are checked here: the API's app-wide check does not read forms."""
    return edge.check_string(value, field, free_text=free_text)
