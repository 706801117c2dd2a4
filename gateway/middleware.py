"""Plain ASGI middlewares that act before the application reads a body."""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fhir_mappings.outcome import operation_outcome
from fhir_mappings.rule_catalogue import problem
from gateway.security.events import security_event


class BodyTooLarge(Exception):
    """The streamed body passed the limit."""


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received, started = 0, False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps(
            operation_outcome([problem("body-too-large", "Bundle", limit=self.max_bytes)])
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/fhir+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers") or []
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


NUL_MARKERS = (b"%00", b"\x00")
UNCACHED_PREFIXES = ("/static/", "/docs/assets/")
REFUSAL_KINDS = {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "throttled"}


class RequestGuard:
    """Guards every request before the application sees it, and marks every answer.

    - A NUL byte in the path or query string is a 400 (PostgreSQL cannot store or compare it).
    - In prod, GET /metrics needs `Authorization: Bearer <CLAIMGW_METRICS_TOKEN>`.
    - Answers get `Cache-Control: no-store` (they may hold patient data) and frame denial,
      unless they are packaged static assets; 401/403/404/429 count as security events.
    """

    def __init__(
        self, app: ASGIApp, metrics_token: str | None, require_metrics_token: bool
    ) -> None:
        self.app = app
        self.metrics_token = metrics_token
        self.require_metrics_token = require_metrics_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode()
        query = scope.get("query_string") or b""
        if any(m in raw_path or m in query for m in NUL_MARKERS) or "\x00" in scope["path"]:
            await _refuse(send, 400, "invalid", "The path or query holds a NUL character.")
            return
        path = str(scope.get("path", ""))
        if path == "/metrics" and self.require_metrics_token and not self._metrics_allowed(scope):
            await _refuse(send, 401, "login", "GET /metrics needs the metrics bearer token.")
            return
        cached = path.startswith(UNCACHED_PREFIXES)

        async def marked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not cached:
                    headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                kind = REFUSAL_KINDS.get(message["status"])
                if kind is not None:
                    security_event(kind, path=path[:200], method=scope.get("method"))
            await send(message)

        await self.app(scope, receive, marked_send)

    def _metrics_allowed(self, scope: Scope) -> bool:
        if not self.metrics_token:
            return False
        given = Headers(scope=scope).get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.metrics_token.encode()
        )


async def _refuse(send: Send, status: int, code: str, text: str) -> None:
    body = orjson.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        }
    )
    headers = [
        (b"content-type", b"application/fhir+json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="claimgw-metrics"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
