"""Worker processes forked from the batch commands, for work on arrays they already hold."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def forked_pool(workers: int) -> ProcessPoolExecutor:
    """Processes forked from this one: they read its arrays copy-on-write, never pickled.

    An executor, not a multiprocessing Pool: a worker that dies (out of memory, say) raises
    BrokenProcessPool in the caller instead of leaving it waiting for ever.
    """
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
