"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway.db import migrations_current
from gateway.deps import EngineDep
from gateway.scoring.repository import ModelRegistry

router = APIRouter(tags=["monitoring"])
WRITE_PROBE_MS = 1000


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep) -> JSONResponse:
    """The database answers, its schema is current; `model` says which fraud scoring is on.

    `checks.model` is `ok` with a promoted fraud model and `none` without one, and
    `model_version` names the promoted version (null without one). A gateway with no model is
    still ready (intake runs unscored, nothing is pended), so `none` does not fail readiness.
    """
    checks: dict[str, str] = {}
    version: str | None = None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        if engine.dialect.name == "sqlite":  # reads succeed while writes time out
            checks["database_writes"] = "ok" if sqlite_writable(engine) else "locked"
        checks["migrations"] = "ok" if migrations_current(engine) else "behind"
        if checks["migrations"] == "ok":
            version = _active_version(engine)
            checks["model"] = "ok" if version else "none"
        else:
            checks["model"] = "unknown"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    ready = all(v == "ok" or (k == "model" and v == "none") for k, v in checks.items())
    body: dict[str, Any] = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "model_version": version,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


def sqlite_writable(engine: Engine, wait_ms: int = WRITE_PROBE_MS) -> bool:
    """Whether a writer could take SQLite's write lock within `wait_ms` (then let it go)."""
    try:
        raw = engine.raw_connection()
    except SQLAlchemyError:
        return False
    try:
        cursor = raw.cursor()
        previous = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("ROLLBACK")
            return True
        except Exception:  # noqa: BLE001 - sqlite3.OperationalError: database is locked
            return False
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
    finally:
        raw.close()


def _active_version(engine: Engine) -> str | None:
    with Session(engine) as session:
        return ModelRegistry(session).active_version()
