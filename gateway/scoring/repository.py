"""Queries of fraud scoring: the model registry, claim history, the roster and provider figures.

Fraud analytics is an SSO-wide view: these reads span hospitals and are used only by the
scorer and by analysts' commands, never by a hospital-facing route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from fraud.facts import ClaimFacts
from fraud.history import Order, PriorClaim
from fraud.rules import Enrollment
from gateway.claims.models import ClaimLineRecord, ClaimRecord
from gateway.scoring.models import FraudModelVersion
from provider_registry.repository import InsuredPersonRepository

EXCLUDED_STATUSES = ("rejected",)


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
    """Earlier stored claims, as `fraud.history.ClaimHistory` for the online scorer."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def person_claims(self, cid: str, start: date, before: Order) -> Sequence[PriorClaim]:
        rows = self.session.execute(
            sa_select(
                col(ClaimRecord.id),
                col(ClaimRecord.hcode),
                col(ClaimRecord.service_date),
                col(ClaimRecord.total_submitted),
            ).where(
                col(ClaimRecord.patient_cid) == cid,
                col(ClaimRecord.service_date) >= start,
                col(ClaimRecord.service_date) <= before[0],
                col(ClaimRecord.status).not_in(EXCLUDED_STATUSES),
            )
        ).all()
        codes = self._codes([row[0] for row in rows])
        return [
            PriorClaim(hcode, served, _signature(codes.get(claim_id, ())), float(total))
            for claim_id, hcode, served, total in rows
            if served is not None
        ]

    def _codes(self, claim_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        if claim_ids:
            for claim_id, code in self.session.exec(
                select(ClaimLineRecord.claim_id, ClaimLineRecord.product_code).where(
                    col(ClaimLineRecord.claim_id).in_(claim_ids)
                )
            ).all():
                found[claim_id].append(code)
        return found

    def hospital_claim_count(self, hcode: str, start: date, end: date, before: Order) -> int:
        return int(
            self.session.exec(
                select(func.count())
                .select_from(ClaimRecord)
                .where(
                    ClaimRecord.hcode == hcode,
                    col(ClaimRecord.service_date) >= start,
                    col(ClaimRecord.service_date) <= end,
                    col(ClaimRecord.status).not_in(EXCLUDED_STATUSES),
                )
            ).one()
        )

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
                col(ClaimRecord.patient_cid),
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
        return [
            facts
            for facts, _, _ in self._claim_facts(
                col(ClaimRecord.hcode) == hcode,
                col(ClaimRecord.service_date) >= start,
                col(ClaimRecord.service_date) <= end,
                col(ClaimRecord.status).not_in(EXCLUDED_STATUSES),
            )
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
            select(ClaimRecord.hcode, ClaimRecord.patient_cid)
            .where(col(ClaimRecord.service_date) < first)
            .distinct()
        ).all()
        return {(h, c) for h, c in rows}


class RosterRepository:
    """The insured roster (owned by provider_registry), as `fraud.rules.InsuredRoster`."""

    def __init__(self, session: Session) -> None:
        self.members = InsuredPersonRepository(session)

    def has_members(self) -> bool:
        return self.members.has_members()

    def enrollment(self, cid: str) -> Enrollment | None:
        person = self.members.get(cid)
        if person is None:
            return None
        return Enrollment(
            person.section,
            person.main_hcode,
            person.coverage_start,
            person.coverage_end,
            person.death_date,
        )


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
