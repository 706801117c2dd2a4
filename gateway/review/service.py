"""What reviewers read: the queue, one claim in full, and the supervisor's statistics."""

from __future__ import annotations

import base64
import bisect
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from fhir_mappings import systems
from fhir_mappings.citizen_id import mask_citizen_id
from fhir_mappings.limits import normalise_citizen_id
from gateway.claims.models import ClaimLineRecord, ClaimRecord
from gateway.fhir.responses import ProblemError, http_problem
from gateway.review.decisions import ReviewContext, renew_lock
from gateway.review.labels import reviewer_labels
from gateway.review.models import ReviewDecision
from gateway.review.reasons import reasons_for_review
from gateway.review.repository import QueueCursor, QueueFilter, ReviewRepository
from gateway.review.schemas import (
    AuditMonth,
    AwaitingSecond,
    ClaimDetail,
    DecisionOut,
    HistoryEntry,
    HospitalProfile,
    Interval,
    LineOut,
    PatientOut,
    PeerPosition,
    PersonClaim,
    QueueItem,
    QueuePage,
    ReviewerDay,
    ReviewStats,
)
from gateway.review.selection import BANGKOK
from gateway.scoring.repository import ClaimHistoryRepository
from gateway.settings import Settings
from provider_registry.models import as_utc

BACKLOG_BUCKETS = ((24, "0-24h"), (48, "24-48h"), (72, "48-72h"), (None, "72h+"))
PEER_DAYS = 90
PERSON_DAYS = 365
CID_PATTERN = re.compile(r"\b\d{13}\b")


# The queue
def queue(
    repo: ReviewRepository,
    settings: Settings,
    *,
    where: QueueFilter,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> QueuePage:
    """A page of pended claims, riskiest expected loss first; the cursor survives decisions."""
    rows = repo.queue_page(where, after=decode_cursor(cursor), limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    names = repo.hospital_names({r.hcode for r in page})
    items = [_queue_item(r, names.get(r.hcode), settings, now) for r in page]
    next_cursor = encode_cursor(QueueCursor(page[-1].expected_loss, page[-1].id)) if more else None
    return QueuePage(items=items, next_cursor=next_cursor, total=repo.queue_total(where))


def _queue_item(
    record: ClaimRecord, name: str | None, settings: Settings, now: datetime
) -> QueueItem:
    received = as_utc(record.created_at)
    return QueueItem(
        claim_id=record.id,
        hcode=record.hcode,
        hospital_name=name,
        received_at=received,
        service_date=record.service_date,
        claimed=record.total_submitted,
        benefit=record.total_benefit,
        risk=round(record.fraud_score or 0.0, 4),
        expected_loss=record.expected_loss,
        reasons=reasons_for_review(record.fraud_reasons, record.review_source),
        assignee=record.assignee,
        age_hours=round((now - received).total_seconds() / 3600, 1),
        sla_due_at=received + timedelta(hours=settings.review_sla_hours),
        source=record.review_source,
    )


def encode_cursor(cursor: QueueCursor) -> str:
    """An opaque cursor for the next page."""
    raw = orjson.dumps([str(cursor.expected_loss), cursor.claim_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> QueueCursor | None:
    """The position a cursor names; 400 for one the gateway did not write."""
    if not cursor:
        return None
    try:
        loss, claim_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return QueueCursor(Decimal(loss), str(claim_id)[:36])
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise http_problem(
            400,
            "invalid",
            "The cursor is not one this queue gave out; start again without it.",
            "cursor ไม่ถูกต้อง กรุณาเริ่มใหม่โดยไม่ระบุ cursor",
            "cursor",
        ) from exc


# One claim
def claim_detail(ctx: ReviewContext, claim_id: str) -> ClaimDetail:
    """Everything about one claim a reviewer needs, renewing the caller's lock."""
    repo = ctx.repo
    record = repo.claim(claim_id)
    if record is None:
        raise _not_found(claim_id)
    renew_lock(ctx, record)
    bundle = orjson.loads(record.bundle_json)
    response = repo.response(claim_id)
    decisions = repo.decisions(claim_id)
    received = as_utc(record.created_at)
    return ClaimDetail(
        claim_id=record.id,
        invoice=record.identifier_value,
        hcode=record.hcode,
        hospital_name=repo.hospital_names({record.hcode}).get(record.hcode),
        status=record.status,
        source=record.review_source,
        claim_type=record.claim_type,
        setting=record.setting,
        received_at=received,
        service_date=record.service_date,
        claimed=record.total_submitted,
        eligible=record.total_eligible,
        benefit=record.total_benefit,
        risk=record.fraud_score,
        expected_loss=record.expected_loss,
        model_version=record.model_version,
        reasons=reasons_for_review(record.fraud_reasons, record.review_source),
        lines=_lines(repo.lines(claim_id), bundle),
        patient=_patient(bundle),
        person_claims=_person_claims(repo, record, ctx.now),
        hospital=_hospital_profile(repo, record.hcode, ctx.now),
        peer_positions=_peer_positions(repo, record, ctx.now),
        bundle=masked(bundle),
        claim_response=masked(orjson.loads(response.resource_json)) if response else None,
        decisions=[_decision_out(d) for d in decisions],
        earlier_notes=_earlier_notes(repo, record),
        history=_history(repo, claim_id, decisions),
        assignee=record.assignee,
        lock_expires_at=as_utc(record.lock_expires_at) if record.lock_expires_at else None,
        sla_due_at=received + timedelta(hours=ctx.settings.review_sla_hours),
    )


def _lines(lines: Sequence[ClaimLineRecord], bundle: dict[str, Any]) -> list[LineOut]:
    displays = _item_displays(bundle)
    return [
        LineOut(
            sequence=line.sequence,
            code=line.product_code,
            display=displays.get(line.sequence),
            quantity=line.quantity,
            submitted=line.submitted,
            eligible=line.eligible,
            benefit=line.benefit,
            reasons=[r for r in line.reasons.split(";") if r],
        )
        for line in lines
    ]


def _item_displays(bundle: dict[str, Any]) -> dict[int, str]:
    claim = (bundle.get("entry") or [{}])[0].get("resource", {})
    displays = {}
    for item in claim.get("item", []):
        coding = (item.get("productOrService", {}).get("coding") or [{}])[0]
        text = coding.get("display") or item.get("productOrService", {}).get("text")
        if isinstance(item.get("sequence"), int) and text:
            displays[item["sequence"]] = str(text)
    return displays


def _patient(bundle: dict[str, Any]) -> PatientOut:
    patient: dict[str, Any] = next(
        (
            e.get("resource", {})
            for e in bundle.get("entry", [])
            if e.get("resource", {}).get("resourceType") == "Patient"
        ),
        {},
    )
    cid = next(
        (
            str(i.get("value", ""))
            for i in patient.get("identifier", [])
            if i.get("system") == systems.CID_SYSTEM
        ),
        "",
    )
    return PatientOut(
        masked_cid=mask_citizen_id(normalise_citizen_id(cid)),
        birth_date=patient.get("birthDate"),
        gender=patient.get("gender"),
    )


def masked(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource with every 13-digit citizen ID masked (reviewers need no full ID)."""
    text = orjson.dumps(resource).decode()
    masked: dict[str, Any] = orjson.loads(
        CID_PATTERN.sub(lambda m: mask_citizen_id(m.group()), text)
    )
    return masked


def _person_claims(repo: ReviewRepository, record: ClaimRecord, now: datetime) -> list[PersonClaim]:
    since = (now - timedelta(days=PERSON_DAYS)).date()
    return [
        PersonClaim(
            claim_id=c.id,
            hcode=c.hcode,
            service_date=c.service_date,
            claim_type=c.claim_type,
            status=c.status,
            claimed=c.total_submitted,
            benefit=c.total_benefit,
            risk=c.fraud_score,
            this_claim=c.id == record.id,
        )
        for c in repo.person_claims(record.patient_key, since)
    ]


def _hospital_profile(repo: ReviewRepository, hcode: str, now: datetime) -> HospitalProfile:
    local = now.astimezone(BANGKOK)
    start = datetime.combine(local.date().replace(day=1), time.min, tzinfo=BANGKOK)
    months = repo.hospital_months(start, now + timedelta(seconds=1))
    rates = sorted(
        ((m.flagged / m.claims if m.claims else 0.0, m.hcode) for m in months), reverse=True
    )
    ranks = {h: i + 1 for i, (_, h) in enumerate(rates)}
    mine = next((m for m in months if m.hcode == hcode), None)
    return HospitalProfile(
        hcode=hcode,
        name=repo.hospital_names({hcode}).get(hcode),
        month=start.strftime("%Y-%m"),
        claims=mine.claims if mine else 0,
        flagged=mine.flagged if mine else 0,
        flag_rate=round(mine.flagged / mine.claims, 4) if mine and mine.claims else None,
        rank=ranks.get(hcode),
        hospitals=len(months),
    )


PEER_FEATURES = (
    ("claimed", "Amount claimed (THB)", "ยอดเรียกเก็บ (บาท)"),
    ("lines", "Billed lines", "จำนวนรายการที่เรียกเก็บ"),
    ("risk", "Fraud risk score", "คะแนนความเสี่ยง"),
)


def _peer_positions(
    repo: ReviewRepository, record: ClaimRecord, now: datetime
) -> list[PeerPosition]:
    """Percentiles of the claim among recent claims of the same type and setting."""
    peers = repo.peer_claims(record.claim_type, record.setting, now - timedelta(days=PEER_DAYS))
    own_lines = len(repo.lines(record.id))
    own = {
        "claimed": float(record.total_submitted),
        "lines": float(own_lines),
        "risk": float(record.fraud_score or 0.0),
    }
    columns = {
        "claimed": sorted(float(a) for a, _, _ in peers),
        "lines": sorted(float(n) for _, _, n in peers),
        "risk": sorted(float(s or 0.0) for _, s, _ in peers),
    }
    return [
        PeerPosition(
            feature=name,
            label_en=en,
            label_th=th,
            value=own[name],
            percentile=_percentile(columns[name], own[name]),
            peers=len(columns[name]),
            peer_values=_sample(columns[name]),
        )
        for name, en, th in PEER_FEATURES
    ]


def _percentile(values: Sequence[float], value: float) -> float:
    """Share of peers strictly below the value, plus half the ties (mid-rank), in percent."""
    if not values:
        return 0.0
    below = bisect.bisect_left(values, value)
    ties = bisect.bisect_right(values, value) - below
    return round(100 * (below + ties / 2) / len(values), 1)


def _sample(values: Sequence[float], most: int = 200) -> list[float]:
    if len(values) <= most:
        return list(values)
    step = len(values) / most
    return [values[int(i * step)] for i in range(most)]


def _decision_out(d: ReviewDecision) -> DecisionOut:
    return DecisionOut(
        id=d.id or 0,
        reviewer=d.reviewer,
        decision=d.decision,
        state=d.state,
        note=d.note,
        message_to_hospital=d.message_to_hospital,
        benefit_before=d.benefit_before,
        benefit_after=d.benefit_after,
        decided_at=as_utc(d.decided_at),
        second_reviewer=d.second_reviewer,
        second_approved=d.second_approved,
        second_note=d.second_note,
    )


def _earlier_notes(repo: ReviewRepository, record: ClaimRecord) -> list[DecisionOut]:
    """The decisions on the claim this one corrects (an officer's request for information)."""
    if record.related_claim_id is None:
        return []
    return [_decision_out(d) for d in repo.decisions(record.related_claim_id)]


def _history(
    repo: ReviewRepository, claim_id: str, decisions: Sequence[ReviewDecision]
) -> list[HistoryEntry]:
    notes = {(d.reviewer, as_utc(d.decided_at)): d.note for d in decisions}
    return [
        HistoryEntry(
            at=as_utc(e.at),
            actor=e.actor,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            note=notes.get((e.actor.removeprefix("staff:"), as_utc(e.at))),
        )
        for e in repo.history(claim_id)
    ]


# The supervisor's statistics
def review_stats(repo: ReviewRepository, settings: Settings, now: datetime) -> ReviewStats:
    """Backlog by age, throughput per reviewer, SLA breaches, overturns, and what audits found."""
    sla = timedelta(hours=settings.review_sla_hours)
    waiting = [as_utc(t) for t in repo.pended_since()]
    recent = repo.decided_since(now - timedelta(days=14))
    seconds = [d for d in recent if d.second_at is not None]
    overturned = sum(1 for d in seconds if d.second_approved is False)
    return ReviewStats(
        backlog_by_age=_backlog(waiting, now),
        sla_hours=settings.review_sla_hours,
        sla_breached_waiting=sum(1 for t in waiting if now - t > sla),
        sla_breached_decided=sum(
            1
            for received, decided in repo.decision_delays(now - timedelta(days=14))
            if as_utc(decided) - as_utc(received) > sla
        ),
        decisions_per_reviewer_per_day=_per_reviewer_day(recent),
        second_approvals_decided=len(seconds),
        second_approvals_overturned=overturned,
        overturn_rate=round(overturned / len(seconds), 4) if seconds else None,
        awaiting_second_approval=[_awaiting(d) for d in repo.all_awaiting_second()],
        audit_by_month=audit_by_month(repo),
    )


def _backlog(waiting: Sequence[datetime], now: datetime) -> dict[str, int]:
    counts = dict.fromkeys((label for _, label in BACKLOG_BUCKETS), 0)
    for received in waiting:
        hours = (now - received).total_seconds() / 3600
        label = next(lbl for limit, lbl in BACKLOG_BUCKETS if limit is None or hours < limit)
        counts[label] += 1
    return counts


def _per_reviewer_day(decisions: Sequence[ReviewDecision]) -> list[ReviewerDay]:
    counts = Counter(
        (d.reviewer, as_utc(d.decided_at).astimezone(BANGKOK).date()) for d in decisions
    )
    return [
        ReviewerDay(reviewer=r, day=day, decisions=n)
        for (r, day), n in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0]), reverse=True)
    ]


def _awaiting(d: ReviewDecision) -> AwaitingSecond:
    return AwaitingSecond(
        claim_id=d.claim_id,
        hcode=d.hcode,
        reviewer=d.reviewer,
        decision=d.decision,
        benefit_before=d.benefit_before,
        benefit_after=d.benefit_after,
        decided_at=as_utc(d.decided_at),
    )


def audit_by_month(repo: ReviewRepository) -> list[AuditMonth]:
    """Per month: the miss rate among random-audit claims, the precision of model flags and
    the recall they imply (fraud.misses), from reviewers' final decisions."""
    from fraud.misses import estimate

    labels = reviewer_labels(repo.session)
    counts = ClaimHistoryRepository(repo.session).monthly_flag_counts()
    months = estimate(labels, counts)["by_month"]
    return [
        AuditMonth(
            month=month,
            miss_rate=_interval(figures["miss_rate"]),
            flag_precision=_interval(figures["flag_precision"]),
            estimated_recall=(figures["estimated_recall"] or {}).get("value"),
        )
        for month, figures in sorted(months.items(), reverse=True)
        if figures["miss_rate"]["n"] or figures["flag_precision"]["n"]
    ]


def _interval(share: dict[str, Any]) -> Interval:
    low, high = share["ci95"] or (None, None)
    return Interval(
        events=share["hits"], trials=share["n"], rate=share["value"], low=low, high=high
    )


def _not_found(claim_id: str) -> ProblemError:
    return http_problem(
        404, "not-found", f"Claim/{claim_id[:64]} is not known.", f"ไม่พบ Claim/{claim_id[:64]}"
    )
