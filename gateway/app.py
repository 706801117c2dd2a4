"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from fhir_mappings.bundle import parse_claim_bundle
from gateway.auth import endpoints as auth_endpoints
from gateway.claims import endpoints as claim_endpoints
from gateway.claims.service import ClaimIntake, IntakePipeline
from gateway.db import make_engine
from gateway.errors import install_error_handlers
from gateway.fhir import metadata
from gateway.health import router as health_router
from gateway.logs import configure_logging
from gateway.metrics import install_metrics, release_worker
from gateway.middleware import BodySizeLimit
from gateway.notify import endpoints as subscription_endpoints
from gateway.notify.worker import start_background_worker
from gateway.payments import endpoints as payment_endpoints
from gateway.payments import pages as payment_pages
from gateway.pipeline import build_pipeline
from gateway.review import endpoints as review_endpoints
from gateway.review import pages as review_pages
from gateway.security.data_key import adopt_dev_data_keys
from gateway.security.install import install_security
from gateway.security.secrets import adopt_dev_token_secret
from gateway.settings import Settings, get_settings
from gateway.staff.endpoints import install_staff_web

WARM_UP_BUNDLE = (
    b'{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1",'
    b'"resource":{"resourceType":"Claim","status":"active","use":"claim","created":"2026-01-01",'
    b'"type":{"text":"x"},"patient":{"reference":"urn:uuid:2"},"provider":{"display":"x"},'
    b'"priority":{"text":"x"},"insurance":[{"sequence":1,"focal":true,"coverage":{"display":"x"}}]}},'
    b'{"fullUrl":"urn:uuid:2","resource":{"resourceType":"Patient"}}]}'
)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    pipeline: IntakePipeline | None = None,
) -> FastAPI:
    """A gateway application for these settings (read from the environment by default)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = engine or make_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        parse_claim_bundle(WARM_UP_BUNDLE, max_entries=10)  # load the FHIR model classes once
        # `serve --worker`: this process also delivers notifications (see gateway/notify/worker.py)
        stop_worker = None
        if settings.delivery_worker:
            stop_worker = start_background_worker(engine, settings)
        yield
        if stop_worker is not None:
            stop_worker()
        engine.dispose()
        release_worker()

    app = FastAPI(
        title="SSO Claims Gateway",
        version="0.1.0",
        summary="FHIR R4B claim intake for the Thai Social Security Office",
        lifespan=lifespan,
        docs_url=None,  # gateway/security/install.py serves /docs without a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_security(app, settings, engine)  # limits, client status, guards, audit, /docs
    app.state.intake = ClaimIntake(engine, settings, pipeline or build_pipeline(settings, engine))
    install_error_handlers(app)
    install_staff_web(app)  # sign-in routes, pages' handlers, /static, security headers
    app.include_router(metadata.router)
    app.include_router(auth_endpoints.router)
    app.include_router(claim_endpoints.router)
    app.include_router(health_router)
    app.include_router(payment_endpoints.router)
    app.include_router(payment_endpoints.api_router)
    app.include_router(payment_pages.router)
    app.include_router(subscription_endpoints.router)
    app.include_router(review_endpoints.router)
    app.include_router(review_pages.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_metrics(app, settings, engine)  # last: its middleware is outermost
    return app


def app_from_environment() -> FastAPI:
    """Entry point for `uvicorn --factory` (each worker builds its own app)."""
    for adopt in (adopt_dev_token_secret, adopt_dev_data_keys):  # never on a known secret
        if adopt(get_settings()):
            get_settings.cache_clear()
    app = create_app()
    parse_claim_bundle(WARM_UP_BUNDLE, max_entries=10)  # load the FHIR model classes now
    # A server process: move everything loaded at start out of the collector's reach. Full
    # collections walked all of it and paused a claim 26-145 ms (benchmarks/scoring.py).
    gc.collect()
    gc.freeze()
    return app
