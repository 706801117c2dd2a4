"""Staff sign-in: the login page, logout, the staff token endpoint and the start page."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from gateway.db import writer
from gateway.deps import SettingsDep
from gateway.settings import Settings
from gateway.staff.audit import audit_sink, record_staff_event
from gateway.staff.deps import LoginRequired, OptionalStaff, PageForbidden, StaffPage
from gateway.staff.sessions import (
    SESSION_COOKIE,
    end_session,
    idle_timeout,
    resolve_session,
    secure_cookies,
    start_session,
    tokens_match,
)
from gateway.staff.tokens import issue_staff_token
from gateway.web.pages import STATIC_DIR, render
from gateway.web.security import SecurityHeaders
from provider_registry.staff import LoginRefused, StaffUser, authenticate

router = APIRouter()

LOGIN_CSRF_COOKIE = "claimgw_login_csrf"
LOGIN_CSRF_MAX_AGE = 2 * 3600
REFUSED = {
    "en": "The username or password is not right.",
    "th": "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
}
EXPIRED = {
    "en": "The sign-in form expired. Enter your details again.",
    "th": "แบบฟอร์มหมดอายุ กรุณากรอกข้อมูลอีกครั้ง",
}
PAGE_LINKS = (
    ("/review", "Review queue", "คิวตรวจสอบ", {"reviewer", "supervisor", "auditor"}),
    ("/review/supervisor", "Supervisor overview", "ภาพรวมหัวหน้างาน", {"supervisor", "auditor"}),
    ("/payments", "Payments", "การจ่ายเงิน", {"finance", "auditor"}),
)
TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "RFC 6749 error: invalid_request, unsupported_grant_type, invalid_grant"}
}


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        settings.token_secret.get_secret_value(), salt="claimgw-login-csrf"
    )


def safe_next(target: str | None) -> str:
    """A same-site relative path to return to after signing in; `/` for anything else."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return "/"
    if parts.path in ("/login", "/logout"):
        return "/"
    return target


def _login_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(nonce) != 43:
        nonce = secrets.token_urlsafe(32)
    context = {
        "login_csrf": _serializer(settings).dumps(nonce),
        "next": next_path,
        "username": username,
        "errors": errors or {},
    }
    response = render(request, "login.html", context, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        max_age=LOGIN_CSRF_MAX_AGE,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )
    return response


def _login_csrf_ok(request: Request, settings: Settings, token: str) -> bool:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not nonce or not token:
        return False
    try:
        signed = _serializer(settings).loads(token, max_age=LOGIN_CSRF_MAX_AGE)
    except BadData:
        return False
    return isinstance(signed, str) and hmac.compare_digest(signed.encode(), nonce.encode())


@router.get("/login", include_in_schema=False)
def login_form(request: Request, _staff: OptionalStaff, next: str = "/") -> Response:
    """The sign-in form."""
    return _login_page(request, next_path=safe_next(next))


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the form, sign in, start a session and go back to `next`."""
    username, next_path = username.strip().lower(), safe_next(next)
    errors = _form_errors(username, password)
    if not _login_csrf_ok(request, settings, csrf_token):
        errors = {"form": EXPIRED}
    if errors:
        return _login_page(
            request, next_path=next_path, username=username, errors=errors, status_code=400
        )
    engine: Engine = request.app.state.engine
    source = f"web {request.client.host if request.client else '-'}"
    try:
        token = await run_in_threadpool(
            _sign_in,
            engine,
            settings,
            username=username,
            password=password,
            source=source,
            previous=request.cookies.get(SESSION_COOKIE),
        )
    except LoginRefused:
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            errors={"password": REFUSED},
            status_code=400,
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _form_errors(username: str, password: str) -> dict[str, dict[str, str]]:
    errors: dict[str, dict[str, str]] = {}
    if not username:
        errors["username"] = {"en": "Enter your username.", "th": "กรุณากรอกชื่อผู้ใช้"}
    if not password:
        errors["password"] = {"en": "Enter your password.", "th": "กรุณากรอกรหัสผ่าน"}
    return errors


def _check_password(engine: Engine, *, username: str, password: str, source: str) -> StaffUser:
    """authenticate() in its own writing session, its events in the audit trail."""
    with Session(writer(engine), expire_on_commit=False) as session:
        return authenticate(
            session,
            username=username,
            password=password,
            source=source,
            audit=audit_sink(session),
        )


def _sign_in(
    engine: Engine,
    settings: Settings,
    *,
    username: str,
    password: str,
    source: str,
    previous: str | None,
) -> str:
    """A new session for the account (never the browser's old one: no session fixation)."""
    user = _check_password(engine, username=username, password=password, source=source)
    with Session(writer(engine), expire_on_commit=False) as session:
        if previous:
            end_session(session, previous)
        token = start_session(session, username=user.username, idle=idle_timeout(settings))
        session.commit()
    return token


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request, settings: SettingsDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """End the session on the server, forget the cookie, go to the sign-in page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    engine: Engine = request.app.state.engine
    if cookie:
        active = await run_in_threadpool(
            resolve_session, engine, cookie, idle=idle_timeout(settings)
        )
        given = csrf_token or request.headers.get("x-csrf-token")
        if active is not None and not tokens_match(active.csrf_token, given):
            raise PageForbidden(
                "This sign-out form did not come from this site. Use the Sign out button.",
                "แบบฟอร์มออกจากระบบไม่ได้มาจากเว็บไซต์นี้ กรุณากดปุ่มออกจากระบบ",
            )
        await run_in_threadpool(_end, engine, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(settings)
    )
    return response


def _end(engine: Engine, cookie: str) -> None:
    with Session(writer(engine), expire_on_commit=False) as session:
        username = end_session(session, cookie)
        if username is not None:
            record_staff_event(
                session, actor=username, action="staff.logout", username=username, detail={}
            )
        session.commit()


@router.get("/", include_in_schema=False)
def home(request: Request, principal: StaffPage) -> Response:
    """The start page: who is signed in and the pages of their role."""
    links = [
        {"href": href, "en": en, "th": th}
        for href, en, th, roles in PAGE_LINKS
        if principal.role.value in roles
    ]
    return render(request, "home.html", {"links": links})


@router.post("/api/auth/token", tags=["staff"], responses=TOKEN_RESPONSES)
async def staff_token(
    request: Request,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    grant_type: Annotated[str, Form()] = "password",
) -> JSONResponse:
    """OAuth2 password grant for staff scripts: a bearer token for the staff API (≤ 15 min)."""
    if grant_type != "password":
        return _oauth_error("unsupported_grant_type", "grant_type must be password")
    if not username or not password:
        return _oauth_error("invalid_request", "username and password are required")
    engine: Engine = request.app.state.engine
    try:
        user = await run_in_threadpool(
            _check_password,
            engine,
            username=username.strip().lower(),
            password=password,
            source=f"token {request.client.host if request.client else '-'}",
        )
    except LoginRefused:
        return _oauth_error("invalid_grant", "the username or password is not right")
    ttl = settings.staff_token_ttl_seconds
    token = issue_staff_token(
        secret=settings.token_secret.get_secret_value(),
        base_url=settings.base_url,
        username=user.username,
        role=user.role,
        ttl=ttl,
    )
    return JSONResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": ttl},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)


async def _page_forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    context = {"message_en": exc.message_en, "message_th": exc.message_th}
    return render(request, "forbidden.html", context, status_code=403)


def install_staff_web(app: FastAPI) -> None:
    """Sign-in routes, page error handlers, packaged static assets and security headers."""
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _page_forbidden)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
