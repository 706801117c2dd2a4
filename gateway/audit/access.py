"""Audit every read and search of claim data, and every $validate, before the answer leaves.

The answer is held until its audit row is committed (PDPA: no disclosure without its record).
Only authenticated hospital calls are recorded here; refusals are security events instead.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import structlog
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.audit.trail import REFUSED, SUCCESS, record_event

log = structlog.get_logger("claimgw.audit")

AUDITED = re.compile(r"^/fhir/(Claim|ClaimResponse|PaymentReconciliation)(/[^/$]+)?$")
VALIDATE = "/fhir/Claim/$validate"
MAX_ENTITIES = 50


class AccessAudit:
    """An ASGI middleware that appends one AuditEvent per audited read, search or $validate."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        action = _action(scope) if scope["type"] == "http" else None
        if action is None:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def holding_send(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, holding_send)
        await self._record(scope, action, held)
        for message in held:
            await send(message)

    async def _record(self, scope: Scope, action: str, held: list[Message]) -> None:
        state = scope.get("state") or {}
        client_id, hcode = state.get("client_id"), state.get("hcode")
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        if client_id is None or start is None or start["status"] >= 500:
            return
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        kind, entities = _entities(body)
        client = scope.get("client")
        await run_in_threadpool(
            record_event,
            self.engine,
            action=action,
            actor=str(client_id),
            agent_kind="hospital",
            hcode=str(hcode) if hcode else None,
            entity_type=(kind if start["status"] < 400 else None) or _resource_type(scope),
            entity_id=entities[0].rsplit("/", 1)[-1] if entities else "",
            outcome=SUCCESS if start["status"] < 400 else REFUSED,
            source=client[0] if client else None,
            detail={
                "status": start["status"],
                "path": str(scope["path"])[:200],
                "query": (scope.get("query_string") or b"").decode("latin-1")[:200],
                "entities": entities,
            },
        )


def _action(scope: Scope) -> str | None:
    path, method = str(scope.get("path", "")), scope.get("method")
    if method == "POST" and path == VALIDATE:
        return "claim.validate"
    match = AUDITED.match(path) if method == "GET" else None
    if match is None:
        return None
    return (
        f"{match.group(1)[0].lower()}{match.group(1)[1:]}.{'read' if match.group(2) else 'search'}"
    )


def _resource_type(scope: Scope) -> str:
    return str(scope.get("path", "")).split("/")[2][:32]


def _entities(body: bytes) -> tuple[str | None, list[str]]:
    """`Type/id` of the resources an answer disclosed (a resource, or a Bundle's entries)."""
    try:
        data: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    if data.get("resourceType") != "Bundle":
        rid = data.get("id")
        return data.get("resourceType"), [f"{data.get('resourceType')}/{rid}"] if rid else []
    found = []
    for entry in data.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("id"):
            found.append(f"{resource.get('resourceType')}/{resource['id']}")
    return None, found[:MAX_ENTITIES]
