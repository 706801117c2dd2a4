"""A plain ASGI middleware that records request counts, latency and in-flight requests."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import instruments as m
from gateway.metrics.labels import (
    UNMATCHED,
    bundle_outcome,
    hospital_label,
    method_label,
    status_class,
)

log = structlog.get_logger("claimgw.metrics")
METRICS_ROUTE = "/metrics"
SUBMIT_ROUTE = "/fhir/Claim/$submit"
DECIDED_AT_INTAKE = frozenset({"complete", "partial", "error"})


@dataclass(frozen=True, slots=True)
class RouteTemplates:
    """Route templates of the app's documented paths, for requests refused before routing."""

    patterns: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def of(cls, app: Any) -> RouteTemplates:
        paths = app.openapi().get("paths", {}) if hasattr(app, "openapi") else {}
        return cls(tuple((re.compile(_template_regex(p)), p) for p in paths))

    def match(self, path: str) -> str:
        for pattern, template in self.patterns:
            if pattern.fullmatch(path):
                return template
        return UNMATCHED


def _template_regex(template: str) -> str:
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)


class HttpMetrics:
    """Count and time every HTTP request by its route template, never by its raw path."""

    def __init__(self, app: ASGIApp, hospital_label: bool = True) -> None:
        self.app = app
        self.hospital_label = hospital_label
        self._templates: RouteTemplates | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started, status = time.perf_counter(), 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        m.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, recording_send)
        finally:
            m.HTTP_IN_FLIGHT.dec()
            try:
                self._record(scope, status, time.perf_counter() - started)
            except Exception as exc:  # metrics must never break an answered request
                log.warning("metrics.record_failed", error=type(exc).__name__)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = self._route(scope)
        if route == METRICS_ROUTE:
            return
        method = method_label(scope["method"])
        m.HTTP_REQUESTS.labels(route, method, status_class(status)).inc()
        m.HTTP_LATENCY.labels(route, method).observe(elapsed)
        if route == SUBMIT_ROUTE and method == "POST":
            self._record_submission(scope["state"], status, elapsed)

    def _record_submission(self, state: dict[str, Any], status: int, elapsed: float) -> None:
        result = state.get("intake_result")
        replayed = bool(getattr(result, "replayed", False))
        outcome = bundle_outcome(status, replayed=replayed)
        if outcome is not None:
            hcode = hospital_label(state.get("hcode"), enabled=self.hospital_label)
            m.BUNDLES.labels(outcome, hcode).inc()
        if outcome == "accepted" and getattr(result, "outcome", None) in DECIDED_AT_INTAKE:
            m.DECISION_TIME.labels("intake").observe(elapsed)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        template = getattr(route, "path", None)
        if isinstance(template, str):
            return template
        if self._templates is None and "app" in scope:
            self._templates = RouteTemplates.of(scope["app"])
        return self._templates.match(scope["path"]) if self._templates else UNMATCHED
