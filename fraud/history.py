"""What scoring may ask about earlier claims: a small protocol the gateway fills from its database.

A claim's history is every claim that came before it: on an earlier service day, or on the
same day but received earlier. `Order` is (service day, arrival sequence); the gateway scores a
claim before storing it, so everything it has stored is earlier and it passes `LATEST`.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Protocol, runtime_checkable

from fraud.facts import ClaimFacts

Order = tuple[date, int]
LATEST: Final = 2**62
# Per service day of a hospital: (claims, a mark of the latest arrival). It changes whenever a
# claim of that day is stored or stops counting, so a summary cached with it can be re-checked.
DayStamp = tuple[int, str]


@dataclass(frozen=True, slots=True)
class PriorClaim:
    """An earlier claim of the same person: where, when, what care and how much."""

    hcode: str
    day: date
    signature: str
    total: float
    sequence: int = 0


class ClaimHistory(Protocol):
    """Earlier claims, by person and by hospital."""

    def person_claims(self, cid: str, start: date, before: Order) -> Sequence[PriorClaim]:
        """The person's claims served on or after `start` and earlier than `before`."""
        ...

    def hospital_claim_count(self, hcode: str, start: date, end: date, before: Order) -> int:
        """How many claims the hospital served from `start` to `end`, earlier than `before`."""
        ...

    def hospital_claims(self, hcode: str, start: date, end: date) -> Sequence[ClaimFacts]:
        """The hospital's claims served from `start` to `end` (whole days, for its standing).

        Only hcode, day, codes, quantities and unit prices need to be filled in.
        """
        ...

    def hospital_days(self, hcode: str, start: date, end: date) -> Mapping[date, DayStamp]:
        """Per service day from `start` to `end` with claims of the hospital, its stamp."""
        ...


@runtime_checkable
class ReadsAhead(Protocol):
    """A history that can read at once all that scoring one claim will ask of it."""

    def prepare(self, facts: ClaimFacts) -> None:
        """Read the claim's person and hospital history (one round trip to a database)."""
        ...


class NoHistory:
    """History for a scorer that knows nothing earlier (every claim looks like a first visit)."""

    def person_claims(self, cid: str, start: date, before: Order) -> Sequence[PriorClaim]:
        return ()

    def hospital_claim_count(self, hcode: str, start: date, end: date, before: Order) -> int:
        return 0

    def hospital_claims(self, hcode: str, start: date, end: date) -> Sequence[ClaimFacts]:
        return ()

    def hospital_days(self, hcode: str, start: date, end: date) -> Mapping[date, DayStamp]:
        return {}


class MemoryHistory:
    """History held in memory, e.g. for an audit file or a test; arrival order is add order."""

    def __init__(self) -> None:
        self._people: dict[str, list[tuple[Order, PriorClaim]]] = defaultdict(list)
        self._hospitals: dict[str, list[Order]] = defaultdict(list)
        self._hospital_facts: dict[str, list[tuple[Order, ClaimFacts]]] = defaultdict(list)
        self._count = 0

    def add(self, facts: ClaimFacts) -> int:
        """Record a claim as received now; returns its arrival sequence."""
        sequence = self._count
        self._count += 1
        order = (facts.day, sequence)
        prior = PriorClaim(facts.hcode, facts.day, facts.signature, facts.total, sequence)
        bisect.insort(self._people[facts.cid], (order, prior), key=lambda pair: pair[0])
        bisect.insort(self._hospitals[facts.hcode], order)
        bisect.insort(self._hospital_facts[facts.hcode], (order, facts), key=lambda pair: pair[0])
        return sequence

    def extend(self, many: Iterable[ClaimFacts]) -> None:
        """Record claims in arrival order."""
        for facts in many:
            self.add(facts)

    def person_claims(self, cid: str, start: date, before: Order) -> Sequence[PriorClaim]:
        rows = self._people.get(cid, [])
        low = bisect.bisect_left(rows, (start, -1), key=lambda pair: pair[0])
        high = bisect.bisect_left(rows, before, key=lambda pair: pair[0])
        return [prior for _, prior in rows[low:high]]

    def hospital_claim_count(self, hcode: str, start: date, end: date, before: Order) -> int:
        rows = self._hospitals.get(hcode, [])
        high = bisect.bisect_left(rows, min(before, (end, LATEST)))
        return max(0, high - bisect.bisect_left(rows, (start, -1)))

    def hospital_claims(self, hcode: str, start: date, end: date) -> Sequence[ClaimFacts]:
        return [facts for _, facts in self._hospital_window(hcode, start, end)]

    def hospital_days(self, hcode: str, start: date, end: date) -> Mapping[date, DayStamp]:
        counts: dict[date, int] = defaultdict(int)
        last: dict[date, int] = {}
        for (day, sequence), _ in self._hospital_window(hcode, start, end):
            counts[day] += 1
            last[day] = max(sequence, last.get(day, sequence))
        return {day: (n, str(last[day])) for day, n in counts.items()}

    def _hospital_window(
        self, hcode: str, start: date, end: date
    ) -> list[tuple[Order, ClaimFacts]]:
        rows = self._hospital_facts.get(hcode, [])
        low = bisect.bisect_left(rows, (start, -1), key=lambda pair: pair[0])
        high = bisect.bisect_left(rows, (end, LATEST), key=lambda pair: pair[0])
        return rows[low:high]
