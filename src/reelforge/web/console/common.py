"""What the console's pages share: the router (CSRF on every state-changing request), the
operator check and the plain-words texts of the service errors they show."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from reelforge.errors import InvalidCharacters
from reelforge.services.accounts.signin import WebUser
from reelforge.services.billing import reports
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


# The API's edge rule (api/validation.py) for the console's form fields, which that app-wide
# check does not read: no control character (free text keeps tab and newlines), no lone
# surrogate, and outside free text no invisible format character; 422 invalid_characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def checked(value: str, field: str, *, free_text: bool = False) -> str:
    """`value` if the edge rule allows it; else InvalidCharacters naming `field`."""
    if (_CONTROL_IN_TEXT if free_text else _CONTROL).search(value) or (
        not free_text and any(ord(c) > 0x7F and unicodedata.category(c) == "Cf" for c in value)
    ):
        raise InvalidCharacters(
            f"{field} must not contain control or invisible format characters", field=field
        )
    return value
