"""GET /metrics: this process's registry, or every worker's files in multiprocess mode."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from gateway.metrics.collector import DatabaseGauges
from gateway.metrics.multiprocess import multiprocess_dir

router = APIRouter(tags=["monitoring"])


class ProcessMetrics(Collector):
    """The default registry of this process (its metrics plus process and GC collectors)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry(engine: Engine) -> CollectorRegistry:
    """What /metrics exposes for an app on this engine."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder is not None:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    else:
        registry.register(ProcessMetrics())
    registry.register(DatabaseGauges(engine))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
