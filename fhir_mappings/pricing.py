"""Line-by-line pricing against the SSO tariff: eligible amounts, caps, accumulators and DRG.

Pure: the caller supplies the claim, its eligibility, the schedule, the hospital's code
mappings, the person's earlier benefit use and the benefit parameters. Every amount and limit
comes from those data; none is written here.

Per line: `submitted` is what the hospital billed; `eligible` is the smaller of submitted and
the tariff price x quantity; `benefit` is what is left after limits, accumulators and the claim
envelopes (emergency rates at a non-contracted hospital, Thai DRG adjRW x base rate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from fhir_mappings import systems
from fhir_mappings.adjudication import Adjudication, AdjudicationReason, LineAdjudication
from fhir_mappings.adjudication_reasons import reason
from fhir_mappings.claim import CareSetting, ClaimLine, SubmittedClaim
from fhir_mappings.eligibility import CareRoute, Eligibility
from fhir_mappings.pricing_drg import drg_pend_reasons
from fhir_mappings.tariff import (
    BenefitParameters,
    LimitPeriod,
    TariffItem,
    TariffLimit,
    TariffMapping,
    TariffSchedule,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
DRG_BASE_RATE = "DRG-BASE-RATE"
EMERGENCY_OPD_ENVELOPE = "EMER-NC-OPD"
EMERGENCY_IPD_ENVELOPE = "EMER-NC-IPD-DAY"
EMERGENCY_OWN_CEILINGS = frozenset({"EMER-NC-ICU-DAY", "EMER-NC-SURG-MAJOR"})
"""Private-hospital emergency items with a ceiling of their own (ICU 4,500 a day, major surgery
8,000-16,000, gcc.go.th/?p=303650): paid beside the daily inpatient envelope, not inside it."""
PUBLIC_EMERGENCY_ROOM = "EMER-PUB-ROOM-DAY"
ROOM_AND_BOARD_CATEGORY = "01"
"""Thai fee category 1, room and board: what the public-hospital room ceiling applies to."""
PUBLIC, PRIVATE = "public", "private"
LIMIT_REASONS = {
    LimitPeriod.VISIT: "limit-visit",
    LimitPeriod.DAY: "limit-day",
    LimitPeriod.WEEK: "limit-week",
    LimitPeriod.MONTH: "limit-month",
    LimitPeriod.YEAR: "limit-year",
    LimitPeriod.YEARS: "limit-period",
    LimitPeriod.DAYS: "limit-period",
    LimitPeriod.ENCOUNTER: "limit-period",
}


@dataclass(frozen=True, slots=True)
class BenefitUse:
    """Benefit paid against a limit group on a day; what accumulators add up."""

    group: str
    tariff_code: str
    service_date: date
    amount: Decimal
    count: int
    encounter: str = ""
    """The care episode the use belongs to (LimitPeriod.ENCOUNTER counts per episode)."""


@dataclass(frozen=True, slots=True)
class PricingInput:
    """Everything pricing needs, read by the caller from its stores."""

    claim: SubmittedClaim
    eligibility: Eligibility
    schedule: TariffSchedule
    mappings: Sequence[TariffMapping]
    history: Sequence[BenefitUse]
    parameters: BenefitParameters
    ownership: str = PRIVATE
    """The billing hospital's ownership (public or private): decides emergency rates."""


@dataclass(frozen=True, slots=True)
class PricedClaim:
    """The adjudication, and the benefit uses to record against the person's accumulators."""

    adjudication: Adjudication
    uses: tuple[BenefitUse, ...]


@dataclass(slots=True)
class _Line:
    """A line while it is being priced."""

    sequence: int
    day: date
    submitted: Decimal
    eligible: Decimal = ZERO
    benefit: Decimal = ZERO
    item: TariffItem | None = None
    reasons: list[AdjudicationReason] = field(default_factory=list)

    def deny(self, code: str) -> None:
        self.benefit = ZERO
        self.reasons.append(reason(code))

    def reduce_to(self, amount: Decimal, code: str) -> None:
        if amount < self.benefit:
            self.benefit = max(amount, ZERO)
            self.reasons.append(reason(code))

    def frozen(self) -> LineAdjudication:
        return LineAdjudication(
            sequence=self.sequence,
            submitted=self.submitted,
            eligible=self.eligible,
            benefit=self.benefit,
            reasons=tuple(self.reasons),
        )


def price_claim(given: PricingInput) -> PricedClaim:
    """Price every line of a claim; a denied line never stops the others."""
    claim = given.claim
    lines = [_start(line, claim) for line in sorted(claim.lines, key=lambda x: x.sequence)]
    if not given.eligibility.covered:
        assert given.eligibility.denial is not None
        for line in lines:
            line.reasons.append(given.eligibility.denial)
        return _finish(lines, ())
    this_claim: list[BenefitUse] = []
    for line, source in zip(lines, sorted(claim.lines, key=lambda x: x.sequence), strict=True):
        _price_line(line, source, given, this_claim)
    pend = _apply_envelopes(lines, given)
    return _finish(lines, pend, encounter_of(claim))


def deny_every_line(claim: SubmittedClaim, code: str) -> Adjudication:
    """Every line denied for one reason, e.g. when no benefit rules are in force on the date."""
    denied = reason(code)
    return Adjudication(
        lines=tuple(
            LineAdjudication(
                sequence=x.sequence,
                submitted=x.net.quantize(CENT, ROUND_HALF_UP),
                eligible=ZERO,
                benefit=ZERO,
                reasons=(denied,),
            )
            for x in sorted(claim.lines, key=lambda x: x.sequence)
        )
    )


def _start(line: ClaimLine, claim: SubmittedClaim) -> _Line:
    day = line.serviced_date or claim.service_date
    assert day is not None  # eligibility denies claims without a service date
    return _Line(sequence=line.sequence, day=day, submitted=line.net.quantize(CENT, ROUND_HALF_UP))


def _price_line(
    line: _Line, source: ClaimLine, given: PricingInput, this_claim: list[BenefitUse]
) -> None:
    code = tariff_code_for(source, given.mappings, line.day)
    if code is None:
        line.deny("unmapped-code")
        return
    item = given.schedule.item_on(code, line.day)
    problem = _applicability(item, given)
    if item is None or problem is not None:
        line.deny(problem or "not-in-tariff-on-date")
        return
    line.item = item
    line.eligible = _eligible(line.submitted, item, source.quantity)
    line.benefit = line.eligible
    if line.eligible < line.submitted:
        line.reasons.append(reason("above-tariff"))
    if item.limit is not None:
        episode = encounter_of(given.claim)
        _apply_limit(line, item.limit, given.history, this_claim, episode)
        this_claim.append(_use(line, item.limit, item.code, episode))


def tariff_code_for(line: ClaimLine, mappings: Sequence[TariffMapping], day: date) -> str | None:
    """The SSO tariff code a billed line stands for: direct, or through the hospital's mapping."""
    if line.product_system == systems.TARIFF_SYSTEM:
        return line.product_code
    for mapping in mappings:
        if (
            mapping.local_code == line.product_code
            and mapping.in_force_on(day)
            and mapping.local_system in ("", line.product_system)
        ):
            return mapping.tariff_code
    return None


def _applicability(item: TariffItem | None, given: PricingInput) -> str | None:
    if item is None:
        return "not-in-tariff-on-date"
    if given.eligibility.section not in item.sections:
        return "not-covered-section"
    if given.claim.setting not in item.settings:
        return "not-covered-setting"
    return None


def _eligible(submitted: Decimal, item: TariffItem, quantity: Decimal) -> Decimal:
    if item.price is None:
        return submitted
    priced = (item.price * max(quantity, ZERO)).quantize(CENT, ROUND_HALF_UP)
    return min(submitted, priced)


def encounter_of(claim: SubmittedClaim) -> str:
    """The care episode of a claim: its Encounter, else the claim itself (its invoice)."""
    return claim.encounter_key or f"claim|{claim.identifier.token()}"


def _apply_limit(
    line: _Line,
    limit: TariffLimit,
    history: Sequence[BenefitUse],
    this_claim: Sequence[BenefitUse],
    episode: str,
) -> None:
    in_window = [
        u
        for u in this_claim
        if u.group == limit.group
        and (
            limit.period in (LimitPeriod.VISIT, LimitPeriod.ENCOUNTER)
            or _in_window(limit, u, line.day)
        )
    ]
    if limit.period is LimitPeriod.ENCOUNTER:
        in_window += [u for u in history if u.group == limit.group and u.encounter == episode]
    elif limit.period is not LimitPeriod.VISIT:
        in_window += [
            u for u in history if u.group == limit.group and _in_window(limit, u, line.day)
        ]
    if limit.count is not None and sum(u.count for u in in_window) >= limit.count:
        line.deny("frequency-limit")
        return
    if limit.amount is not None:
        spent = sum((u.amount for u in in_window), ZERO)
        line.reduce_to(limit.amount - spent, LIMIT_REASONS[limit.period])


def _in_window(limit: TariffLimit, use: BenefitUse, day: date) -> bool:
    """Whether a use counts against the limit for a service on `day`."""
    start, end = limit_window(limit, day)
    return start <= use.service_date <= end


def limit_window(limit: TariffLimit, day: date) -> tuple[date, date]:
    """The days whose use counts against a limit for a service on `day` (inclusive)."""
    n = limit.period_n
    if limit.period is LimitPeriod.DAY:
        return day, day
    if limit.period is LimitPeriod.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if limit.period is LimitPeriod.MONTH:
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if limit.period is LimitPeriod.YEAR:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if limit.period is LimitPeriod.YEARS:
        return _years_before(day, n) + timedelta(days=1), _years_before(day, -n) - timedelta(days=1)
    return day - timedelta(days=n - 1), day + timedelta(days=n - 1)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _use(line: _Line, limit: TariffLimit, code: str, episode: str) -> BenefitUse:
    return BenefitUse(
        group=limit.group,
        tariff_code=code,
        service_date=line.day,
        amount=line.benefit,
        count=1 if line.benefit > 0 else 0,
        encounter=episode,
    )


def _apply_envelopes(lines: list[_Line], given: PricingInput) -> tuple[AdjudicationReason, ...]:
    if given.eligibility.route is CareRoute.EMERGENCY_NON_CONTRACTED:
        _apply_emergency_rules(lines, given)
    if given.claim.drg is None:
        return ()
    pend = drg_pend_reasons(given.claim, given.parameters)
    if pend:
        return pend
    day = _discharge_day(given.claim)
    rate = given.schedule.item_on(DRG_BASE_RATE, day)
    if rate is None or rate.price is None:
        return (reason("drg-rate-missing"),)
    assert given.claim.drg.adj_rw is not None
    _cap_total(
        lines, (given.claim.drg.adj_rw * rate.price).quantize(CENT, ROUND_HALF_UP), "drg-rate"
    )
    return ()


def _apply_emergency_rules(lines: list[_Line], given: PricingInput) -> None:
    """The first `emergency_window_hours` from the encounter's start, at the ownership's rates."""
    start = emergency_start(given.claim, lines)
    hours = given.parameters.on("emergency_window_hours", start.date())
    window_end = start + timedelta(hours=float(hours))
    for line in lines:
        if _day_start(line.day, start) >= window_end and line.benefit > 0:
            line.deny("emergency-window-exceeded")
    window_days = max(math.ceil(hours / 24), 1)
    if given.ownership == PUBLIC:
        _cap_public_room(lines, given, start.date(), window_days)
        return
    cap = _emergency_cap(given, start.date(), window_days)
    if cap is not None:
        enveloped = [
            x for x in lines if x.item is None or x.item.code not in EMERGENCY_OWN_CEILINGS
        ]
        _cap_total(enveloped, cap, "emergency-rate-cap")


def emergency_start(claim: SubmittedClaim, lines: Sequence[_Line] = ()) -> datetime:
    """When the emergency began: the encounter's start, else the billable period's, else day 1."""
    start = claim.admitted or claim.billable_start
    if start is not None:
        return start
    first = min((line.day for line in lines), default=claim.service_date or date.today())
    return datetime.combine(first, time())


def _day_start(day: date, like: datetime) -> datetime:
    """Midnight of `day` in the time zone of `like`: a line dated `day` began no earlier."""
    return datetime.combine(day, time(), tzinfo=like.tzinfo)


def _cap_public_room(lines: list[_Line], given: PricingInput, first_day: date, days: int) -> None:
    """Public hospital: actual cost, but room and board at most the room ceiling per day."""
    item = given.schedule.item_on(PUBLIC_EMERGENCY_ROOM, first_day)
    if item is None or item.price is None:
        return
    stay = min(max(_stay_days(given.claim), 1), days)
    room = [x for x in lines if x.item is not None and x.item.fee_category == item.fee_category]
    _cap_total(room, item.price * stay, "emergency-rate-cap")


def _emergency_cap(given: PricingInput, first_day: date, window_days: int) -> Decimal | None:
    """Private hospital: a ceiling per outpatient visit, or per inpatient day in the window."""
    claim = given.claim
    stay = _stay_days(claim)
    admitted = claim.setting is CareSetting.IPD or stay >= 1
    code = EMERGENCY_IPD_ENVELOPE if admitted else EMERGENCY_OPD_ENVELOPE
    item = given.schedule.item_on(code, first_day)
    if item is None or item.price is None:
        return None
    days = min(max(stay, 1), window_days) if admitted else 1
    return item.price * days


def _stay_days(claim: SubmittedClaim) -> int:
    start = claim.admitted or claim.billable_start
    end = claim.discharged or claim.billable_end
    if start is None or end is None or end <= start:
        return 0
    return (end.date() - start.date()).days


def _discharge_day(claim: SubmittedClaim) -> date:
    end = claim.discharged or claim.billable_end
    if end is not None:
        return end.date()
    assert claim.service_date is not None
    return claim.service_date


def _cap_total(lines: list[_Line], cap: Decimal, code: str) -> None:
    """Pay lines in sequence order until the claim-level cap is spent."""
    remaining = cap
    for line in lines:
        line.reduce_to(remaining, code)
        remaining = max(remaining - line.benefit, ZERO)


def _finish(
    lines: list[_Line], pend: tuple[AdjudicationReason, ...], episode: str = ""
) -> PricedClaim:
    uses = tuple(
        BenefitUse(
            group=line.item.limit.group,
            tariff_code=line.item.code,
            service_date=line.day,
            amount=line.benefit,
            count=1 if line.benefit > 0 else 0,
            encounter=episode,
        )
        for line in lines
        if line.item is not None and line.item.limit is not None
    )
    adjudication = Adjudication(lines=tuple(line.frozen() for line in lines), pend_reasons=pend)
    return PricedClaim(adjudication=adjudication, uses=uses)
