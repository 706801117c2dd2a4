"""prometheus-client multiprocess mode for `claimgw serve --workers N`.

Each worker writes its samples to memory-mapped files in PROMETHEUS_MULTIPROC_DIR and /metrics
merges them. The variable must be set before any worker imports prometheus_client, and the
directory must start empty, so the server prepares it before uvicorn spawns the workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    """The shared metrics directory when running in multiprocess mode."""
    value = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    return Path(value) if value else None


@contextmanager
def worker_metrics_dir(workers: int) -> Iterator[Path | None]:
    """A multiprocess directory for N > 1 workers: the operator's (emptied) or a temporary one."""
    given = multiprocess_dir()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        _empty(given)
        yield given
        return
    if workers <= 1:
        yield None
        return
    made = Path(tempfile.mkdtemp(prefix="claimgw-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    try:
        yield made
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def _empty(folder: Path) -> None:
    """Remove samples of earlier runs, but not this process's own open files."""
    own = f"_{os.getpid()}.db"
    for stale in folder.glob("*.db"):
        if not stale.name.endswith(own):
            stale.unlink(missing_ok=True)


def release_worker() -> None:
    """Drop this worker's live gauges (in-flight, pool) when it shuts down."""
    if multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
