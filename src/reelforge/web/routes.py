"""The sign-in, account and language pages: each route reads the form, calls a service and
renders a template (shared helpers in web.pages). Sign-in logic lives in
services.accounts.signin; the console is web.console."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from reelforge.errors import ReelforgeError
from reelforge.services.accounts import signin
from reelforge.services.accounts.signin import WebUser
from reelforge.web import i18n, security
from reelforge.web.pages import (
    ERROR_TEXT,
    Text,
    current_user,
    error_page,
    language,
    message,
    platform_of,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])


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


@router.get("/")
def home(request: Request) -> Response:
    return redirect(request, "/studio" if current_user(request) else "/signin")


@router.get("/signin")
def signin_page(request: Request) -> Response:
    if current_user(request):
        return redirect(request, "/account")
    return render(request, "signin.html", email="", error=None)


@router.post("/signin")
def signin_submit(request: Request, email: Text = "", password: Text = "") -> Response:
    p = platform_of(request)
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
        session = signin.sign_up(platform_of(request), email, password)
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
    signin.sign_out(platform_of(request), request.cookies.get(security.SESSION_COOKIE))
    security.rotate_csrf(request)
    response = redirect(request, "/signin")
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


def _account(request: Request, user: WebUser, status: int = 200, **extra: Any) -> Response:
    keys = signin.list_keys(platform_of(request), user.account.id)
    extra.setdefault("errors", {})
    return render(request, "account.html", status=status, user=user, keys=keys, **extra)


@router.get("/account")
def account(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return redirect(request, "/signin")
    return _account(request, user)


@router.post("/account/keys")
def create_key(request: Request, label: Text = "") -> Response:
    user = current_user(request)
    if user is None:
        return redirect(request, "/signin")
    try:
        new = signin.create_key(platform_of(request), user, label)
    except ReelforgeError as exc:
        return _account(
            request, user, status=exc.http_status, errors={"label": message(request, exc)}
        )
    # the secret is in this response only: never stored, never shown again
    return _account(request, user, new_key=new, status=201)


@router.post("/account/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: str) -> Response:
    user = current_user(request)
    if user is None:
        return redirect(request, "/signin")
    try:
        signin.revoke_key(platform_of(request), user.account.id, key_id)
    except ReelforgeError as exc:
        return error_page(request, exc.http_status, exc)
    if request.headers.get("hx-request"):  # htmx swaps the key's row
        key = next(
            k for k in signin.list_keys(platform_of(request), user.account.id) if k["id"] == key_id
        )
        return render(request, "key_row.html", key=key)
    return redirect(request, "/account")


@router.get("/account/password")
def password_page(request: Request) -> Response:
    user = current_user(request)
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
    user = current_user(request)
    if user is None:
        return redirect(request, "/signin")
    if new_password != new_password_again:
        text = i18n.gettext_for(language(request)).gettext(ERROR_TEXT["passwords_differ"])
        return render(
            request, "password.html", status=422, done=False, errors={"new_password_again": text}
        )
    try:
        session = signin.change_password(platform_of(request), user, current_password, new_password)
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
