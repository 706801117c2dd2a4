"""Per-hospital request rate limits (moving window, in process)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class HospitalRateLimiter:
    """A moving-window limit per hospital; each gateway process keeps its own window."""

    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, hcode: str) -> int | None:
        """Seconds to wait when the hospital is over its limit, else None (the hit is counted)."""
        if self.limiter.hit(self.item, "hospital", hcode):
            return None
        reset_at, _remaining = self.limiter.get_window_stats(self.item, "hospital", hcode)
        return max(1, math.ceil(reset_at - time.time()))
