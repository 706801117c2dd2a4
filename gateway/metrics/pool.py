"""Database pool usage from SQLAlchemy pool events (correct across worker processes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

from gateway.metrics import instruments as m


def watch_pool(engine: Engine) -> None:
    """Keep claimgw_db_pool_connections_in_use and _max in step with the engine's pool."""
    m.DB_POOL_MAX.set(pool_capacity(engine))
    if event.contains(engine, "checkout", _checked_out):
        return
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def pool_capacity(engine: Engine) -> int:
    """Pool size plus overflow for a queue pool; 1 for pools without a size (one connection)."""
    pool: Any = engine.pool
    size = pool.size() if hasattr(pool, "size") else 1
    overflow = max(int(getattr(pool, "_max_overflow", 0)), 0)
    return int(size) + overflow


def _checked_out(_dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    m.DB_POOL_IN_USE.inc()


def _checked_in(_dbapi_conn: Any, _record: Any) -> None:
    m.DB_POOL_IN_USE.dec()
