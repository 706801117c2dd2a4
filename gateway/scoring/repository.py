"""Queries of fraud scoring: the model registry, claim history, the roster and provider figures.

Fraud analytics is an SSO-wide view: these reads span hospitals and are used only by the
scorer and by analysts' commands, never by a hospital-facing route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from fraud.facts import ClaimFacts
from fraud.features import FIRST_VISIT_LOOKBACK
from fraud.history import DayStamp, Order, PriorClaim
from fraud.rules import Enrollment
from gateway.claims.models import ClaimLineRecord, ClaimRecord
from gateway.scoring.models import FraudModelVersion
from gateway.security.data_key import person_key
from provider_registry.models import InsuredPerson
from provider_registry.repository import InsuredPersonRepository

EXCLUDED_STATUSES = ("rejected",)
# One read of a hospital's per-day counts, from this many days before the first day asked for,
# serves all of a claim's hospital questions: its standing check (the 28 days before its day)
# and both surge counts (the 35 days up to it).
HOSPITAL_DAYS_READ: Final = 35

# The scorer's per-claim reads are built once: a Core statement executed on the session's
# connection skips the ORM's per-call statement building and entity loading (issue 12).
_CLAIMS = ClaimRecord.__table__  # type: ignore[attr-defined]
_LINES = ClaimLineRecord.__table__  # type: ignore[attr-defined]
_PERSONS = InsuredPerson.__table__  # type: ignore[attr-defined]
# `!=` per excluded status, not NOT IN: an expanding IN is re-rendered on every execution.
_COUNTED = and_(*(_CLAIMS.c.status != status for status in EXCLUDED_STATUSES))
_CLAIMS_WITH_LINES = _CLAIMS.outerjoin(_LINES, _LINES.c.claim_id == _CLAIMS.c.id)


def _counted(column: Any, key: str, first: str, last: str) -> list[Any]:
    """Counted claims whose `column` is the bound `key`, served from bound day `first` to `last`."""
    return [
        column == bindparam(key),
        _CLAIMS.c.service_date >= bindparam(first),
        _CLAIMS.c.service_date <= bindparam(last),
        _COUNTED,
    ]


PERSON_HISTORY: Final = (
    sa_select(
        _CLAIMS.c.id,
        _CLAIMS.c.hcode,
        _CLAIMS.c.service_date,
        _CLAIMS.c.total_submitted,
        _LINES.c.product_code,
    )
    .select_from(_CLAIMS_WITH_LINES)
    .where(*_counted(_CLAIMS.c.patient_key, "person_key", "start", "end"))
)
"""A person's claims joined with their line codes, one row per line: one round trip."""
HOSPITAL_DAYS: Final = (
    sa_select(
        _CLAIMS.c.service_date,
        func.count(),
        cast(func.max(_CLAIMS.c.created_at), String),  # as CLAIM_READS: the same stamps
    )
    .where(*_counted(_CLAIMS.c.hcode, "hcode", "first", "last"))
    .group_by(_CLAIMS.c.service_date)
)
"""Per service day of a hospital: claims and the latest arrival (from a covering index)."""
HOSPITAL_LINES: Final = (
    sa_select(
        _CLAIMS.c.id,
        _CLAIMS.c.identifier_value,
        _CLAIMS.c.setting,
        _CLAIMS.c.service_date,
        _CLAIMS.c.total_submitted,
        _LINES.c.sequence,
        _LINES.c.product_code,
        _LINES.c.quantity,
        _LINES.c.submitted,
    )
    .select_from(_CLAIMS_WITH_LINES)
    .where(*_counted(_CLAIMS.c.hcode, "hcode", "start", "end"))
)
"""A hospital's claims of some days with their lines, one row per line: one round trip."""
_NO_TEXT, _NO_DAY, _NO_NUMBER = cast(null(), String), cast(null(), Date), cast(null(), Integer)
CLAIM_READS: Final = union_all(
    sa_select(
        literal(1).label("part"),
        _CLAIMS.c.id.label("claim_id"),
        _CLAIMS.c.hcode.label("hcode"),
        _CLAIMS.c.service_date.label("day"),
        _CLAIMS.c.total_submitted.label("amount"),
        _LINES.c.product_code.label("code"),
        _NO_NUMBER.label("number"),
        _NO_TEXT.label("latest"),
        _NO_DAY.label("until"),
        _NO_DAY.label("died"),
    )
    .select_from(_CLAIMS_WITH_LINES)
    .where(*_counted(_CLAIMS.c.patient_key, "person_key", "person_start", "day")),
    sa_select(
        literal(2),
        _NO_TEXT,
        _NO_TEXT,
        _CLAIMS.c.service_date,
        cast(null(), Numeric),
        _NO_TEXT,
        func.count(),
        cast(func.max(_CLAIMS.c.created_at), String),
        _NO_DAY,
        _NO_DAY,
    )
    .where(*_counted(_CLAIMS.c.hcode, "hcode", "days_first", "days_last"))
    .group_by(_CLAIMS.c.service_date),
    sa_select(
        literal(3),
        _NO_TEXT,
        _PERSONS.c.main_hcode,
        _PERSONS.c.coverage_start,
        cast(null(), Numeric),
        _NO_TEXT,
        _PERSONS.c.section,
        _NO_TEXT,
        _PERSONS.c.coverage_end,
        _PERSONS.c.death_date,
    ).where(_PERSONS.c.person_key == bindparam("person_key")),
)
"""All one claim's scoring reads in one round trip: the person's claims with their line codes
(part 1, a row per line, as PERSON_HISTORY), the hospital's per-day counts (part 2, as
HOSPITAL_DAYS) and the person's roster entry (part 3, as ENROLLMENT)."""
ENROLLMENT: Final = sa_select(
    _PERSONS.c.section,
    _PERSONS.c.main_hcode,
    _PERSONS.c.coverage_start,
    _PERSONS.c.coverage_end,
    _PERSONS.c.death_date,
).where(_PERSONS.c.person_key == bindparam("person_key"))


class ModelRegistry:
    """Trained model versions and the active one."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, version: FraudModelVersion) -> None:
        self.session.add(version)

    def get(self, version: str) -> FraudModelVersion | None:
        return self.session.get(FraudModelVersion, version)

    def active_version(self) -> str | None:
        """The active version's name: a cheap query the scorer runs every few seconds."""
        return self.session.exec(
            select(FraudModelVersion.version).where(col(FraudModelVersion.active))
        ).first()

    def listing(self) -> Sequence[FraudModelVersion]:
        return self.session.exec(
            select(FraudModelVersion).order_by(col(FraudModelVersion.created_at).desc())
        ).all()

    def promote(self, version: str, *, by: str) -> None:
        """Make `version` the only active one."""
        self.session.execute(update(FraudModelVersion).values(active=False))
        self.session.execute(
            update(FraudModelVersion)
            .where(col(FraudModelVersion.version) == version)
            .values(active=True, promoted_at=datetime.now(UTC), promoted_by=by)
        )


class ClaimHistoryRepository:
    """Earlier stored claims and the person's roster entry, as the online scorer reads them.

    Implements `fraud.history.ClaimHistory`, `fraud.history.ReadsAhead` and
    `fraud.rules.InsuredRoster`. The scorer makes one per claim and calls `prepare` first: one
    round trip reads all the claim's history; the other methods answer from it (and query
    only for what it does not cover), so do not keep one across claims.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._days: dict[str, tuple[date, date, dict[date, DayStamp]]] = {}
        self._person: tuple[str, date, date, list[PriorClaim]] | None = None
        self._enrollments: dict[str, Enrollment | None] = {}

    def prepare(self, facts: ClaimFacts) -> None:
        """Read the person's claims, the hospital's days and the roster entry in one query."""
        day = facts.day
        person_start = day - timedelta(days=FIRST_VISIT_LOOKBACK)
        days_first, days_last = _days_read(day)
        rows = (
            self.session.connection()
            .execute(
                CLAIM_READS,
                {
                    "person_key": person_key(facts.cid),
                    "person_start": person_start,
                    "day": day,
                    "hcode": facts.hcode,
                    "days_first": days_first,
                    "days_last": days_last,
                },
            )
            .all()
        )
        lines, days, enrollment = [], {}, None
        for part, claim_id, hcode, served, total, code, number, latest, until, died in rows:
            if part == 1:
                lines.append((claim_id, hcode, served, total, code))
            elif part == 2 and served is not None:
                days[served] = (int(number), str(latest))
            elif part == 3:
                enrollment = Enrollment(int(number), hcode, served, until, died)
        self._person = (facts.cid, person_start, day, _prior_claims(lines))
        self._days[facts.hcode] = (days_first, days_last, days)
        self._enrollments[facts.cid] = enrollment

    def person_claims(self, cid: str, start: date, before: Order) -> Sequence[PriorClaim]:
        """The person's claims (from `prepare` when it covers the window)."""
        read = self._person
        if read is not None and read[0] == cid and read[1] <= start and read[2] == before[0]:
            return [prior for prior in read[3] if prior.day >= start]
        rows = (
            self.session.connection()
            .execute(
                PERSON_HISTORY, {"person_key": person_key(cid), "start": start, "end": before[0]}
            )
            .all()
        )
        return _prior_claims(rows)

    def enrollment(self, cid: str) -> Enrollment | None:
        """The person's roster entry (from `prepare` when it read this person)."""
        if cid not in self._enrollments:
            row = (
                self.session.connection()
                .execute(ENROLLMENT, {"person_key": person_key(cid)})
                .first()
            )
            self._enrollments[cid] = None if row is None else Enrollment(*row)
        return self._enrollments[cid]

    def hospital_claim_count(self, hcode: str, start: date, end: date, before: Order) -> int:
        days = self._day_stamps(hcode, start, end)
        return sum(count for day, (count, _) in days.items() if start <= day <= end)

    def hospital_days(self, hcode: str, start: date, end: date) -> Mapping[date, DayStamp]:
        """Per day with claims: (claims, latest arrival), from one indexed group-by."""
        days = self._day_stamps(hcode, start, end)
        return {day: stamp for day, stamp in days.items() if start <= day <= end}

    def _day_stamps(self, hcode: str, start: date, end: date) -> dict[date, DayStamp]:
        read = self._days.get(hcode)
        if read is not None and read[0] <= start and end <= read[1]:
            return read[2]
        first, last = _days_read(end)
        first = min(first, start)
        rows = (
            self.session.connection()
            .execute(HOSPITAL_DAYS, {"hcode": hcode, "first": first, "last": last})
            .all()
        )
        days = {day: (int(count), str(latest)) for day, count, latest in rows if day is not None}
        self._days[hcode] = (first, last, days)
        return days

    def bundles(self, *, since: date | None = None, chunk: int = 5000) -> Iterator[str]:
        """Every stored bundle in arrival order, read in chunks (for `fraud train --from-db`)."""
        offset = 0
        while True:
            query = select(ClaimRecord.bundle_json).order_by(
                col(ClaimRecord.created_at), col(ClaimRecord.id)
            )
            if since is not None:
                query = query.where(col(ClaimRecord.service_date) >= since)
            rows = self.session.exec(query.offset(offset).limit(chunk)).all()
            yield from rows
            if len(rows) < chunk:
                return
            offset += chunk

    def period_claims(
        self, first: date, last: date
    ) -> list[tuple[str, str, str, date, float, float | None, str]]:
        """(hcode, cid, setting, day, amount, fraud score, status) of the period's claims."""
        rows = self.session.execute(
            sa_select(
                col(ClaimRecord.hcode),
                col(ClaimRecord.patient_key),
                col(ClaimRecord.setting),
                col(ClaimRecord.service_date),
                col(ClaimRecord.total_submitted),
                col(ClaimRecord.fraud_score),
                col(ClaimRecord.status),
            ).where(col(ClaimRecord.service_date) >= first, col(ClaimRecord.service_date) <= last)
        ).all()
        return [(h, c, s, d, float(t), f, st) for h, c, s, d, t, f, st in rows if d is not None]

    def hospital_claims(self, hcode: str, start: date, end: date) -> Sequence[ClaimFacts]:
        """The hospital's claims served from `start` to `end`: lines for its price standing."""
        rows = (
            self.session.connection()
            .execute(HOSPITAL_LINES, {"hcode": hcode, "start": start, "end": end})
            .all()
        )
        claims: dict[str, tuple[str, str, date, float]] = {}
        lines: dict[str, list[tuple[int, str, float, float]]] = defaultdict(list)
        for claim_id, ident, setting, served, total, seq, code, quantity, submitted in rows:
            if served is None:
                continue
            claims[claim_id] = (ident, setting, served, float(total))
            if code is not None:
                lines[claim_id].append((seq, code, float(quantity), float(submitted)))
        return [
            _lite_facts(ident, hcode, setting, served, total, lines[claim_id])
            for claim_id, (ident, setting, served, total) in claims.items()
        ]

    def period_claim_facts(
        self, first: date, last: date
    ) -> list[tuple[ClaimFacts, bool, float | None]]:
        """(facts with hcode, setting, day, lines; flagged; score) of the period's claims."""
        return self._claim_facts(
            col(ClaimRecord.service_date) >= first,
            col(ClaimRecord.service_date) <= last,
            col(ClaimRecord.status).not_in(EXCLUDED_STATUSES),
        )

    def _claim_facts(self, *where: Any) -> list[tuple[ClaimFacts, bool, float | None]]:
        rows = self.session.execute(
            sa_select(
                col(ClaimRecord.id),
                col(ClaimRecord.identifier_value),
                col(ClaimRecord.hcode),
                col(ClaimRecord.setting),
                col(ClaimRecord.service_date),
                col(ClaimRecord.total_submitted),
                col(ClaimRecord.fraud_flagged),
                col(ClaimRecord.fraud_score),
            ).where(*where)
        ).all()
        lines: dict[str, list[tuple[int, str, float, float]]] = defaultdict(list)
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 500):
            for claim_id, seq, code, quantity, submitted in self.session.execute(
                sa_select(
                    col(ClaimLineRecord.claim_id),
                    col(ClaimLineRecord.sequence),
                    col(ClaimLineRecord.product_code),
                    col(ClaimLineRecord.quantity),
                    col(ClaimLineRecord.submitted),
                ).where(col(ClaimLineRecord.claim_id).in_(ids[start : start + 500]))
            ).all():
                lines[claim_id].append((seq, code, float(quantity), float(submitted)))
        return [
            (
                _lite_facts(ident, hcode, setting, served, float(total), lines.get(cid, [])),
                bool(f),
                s,
            )
            for cid, ident, hcode, setting, served, total, f, s in rows
            if served is not None
        ]

    def monthly_flag_counts(self) -> dict[str, tuple[int, int]]:
        """Per service month (YYYY-MM): (flagged claims, unflagged scored claims)."""
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for served, flagged in self.session.execute(
            sa_select(col(ClaimRecord.service_date), col(ClaimRecord.fraud_flagged)).where(
                col(ClaimRecord.model_version).is_not(None),
                col(ClaimRecord.status).not_in(EXCLUDED_STATUSES),
            )
        ).all():
            if served is not None:
                found[served.strftime("%Y-%m")][0 if flagged else 1] += 1
        return {month: (a, b) for month, (a, b) in found.items()}

    def patients_seen_before(self, first: date) -> set[tuple[str, str]]:
        """(hcode, cid) pairs with a claim before `first`."""
        rows = self.session.exec(
            select(ClaimRecord.hcode, ClaimRecord.patient_key)
            .where(col(ClaimRecord.service_date) < first)
            .distinct()
        ).all()
        return {(h, c) for h, c in rows}


class RosterRepository:
    """The insured roster (owned by provider_registry), as `fraud.rules.InsuredRoster`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.members = InsuredPersonRepository(session)

    def has_members(self) -> bool:
        return self.members.has_members()

    def enrollment(self, cid: str) -> Enrollment | None:
        found = self.session.connection().execute(ENROLLMENT, {"person_key": person_key(cid)})
        row = found.first()
        return None if row is None else Enrollment(*row)


def _lite_facts(
    identifier: str,
    hcode: str,
    setting: str,
    served: date,
    total: float,
    lines: list[tuple[int, str, float, float]],
) -> ClaimFacts:
    """The facts the price norms read, from stored lines (no CID: not needed here)."""
    ordered = sorted(lines)
    return ClaimFacts(
        identifier=identifier,
        hcode=hcode,
        cid="",
        day=served,
        hour=-1,
        setting=setting,
        age=None,
        sex=None,
        total=total,
        codes=tuple(code for _, code, _, _ in ordered),
        quantities=tuple(q for _, _, q, _ in ordered),
        unit_prices=tuple(net / q if q else net for _, _, q, net in ordered),
    )


def _days_read(end: date) -> tuple[date, date]:
    """The days one read of a hospital's per-day counts covers, for a question ending on `end`.

    From `end` - 36 to `end` + 1: whether the standing (28 days before the claim's day) or a
    surge count (35 days up to it) asks first, the other one is covered too.
    """
    return end - timedelta(days=HOSPITAL_DAYS_READ + 1), end + timedelta(days=1)


def _prior_claims(rows: Iterable[Sequence[Any]]) -> list[PriorClaim]:
    """Rows of (claim id, hcode, service day, total, line code) as one PriorClaim per claim."""
    claims: dict[str, tuple[str, date, Decimal]] = {}
    codes: dict[str, list[str]] = defaultdict(list)
    for claim_id, hcode, served, total, code in rows:
        if served is not None:
            claims[claim_id] = (hcode, served, total)
            if code is not None:
                codes[claim_id].append(code)
    return [
        PriorClaim(hcode, served, _signature(codes[claim_id]), float(total))
        for claim_id, (hcode, served, total) in claims.items()
    ]


def _signature(codes: Sequence[str]) -> str:
    probe = ClaimFacts(
        identifier="",
        hcode="",
        cid="",
        day=date(1970, 1, 1),
        hour=-1,
        setting="OPD",
        age=None,
        sex=None,
        total=0.0,
        codes=tuple(codes),
        quantities=(),
        unit_prices=(),
    )
    return probe.signature
