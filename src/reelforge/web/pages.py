"""What every web page shares: the signed-in user, the language, rendering with CSRF and
security headers, redirects, error pages and the operator check. The studio, console and
account routers (one module each) build on these and hold no logic of their own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reelforge.app.platform import Platform
from reelforge.errors import Failed, InvalidRequest, ReelforgeError, invalid_from
from reelforge.services.accounts import signin
from reelforge.services.accounts.signin import WebUser
from reelforge.web import i18n, security
from reelforge.web.i18n import N_

# Service errors shown next to a field, by their stable code; other codes show the
# service's own (English) message.
ERROR_TEXT = {
    "invalid_email": N_("Enter an e-mail address such as name@example.com."),
    "password_too_short": N_("A password needs at least 8 characters."),
    "invalid_password": N_("A password has at most 1024 characters."),
    "email_taken": N_("An account with this e-mail already exists. Sign in instead."),
    "invalid_credentials": N_("Wrong e-mail or password."),
    "signin_rate_limited": N_("Too many failed sign-ins. Wait 15 minutes and try again."),
    "wrong_password": N_("The current password is wrong."),
    "passwords_differ": N_("The two new passwords differ."),
    "invalid_label": N_("A key's label has at most 200 printable characters."),
    "csrf_failed": N_(
        "This form has expired or came from another site. Reload the page and try again."
    ),
    "not_found": N_("Not found."),
    "forbidden": N_("This page is for operators."),
    "invalid_form": N_("Check the form: a field is too long or missing."),
    "invalid_characters": N_("A field holds characters that are not allowed (control characters)."),
}

# The pages' paths: errors met on them are answered with a page, not the API's JSON.
PAGES = frozenset(
    {
        "/",
        "/signin",
        "/signup",
        "/signout",
        "/account",
        "/account/keys",
        "/account/password",
        "/console",
        "/lang",
    }
)


# Path prefixes owned by page routers (each router module adds its own with register_pages).
PAGE_PREFIXES: list[str] = ["/account/keys/"]


def register_pages(*prefixes: str) -> None:
    """Say that paths under these prefixes are pages (their errors answer with a page)."""
    PAGE_PREFIXES.extend(p for p in prefixes if p not in PAGE_PREFIXES)


def register_errors(texts: dict[str, str]) -> None:
    """Add the plain-words text (marked with N_) shown for service error codes."""
    ERROR_TEXT.update(texts)


def is_page(path: str) -> bool:
    return path in PAGES or path.startswith(tuple(PAGE_PREFIXES))


Text = Annotated[str, Form(max_length=2000)]


def platform_of(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


def language(request: Request) -> str:
    return i18n.choose(
        request.cookies.get(security.LANG_COOKIE), request.headers.get("accept-language")
    )


def current_user(request: Request) -> WebUser | None:
    return signin.session_user(platform_of(request), request.cookies.get(security.SESSION_COOKIE))


def message(request: Request, exc: ReelforgeError) -> str:
    text = ERROR_TEXT.get(exc.code)
    return i18n.gettext_for(language(request)).gettext(text) if text else exc.message


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    lang = language(request)
    context.setdefault("user", current_user(request))
    page = (
        i18n.environment(lang)
        .get_template(template)
        .render(
            request=request,
            lang=lang,
            html_lang=i18n.LANGUAGES[lang][1],
            languages=i18n.LANGUAGES,
            csrf_token=security.csrf_token(request),
            **context,
        )
    )
    return security.finish(request, HTMLResponse(page, status_code=status))


def redirect(request: Request, to: str) -> Response:
    return security.finish(request, RedirectResponse(to, status_code=303))


def form_error(exc: Exception) -> InvalidRequest:
    """A form the request's validation refused: the field by the one mapping (the API's
    and the CLI's, reelforge.errors.invalid_from), shown as `invalid_form`'s text."""
    field = invalid_from(exc, located=True).field if isinstance(exc, Failed) else None
    return InvalidRequest("check the form", code="invalid_form", field=field)


def error_page(request: Request, status: int, exc: ReelforgeError) -> Response:
    return render(request, "error.html", status=status, message=message(request, exc))


def require_user(request: Request) -> WebUser | Response:
    """The signed-in user, or a redirect to the sign-in page."""
    user = current_user(request)
    return user if user is not None else redirect(request, "/signin")


def require_operator(request: Request) -> WebUser | Response:
    """The signed-in operator; a redirect to sign in, or 403 for a creator (checked here, on
    the server, whatever the page shows)."""
    user = current_user(request)
    if user is None:
        return redirect(request, "/signin")
    if not user.is_operator:
        text = i18n.gettext_for(language(request)).gettext(ERROR_TEXT["forbidden"])
        return render(request, "error.html", status=403, message=text)
    return user


def translate(request: Request, text: str) -> str:
    return i18n.gettext_for(language(request)).gettext(text)
