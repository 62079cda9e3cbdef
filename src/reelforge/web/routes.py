"""The web pages: each route reads the form, calls a service and renders a template.
Sign-in logic lives in services.accounts.signin, the fleet's figures in services.ops.fleet."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reelforge.app.platform import Platform
from reelforge.errors import ReelforgeError
from reelforge.services.accounts import signin
from reelforge.services.accounts.signin import WebUser
from reelforge.services.ops import fleet
from reelforge.web import i18n, security
from reelforge.web.i18n import N_

router = APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])

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


def is_page(path: str) -> bool:
    return path in PAGES or (path.startswith("/account/keys/") and path.endswith("/revoke"))


Text = Annotated[str, Form(max_length=2000)]


def _platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


def _lang(request: Request) -> str:
    return i18n.choose(
        request.cookies.get(security.LANG_COOKIE), request.headers.get("accept-language")
    )


def _user(request: Request) -> WebUser | None:
    return signin.session_user(_platform(request), request.cookies.get(security.SESSION_COOKIE))


def message(request: Request, exc: ReelforgeError) -> str:
    text = ERROR_TEXT.get(exc.code)
    return i18n.gettext_for(_lang(request)).gettext(text) if text else exc.message


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    lang = _lang(request)
    context.setdefault("user", _user(request))
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


def _signed_in(request: Request, session: signin.NewSession, to: str) -> Response:
    response = redirect(request, to)
    security.set_cookie(
        request,
        response,
        security.SESSION_COOKIE,
        session.token,
        max_age=int(signin.SESSION_TTL.total_seconds()),
    )
    return response


def error_page(request: Request, status: int, exc: ReelforgeError) -> Response:
    return render(request, "error.html", status=status, message=message(request, exc))


@router.get("/")
def home(request: Request) -> Response:
    return redirect(request, "/account" if _user(request) else "/signin")


@router.get("/signin")
def signin_page(request: Request) -> Response:
    if _user(request):
        return redirect(request, "/account")
    return render(request, "signin.html", email="", error=None)


@router.post("/signin")
def signin_submit(request: Request, email: Text = "", password: Text = "") -> Response:
    p = _platform(request)
    try:
        session = signin.sign_in(
            p,
            email,
            password,
            ip=security.client_ip(request),
            old_token=request.cookies.get(security.SESSION_COOKIE),
        )
    except ReelforgeError as exc:
        return render(
            request, "signin.html", status=exc.http_status, email=email, error=message(request, exc)
        )
    security.rotate_csrf(request)
    return _signed_in(request, session, "/account")


@router.get("/signup")
def signup_page(request: Request) -> Response:
    return render(request, "signup.html", email="", errors={})


@router.post("/signup")
def signup_submit(request: Request, email: Text = "", password: Text = "") -> Response:
    try:
        session = signin.sign_up(_platform(request), email, password)
    except ReelforgeError as exc:
        return render(
            request,
            "signup.html",
            status=exc.http_status,
            email=email,
            errors={exc.field or "email": message(request, exc)},
        )
    security.rotate_csrf(request)
    return _signed_in(request, session, "/account")


@router.post("/signout")
def signout(request: Request) -> Response:
    signin.sign_out(_platform(request), request.cookies.get(security.SESSION_COOKIE))
    security.rotate_csrf(request)
    response = redirect(request, "/signin")
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


def _account(request: Request, user: WebUser, status: int = 200, **extra: Any) -> Response:
    keys = signin.list_keys(_platform(request), user.account.id)
    extra.setdefault("errors", {})
    return render(request, "account.html", status=status, user=user, keys=keys, **extra)


@router.get("/account")
def account(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return redirect(request, "/signin")
    return _account(request, user)


@router.post("/account/keys")
def create_key(request: Request, label: Text = "") -> Response:
    user = _user(request)
    if user is None:
        return redirect(request, "/signin")
    try:
        new = signin.create_key(_platform(request), user, label)
    except ReelforgeError as exc:
        return _account(
            request, user, status=exc.http_status, errors={"label": message(request, exc)}
        )
    # the secret is in this response only: never stored, never shown again
    return _account(request, user, new_key=new, status=201)


@router.post("/account/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: str) -> Response:
    user = _user(request)
    if user is None:
        return redirect(request, "/signin")
    try:
        signin.revoke_key(_platform(request), user.account.id, key_id)
    except ReelforgeError as exc:
        return error_page(request, exc.http_status, exc)
    if request.headers.get("hx-request"):  # htmx swaps the key's row
        key = next(
            k for k in signin.list_keys(_platform(request), user.account.id) if k["id"] == key_id
        )
        return render(request, "key_row.html", key=key)
    return redirect(request, "/account")


@router.get("/account/password")
def password_page(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return redirect(request, "/signin")
    return render(request, "password.html", errors={}, done=False)


@router.post("/account/password")
def password_submit(
    request: Request,
    current_password: Text = "",
    new_password: Text = "",
    new_password_again: Text = "",
) -> Response:
    user = _user(request)
    if user is None:
        return redirect(request, "/signin")
    if new_password != new_password_again:
        text = i18n.gettext_for(_lang(request)).gettext(ERROR_TEXT["passwords_differ"])
        return render(
            request, "password.html", status=422, done=False, errors={"new_password_again": text}
        )
    try:
        session = signin.change_password(_platform(request), user, current_password, new_password)
    except ReelforgeError as exc:
        return render(
            request,
            "password.html",
            status=exc.http_status,
            done=False,
            errors={exc.field or "current_password": message(request, exc)},
        )
    security.rotate_csrf(request)
    response = render(request, "password.html", done=True, errors={})
    security.set_cookie(
        request,
        response,
        security.SESSION_COOKIE,
        session.token,
        max_age=int(signin.SESSION_TTL.total_seconds()),
    )
    return response


@router.get("/console")
def console_page(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return redirect(request, "/signin")
    if not user.is_operator:
        return render(
            request,
            "error.html",
            status=403,
            message=i18n.gettext_for(_lang(request)).gettext(ERROR_TEXT["forbidden"]),
        )
    return render(request, "console.html", fleet=fleet.fleet(_platform(request)))


@router.post("/lang")
def set_language(request: Request, lang: Text = "", next: Text = "/") -> Response:
    # only a path on this site: never an open redirect
    parts = urlsplit(next)
    target = (
        next
        if (
            next.startswith("/")
            and not next.startswith("//")
            and not parts.scheme
            and not parts.netloc
            and "\\" not in next
        )
        else "/"
    )
    response = redirect(request, target)
    if lang in i18n.LANGUAGES:
        security.set_cookie(request, response, security.LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    return response
