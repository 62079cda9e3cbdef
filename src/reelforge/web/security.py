"""HTTP-level protections of the web pages: cookies, CSRF and response headers.

CSRF: a double-submit token. Each browser gets a random `rf_csrf` cookie (HttpOnly,
SameSite=Lax); every page renders the same value into its forms (`csrf_token`) and into
htmx's request header (`X-CSRF-Token`). A state-changing request is refused unless the two
match and, where the browser sends an Origin header, the origin is this site. The token is
replaced at sign-in and sign-out, as the session is."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from reelforge.errors import Forbidden

SESSION_COOKIE = "rf_session"
CSRF_COOKIE = "rf_csrf"
LANG_COOKIE = "rf_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# All JavaScript comes from /static/web files; no inline script, style or event handler.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def secure_cookies(request: Request) -> bool:
    mode = request.app.state.platform.settings.web_cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: its cookie's, or a new one the response will set."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        return str(new)
    token = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(token) <= 100 and token.isascii():
        return token
    request.state.new_csrf = secrets.token_urlsafe(32)
    return str(request.state.new_csrf)


def rotate_csrf(request: Request) -> str:
    request.state.new_csrf = secrets.token_urlsafe(32)
    return str(request.state.new_csrf)


def finish(request: Request, response: Response) -> Response:
    """The headers every page carries, and the CSRF cookie when a new token was made."""
    response.headers.update(HEADERS)
    new = getattr(request.state, "new_csrf", None)
    if new:
        set_cookie(request, response, CSRF_COOKIE, str(new))
    return response


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # older browsers and non-browser clients: the token alone decides
    ours = {f"{request.url.scheme}://{request.url.netloc}"}
    public = urlsplit(request.app.state.platform.settings.public_url)
    ours.add(f"{public.scheme}://{public.netloc}")
    return origin in ours


async def csrf_protect(request: Request) -> None:
    """Router dependency: refuse a state-changing request without a matching token."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if (
        not cookie
        or not sent
        or not _same_origin(request)
        or not hmac.compare_digest(cookie.encode(), sent.encode())
    ):
        raise Forbidden(
            "this form has expired or came from another site; reload the page and try again",
            code="csrf_failed",
        )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
