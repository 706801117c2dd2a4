"""Request rate limits (moving window): per hospital, per client address, $validate per hospital.

Without `CLAIMGW_REDIS_URL` each gateway process keeps its own windows, so N processes allow N
times a limit. With it, every process counts in the same Redis (the `limits` library's Redis
storage), so a limit holds across processes and hosts. When Redis does not answer, requests
are let through (fail open: an outage of the limiter must not become an outage of intake),
a warning is logged and `claimgw_ratelimit_storage_errors_total` counts each miss.
"""

from __future__ import annotations

import math
import threading
import time
import weakref

import structlog
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

log = structlog.get_logger("claimgw.ratelimit")

STORAGE_ERRORS = Counter(
    "claimgw_ratelimit_storage_errors",
    "Rate-limit checks let through because the shared limit storage (Redis) did not answer.",
)


class SweptMemoryStorage(MemoryStorage):
    """limits' MemoryStorage without a new thread per request.

    MemoryStorage re-arms a 10 ms `threading.Timer` on the first hit after the last one fired,
    so a gateway taking requests more than 10 ms apart started (and waited for) a thread per
    request: 1.8 ms a hit on a loaded 2-core machine, more than parsing the claim (issue 12).
    Here one daemon thread sweeps expired entries every second; a limit's check never
    depended on the sweep, which only keeps the lists short.
    """

    SWEEP_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__()
        threading.Thread(target=_sweep, args=(weakref.ref(self),), daemon=True).start()

    def _MemoryStorage__schedule_expiry(self) -> None:  # MemoryStorage's private re-arm hook
        return

    def sweep(self) -> None:
        """Drop the entries whose window has passed."""
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _sweep(storage: weakref.ref[SweptMemoryStorage]) -> None:
    """Sweep a storage every SWEEP_SECONDS for as long as it exists."""
    while (alive := storage()) is not None:
        alive.sweep()
        del alive
        time.sleep(SweptMemoryStorage.SWEEP_SECONDS)


def limit_storage(redis_url: str | None) -> Storage:
    """Redis storage shared by every process when a URL is set, else this process's memory."""
    if not redis_url:
        return SweptMemoryStorage()
    storage = storage_from_string(
        redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, key_prefix="claimgw"
    )
    assert isinstance(storage, Storage)
    return storage


class KeyedRateLimiter:
    """A moving-window limit per key (a hospital code, a client address) in one namespace."""

    def __init__(self, rate: str, namespace: str, storage: Storage | None = None) -> None:
        self.item: RateLimitItem = parse(rate)
        self.namespace = namespace
        self.limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait when `key` is over its limit, else None (the hit is counted)."""
        try:
            if self.limiter.hit(self.item, self.namespace, key):
                return None
            reset_at, _remaining = self.limiter.get_window_stats(self.item, self.namespace, key)
        except Exception as exc:  # noqa: BLE001 - any storage failure fails open, counted
            STORAGE_ERRORS.inc()
            log.warning("ratelimit.storage_unavailable", error=type(exc).__name__)
            return None
        return max(1, math.ceil(reset_at - time.time()))


class HospitalRateLimiter(KeyedRateLimiter):
    """The per-hospital limit of the FHIR API."""

    def __init__(self, rate: str, storage: Storage | None = None) -> None:
        super().__init__(rate, "hospital", storage)
