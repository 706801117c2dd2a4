"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.db import migrations_current
from gateway.deps import EngineDep
from gateway.scoring.service import active_model_status

router = APIRouter(tags=["monitoring"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep) -> JSONResponse:
    """The database answers, its schema is current; `model` says which fraud scoring is on.

    `model` is `ok` with a promoted fraud model and `none` without one: a gateway with no
    model is still ready (intake runs unscored, nothing is pended), so `none` does not fail
    readiness.
    """
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if migrations_current(engine) else "behind"
        checks["model"] = active_model_status(engine) if checks["migrations"] == "ok" else "unknown"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    ready = all(v == "ok" or (k == "model" and v == "none") for k, v in checks.items())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
