"""Prometheus metrics of the gateway: HTTP, intake, money, fraud and service quality.

See docs/operations.md for what each metric means and monitoring/ for rules and dashboards.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from gateway.claims.service import IntakeObserver
from gateway.metrics.exposition import router, scrape_registry
from gateway.metrics.http import HttpMetrics
from gateway.metrics.intake import IntakeMetrics
from gateway.metrics.multiprocess import release_worker
from gateway.metrics.pool import watch_pool
from gateway.settings import Settings

__all__ = ["install_metrics", "intake_observers", "release_worker"]


def intake_observers(settings: Settings) -> tuple[IntakeObserver, ...]:
    """Observers told about every intake decision."""
    return (IntakeMetrics(hospital_label=settings.metrics_hospital_label),)


def install_metrics(app: FastAPI, settings: Settings, engine: Engine) -> None:
    """GET /metrics, the request middleware (outermost) and the pool gauges."""
    app.state.metrics_registry = scrape_registry(engine)
    app.include_router(router)
    app.add_middleware(HttpMetrics, hospital_label=settings.metrics_hospital_label)
    watch_pool(engine)
