"""The access-token dependency: who is calling, for which hospital, with which scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from gateway.auth.status import ClientStatus
from gateway.auth.tokens import AccessGrant, TokenError, read_access_token
from gateway.deps import SettingsDep
from gateway.fhir.responses import http_problem

VALIDATE_PATH = "/fhir/Claim/$validate"  # also limited per hospital: it reveals insurance status


def current_grant(request: Request, settings: SettingsDep) -> AccessGrant:
    """The grant of the request's Bearer token; 401 without a valid one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("A Bearer access token is required.", "ต้องแนบ Bearer access token")
    try:
        grant = read_access_token(
            token.strip(), secret=settings.token_secret.get_secret_value(), issuer=settings.base_url
        )
    except TokenError as exc:
        raise _unauthorized(exc.description, "access token ไม่ถูกต้องหรือหมดอายุ") from exc
    status: ClientStatus = request.app.state.client_status
    if not status.active(grant.client_id):  # a disable bites within client_status_seconds
        raise _unauthorized("The client or its hospital is disabled.", "ไคลเอนต์หรือโรงพยาบาลถูกระงับ")
    request.state.hcode = grant.hcode
    request.state.client_id = grant.client_id
    return grant


def require_scope(resource: str, action: str) -> Callable[..., AccessGrant]:
    """A dependency that also needs `system/{resource}.{action}` in the token's scopes."""

    def dependency(
        request: Request, grant: Annotated[AccessGrant, Depends(current_grant)]
    ) -> AccessGrant:
        if not grant.allows(resource, action):
            raise http_problem(
                403,
                "forbidden",
                f"The token lacks scope system/{resource}.{action}.",
                f"โทเคนไม่มีสิทธิ์ system/{resource}.{action}",
            )
        wait = request.app.state.rate_limiter.retry_after(grant.hcode)
        if wait is None and request.scope.get("path") == VALIDATE_PATH:
            wait = request.app.state.validate_limiter.retry_after(grant.hcode)
        if wait is not None:
            raise http_problem(
                429,
                "throttled",
                f"Too many requests for this hospital; retry in {wait} s.",
                f"ส่งคำขอถี่เกินไป กรุณาลองใหม่ใน {wait} วินาที",
                headers={"Retry-After": str(wait)},
            )
        return grant

    return dependency


def _unauthorized(en: str, th: str) -> Exception:
    return http_problem(
        401, "login", en, th, headers={"WWW-Authenticate": 'Bearer realm="claimgw"'}
    )


CanSubmitClaims = Annotated[AccessGrant, Depends(require_scope("Claim", "c"))]
CanReadClaims = Annotated[AccessGrant, Depends(require_scope("Claim", "r"))]
CanSearchClaims = Annotated[AccessGrant, Depends(require_scope("Claim", "s"))]
CanReadResponses = Annotated[AccessGrant, Depends(require_scope("ClaimResponse", "r"))]
CanSearchResponses = Annotated[AccessGrant, Depends(require_scope("ClaimResponse", "s"))]
CanReadStatements = Annotated[AccessGrant, Depends(require_scope("PaymentReconciliation", "r"))]
CanSearchStatements = Annotated[AccessGrant, Depends(require_scope("PaymentReconciliation", "s"))]
CanCreateSubscriptions = Annotated[AccessGrant, Depends(require_scope("Subscription", "c"))]
CanReadSubscriptions = Annotated[AccessGrant, Depends(require_scope("Subscription", "r"))]
CanSearchSubscriptions = Annotated[AccessGrant, Depends(require_scope("Subscription", "s"))]
CanDeleteSubscriptions = Annotated[AccessGrant, Depends(require_scope("Subscription", "d"))]
