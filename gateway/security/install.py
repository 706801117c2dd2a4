"""Wire the security controls into an application: limits, guards, audit, API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.staticfiles import StaticFiles

from gateway.audit.access import AccessAudit
from gateway.auth.status import ClientStatus
from gateway.middleware import RequestGuard
from gateway.ratelimit import HospitalRateLimiter, KeyedRateLimiter, limit_storage
from gateway.settings import Settings

SWAGGER_DIR = Path(__file__).with_name("swagger")
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SSO Claims Gateway API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>
"""


def install_security(app: FastAPI, settings: Settings, engine: Engine) -> None:
    """Rate limiters (shared through Redis when configured), client status, guards, docs."""
    storage = limit_storage(settings.redis_url)
    app.state.rate_limiter = HospitalRateLimiter(settings.rate_limit, storage)
    app.state.token_limiter = KeyedRateLimiter(settings.token_rate_limit, "token-address", storage)
    app.state.validate_limiter = KeyedRateLimiter(settings.validate_rate_limit, "validate", storage)
    app.state.client_status = ClientStatus(engine, settings.client_status_seconds)
    app.add_middleware(AccessAudit, engine=engine)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app.add_middleware(
        RequestGuard, metrics_token=token, require_metrics_token=settings.env == "prod"
    )
    if settings.docs_enabled:
        _install_docs(app)


def _install_docs(app: FastAPI) -> None:
    """Swagger UI served by the gateway itself (vendored swagger-ui-dist): no CDN."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_DIR), name="swagger-assets")
