"""Routes of SMART Backend Services: discovery and the token endpoint."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from gateway.audit.trail import REFUSED, SUCCESS, record_event
from gateway.auth.service import IssuedToken, exchange_assertion
from gateway.auth.tokens import SUPPORTED_SCOPES, TokenError
from gateway.deps import EngineDep, SettingsDep
from gateway.security.events import security_event
from provider_registry.keys import SUPPORTED_ALGORITHMS

router = APIRouter()
log = structlog.get_logger("claimgw.auth")

# Every refused client gets this one answer, so the endpoint does not tell which client ids
# exist or why an assertion failed; the reason goes to the log and the audit trail.
INVALID_CLIENT = "client authentication failed"
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_request, unsupported_grant_type or invalid_scope"},
    401: {"description": "invalid_client (one answer for every refused client)"},
    429: {"description": "too many token requests from this address (Retry-After)"},
    503: {"description": "temporarily_unavailable: the database is down (Retry-After)"},
}


@router.get("/fhir/.well-known/smart-configuration", tags=["auth"])
def smart_configuration(settings: SettingsDep) -> dict[str, Any]:
    """Where and how to get a token (SMART App Launch 2.x discovery)."""
    return {
        "token_endpoint": settings.token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "capabilities": ["client-confidential-asymmetric"],
    }


@router.post("/auth/token", tags=["auth"], responses=TOKEN_ERRORS)
async def token(request: Request, engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    """Exchange a signed client assertion for an access token (RFC 6749 errors on failure)."""
    address = request.client.host if request.client else "unknown"
    wait = request.app.state.token_limiter.retry_after(address)
    if wait is not None:
        security_event("token_throttled", source=address)
        return _oauth_error(
            TokenError("slow_down", f"too many token requests; retry in {wait} s"),
            status=429,
            headers={"Retry-After": str(wait)},
        )
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _oauth_error(TokenError("invalid_request", "send application/x-www-form-urlencoded"))
    form = await request.form()
    fields = {k: v if isinstance(v, str) else None for k, v in form.items()}
    try:
        issued = await run_in_threadpool(
            exchange_assertion,
            engine,
            settings=settings,
            grant_type=fields.get("grant_type"),
            assertion_type=fields.get("client_assertion_type"),
            assertion=fields.get("client_assertion"),
            scope=fields.get("scope"),
        )
    except TokenError as exc:
        await run_in_threadpool(_refused, engine, exc, address)
        return _oauth_error(exc)
    except DBAPIError as exc:
        log.error("database.unavailable", error=type(exc).__name__, route="/auth/token")
        return _oauth_error(
            TokenError("temporarily_unavailable", "the token service is unavailable; retry"),
            status=503,
            headers={"Retry-After": "5"},
        )
    await run_in_threadpool(_granted, engine, issued, address)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _refused(engine: Engine, exc: TokenError, address: str) -> None:
    security_event("token_refused", error=exc.error, reason=exc.description[:200], source=address)
    try:
        record_event(
            engine,
            action="token.refused",
            actor="unauthenticated",
            agent_kind="hospital",
            entity_type="Token",
            outcome=REFUSED,
            source=address,
            detail={"error": exc.error, "reason": exc.description[:200]},
        )
    except DBAPIError as db_error:  # the refusal stands without its audit row
        log.error("audit.unavailable", error=type(db_error).__name__)


def _granted(engine: Engine, issued: IssuedToken, address: str) -> None:
    record_event(
        engine,
        action="token.granted",
        actor=issued.client_id,
        agent_kind="hospital",
        hcode=issued.hcode,
        entity_type="Token",
        outcome=SUCCESS,
        source=address,
        detail={"scope": issued.scope},
    )


def _oauth_error(
    exc: TokenError, *, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    invalid_client = exc.error == "invalid_client"
    return JSONResponse(
        {
            "error": exc.error,
            "error_description": INVALID_CLIENT if invalid_client else exc.description,
        },
        status_code=status or (401 if invalid_client else 400),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
