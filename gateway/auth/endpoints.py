"""Routes of SMART Backend Services: discovery and the token endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.auth.service import exchange_assertion
from gateway.auth.tokens import SUPPORTED_SCOPES, TokenError
from gateway.deps import SettingsDep, WriterSessionDep
from provider_registry.keys import SUPPORTED_ALGORITHMS

router = APIRouter()


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


@router.post("/auth/token", tags=["auth"])
async def token(request: Request, session: WriterSessionDep, settings: SettingsDep) -> JSONResponse:
    """Exchange a signed client assertion for an access token (RFC 6749 errors on failure)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _oauth_error(TokenError("invalid_request", "send application/x-www-form-urlencoded"))
    form = await request.form()
    fields = {k: v if isinstance(v, str) else None for k, v in form.items()}
    try:
        issued = await run_in_threadpool(
            exchange_assertion,
            session,
            settings=settings,
            grant_type=fields.get("grant_type"),
            assertion_type=fields.get("client_assertion_type"),
            assertion=fields.get("client_assertion"),
            scope=fields.get("scope"),
            request_url=str(request.url),
        )
    except TokenError as exc:
        return _oauth_error(exc)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _oauth_error(exc: TokenError) -> JSONResponse:
    status = 401 if exc.error == "invalid_client" else 400
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
