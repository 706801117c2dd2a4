"""Staff principals for routes: `StaffApi` for JSON under /api, `StaffPage` for HTML pages.

Both read the roles a route admits from `gateway/access.py` by method and path template.
Credentials are a staff Bearer token or the session cookie; unsafe methods with a session
cookie must carry its CSRF token (`X-CSRF-Token` header or `csrf_token` form field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.routing import iter_route_contexts
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from gateway.access import HOSPITAL, allowed_principals
from gateway.auth.tokens import TokenError, read_access_token
from gateway.fhir.responses import http_problem
from gateway.settings import Settings
from gateway.staff.sessions import (
    SESSION_COOKIE,
    ActiveSession,
    idle_timeout,
    resolve_session,
    tokens_match,
)
from gateway.staff.tokens import read_staff_token
from provider_registry.staff import Role, StaffRepository

log = structlog.get_logger("claimgw.staff")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Documents the staff token in OpenAPI (the Authorize button of /docs); reading is done below.
staff_token_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token", scheme_name="StaffToken", auto_error=False
)


@dataclass(frozen=True)
class StaffPrincipal:
    """A signed-in staff user, and whether the request came with a session or a token."""

    username: str
    role: Role
    via: Literal["session", "token"]


class LoginRequired(Exception):
    """A page needs a signed-in user; answered with 303 to /login?next=…"""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """A page the caller may not use (wrong role, hospital token, missing CSRF token)."""

    def __init__(self, message_en: str, message_th: str) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_th = message_th


@dataclass(frozen=True, slots=True)
class _Caller:
    """What the request's credentials turned out to be."""

    kind: Literal["none", "invalid", "hospital", "staff"]
    principal: StaffPrincipal | None = None
    csrf_token: str | None = None


def route_template(request: Request) -> str:
    """The matched route's path template with any include prefix: /review/claims/{claim_id}."""
    route = request.scope.get("route")
    templates = _templates(request.app)
    return templates.get(id(route)) or str(getattr(route, "path", request.url.path))


def _templates(app: FastAPI) -> dict[int, str]:
    cached: dict[int, str] | None = getattr(app.state, "route_templates", None)
    if cached is None:
        cached = {}
        for context in iter_route_contexts(app.routes):
            if context.path is not None:
                cached.setdefault(id(context.original_route), context.path)
        app.state.route_templates = cached
    return cached


async def _caller(request: Request) -> _Caller:
    """Resolve the request's credentials once; cached on request.state."""
    cached: _Caller | None = getattr(request.state, "staff_caller", None)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        caller = await run_in_threadpool(_bearer_caller, engine, settings, token.strip())
    elif cookie := request.cookies.get(SESSION_COOKIE):
        active = await run_in_threadpool(
            resolve_session, engine, cookie, idle=idle_timeout(settings)
        )
        caller = _session_caller(active)
    else:
        caller = _Caller("none")
    request.state.staff_caller = caller
    if caller.principal is not None:
        request.state.staff_principal = caller.principal
        request.state.csrf_token = caller.csrf_token
    return caller


def _session_caller(active: ActiveSession | None) -> _Caller:
    if active is None:
        return _Caller("none")
    principal = StaffPrincipal(active.username, active.role, "session")
    return _Caller("staff", principal, active.csrf_token)


def _bearer_caller(engine: Engine, settings: Settings, token: str) -> _Caller:
    secret = settings.token_secret.get_secret_value()
    try:
        claims = read_staff_token(token, secret=secret, base_url=settings.base_url)
    except TokenError:
        return _hospital_or_invalid(token, settings)
    with Session(engine) as db:
        user = StaffRepository(db).get(claims.username)
        if user is None or not user.active:
            return _Caller("invalid")
        return _Caller("staff", StaffPrincipal(user.username, Role(user.role), "token"))


def _hospital_or_invalid(token: str, settings: Settings) -> _Caller:
    try:
        read_access_token(
            token, secret=settings.token_secret.get_secret_value(), issuer=settings.base_url
        )
    except TokenError:
        return _Caller("invalid")
    return _Caller("hospital")


def _role_allowed(request: Request, principal: StaffPrincipal) -> bool:
    allowed = allowed_principals(request.method, route_template(request))
    if allowed is None:
        log.error("access.no_entry", method=request.method, route=route_template(request))
        return False
    return principal.role.value in allowed


async def _csrf_ok(request: Request, caller: _Caller) -> bool:
    """Safe methods, token callers and requests carrying the session's CSRF token pass."""
    if request.method in SAFE_METHODS or caller.principal is None:
        return True
    if caller.principal.via != "session" or caller.csrf_token is None:
        return True
    given = request.headers.get(CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    return tokens_match(caller.csrf_token, given)


def _api_refusal(status: int, en: str, th: str) -> Exception:
    headers = {"WWW-Authenticate": 'Bearer realm="claimgw-staff"'} if status == 401 else None
    return http_problem(status, "login" if status == 401 else "forbidden", en, th, headers=headers)


async def staff_api(
    request: Request, _token: Annotated[str | None, Depends(staff_token_scheme)]
) -> StaffPrincipal:
    """The staff user calling a JSON route: 401 without staff credentials, 403 for a hospital
    token, a role the route does not admit, or a session POST without its CSRF token."""
    caller = await _caller(request)
    if caller.kind == HOSPITAL:
        raise _api_refusal(
            403,
            "Hospital tokens cannot call staff routes.",
            "โทเคนของโรงพยาบาลใช้กับบริการของเจ้าหน้าที่ไม่ได้",
        )
    if caller.principal is None:
        raise _api_refusal(
            401,
            "Staff credentials are required: a staff Bearer token or a signed-in session.",
            "ต้องเข้าสู่ระบบด้วยบัญชีเจ้าหน้าที่",
        )
    if not _role_allowed(request, caller.principal):
        raise _api_refusal(
            403,
            f"The role {caller.principal.role.value} may not use this route.",
            f"บทบาท {caller.principal.role.value} ไม่มีสิทธิ์ใช้บริการนี้",
        )
    if not await _csrf_ok(request, caller):
        raise _api_refusal(
            403, "The CSRF token is missing or wrong.", "CSRF token ไม่ถูกต้องหรือไม่ได้แนบมา"
        )
    return caller.principal


async def staff_page(request: Request) -> StaffPrincipal:
    """The staff user viewing a page: 303 to /login when not signed in, 403 page otherwise."""
    caller = await _caller(request)
    if caller.kind == HOSPITAL:
        raise PageForbidden(
            "Hospital tokens cannot open staff pages.", "โทเคนของโรงพยาบาลเปิดหน้าของเจ้าหน้าที่ไม่ได้"
        )
    if caller.kind == "invalid":
        raise _api_refusal(401, "The access token is not valid.", "access token ไม่ถูกต้อง")
    if caller.principal is None:
        raise LoginRequired(_next_path(request))
    if not _role_allowed(request, caller.principal):
        raise PageForbidden(
            f"Your role ({caller.principal.role.value}) may not use this page.",
            f"บทบาทของคุณ ({caller.principal.role.value}) ไม่มีสิทธิ์ใช้หน้านี้",
        )
    if not await _csrf_ok(request, caller):
        raise PageForbidden(
            "This form has expired or did not come from this site. Go back, reload and try again.",
            "แบบฟอร์มหมดอายุหรือไม่ได้มาจากเว็บไซต์นี้ กรุณากลับไปโหลดหน้าใหม่แล้วลองอีกครั้ง",
        )
    return caller.principal


def _next_path(request: Request) -> str:
    """Where to return after signing in: this page for a GET, else the referring page."""
    if request.method == "GET":
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    return "/"


async def optional_staff(request: Request) -> StaffPrincipal | None:
    """The signed-in staff user if any (for pages anyone may see, such as /login)."""
    caller = await _caller(request)
    return caller.principal


def current_csrf_token(request: Request) -> str | None:
    """The session's CSRF token, for forms rendered outside `render()`."""
    token: Any = getattr(request.state, "csrf_token", None)
    return token if isinstance(token, str) else None


StaffApi = Annotated[StaffPrincipal, Depends(staff_api)]
StaffPage = Annotated[StaffPrincipal, Depends(staff_page)]
OptionalStaff = Annotated[StaffPrincipal | None, Depends(optional_staff)]
