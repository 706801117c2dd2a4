"""Property tests: amounts are ordered, totals add up, accumulators hold, dates are honoured."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.claim import CareSetting, ClaimLine
from fhir_mappings.pricing import BenefitUse, limit_window
from fhir_mappings.tariff import LimitPeriod, TariffItem, TariffLimit, TariffSchedule
from tests.fhir_mappings.test_pricing_factories import (
    DEFAULT_ITEMS,
    EMERGENCY,
    SCHEDULE,
    claim,
    line,
    price,
)

OPD_CODES = sorted(
    {i.code for i in DEFAULT_ITEMS if CareSetting.OPD in i.settings and i.sections != {40}}
    | {"UNKNOWN-CODE"}
)
amounts = st.decimals(min_value=0, max_value=30000, places=2, allow_nan=False, allow_infinity=False)
quantities = st.integers(min_value=1, max_value=6).map(Decimal)
days = st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 11, 1))
LIMITED_CODES = sorted(
    i.code for i in DEFAULT_ITEMS if i.limit is not None and CareSetting.OPD in i.settings
)
codes = st.one_of(st.sampled_from(OPD_CODES), st.sampled_from(LIMITED_CODES))
lines = st.builds(lambda code, net, qty: line(code, str(net), str(qty)), codes, amounts, quantities)
claims = st.tuples(days, st.lists(lines, min_size=1, max_size=6))


@settings(max_examples=200, deadline=None)
@given(claims)
def test_benefit_never_exceeds_eligible_nor_eligible_submitted(
    drawn: tuple[date, list[ClaimLine]],
) -> None:
    day, billed = drawn
    for eligibility in (None, EMERGENCY):
        kwargs = {"eligibility": eligibility} if eligibility else {}
        setting = CareSetting.EMERGENCY if eligibility else CareSetting.OPD
        adjudication = price(claim(day, *billed, setting=setting), **kwargs).adjudication
        for decided in adjudication.lines:
            assert Decimal(0) <= decided.benefit <= decided.eligible <= decided.submitted


@settings(max_examples=200, deadline=None)
@given(claims)
def test_totals_add_up(drawn: tuple[date, list[ClaimLine]]) -> None:
    day, billed = drawn
    adjudication = price(claim(day, *billed)).adjudication
    assert adjudication.submitted == sum((x.net for x in billed), Decimal(0))
    assert adjudication.benefit == sum((x.benefit for x in adjudication.lines), Decimal(0))
    assert adjudication.eligible == sum((x.eligible for x in adjudication.lines), Decimal(0))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 11, 1)),
            st.lists(lines, min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_no_accumulator_is_ever_exceeded(history: list[tuple[date, list[ClaimLine]]]) -> None:
    uses: list[BenefitUse] = []
    for n, (day, billed) in enumerate(sorted(history, key=lambda c: c[0])):
        uses += price(claim(day, *billed, invoice=f"INV-{n}"), uses).uses
    for item in DEFAULT_ITEMS:
        limit = item.limit
        if limit is None or limit.period is LimitPeriod.VISIT:
            continue
        for use in uses:
            window = _same_window(limit, use, uses)
            if limit.amount is not None:
                assert sum((u.amount for u in window), Decimal(0)) <= limit.amount
            if limit.count is not None:
                assert sum(u.count for u in window) <= limit.count


def _same_window(limit: TariffLimit, use: BenefitUse, uses: list[BenefitUse]) -> list[BenefitUse]:
    """The uses that count together with `use` against `limit`."""
    if limit.period is LimitPeriod.ENCOUNTER:
        return [u for u in uses if u.group == limit.group and u.encounter == use.encounter]
    start, end = _window_starting_at(limit, use.service_date)
    return [u for u in uses if u.group == limit.group and start <= u.service_date <= end]


def _window_starting_at(limit: TariffLimit, day: date) -> tuple[date, date]:
    """A calendar window holding `day`, or the rolling window that starts on `day`."""
    if limit.period is LimitPeriod.DAYS:
        return day, day + timedelta(days=limit.period_n - 1)
    if limit.period is LimitPeriod.YEARS:
        return day, day.replace(year=day.year + limit.period_n) - timedelta(days=1)
    return limit_window(limit, day)


@settings(max_examples=100, deadline=None)
@given(days, st.integers(min_value=0, max_value=400))
def test_effective_dates_are_honoured_at_their_boundaries(valid_from: date, length: int) -> None:
    valid_to = valid_from + timedelta(days=length)
    item = TariffItem(
        code="X-1",
        name_th="x",
        name_en="x",
        fee_category="16",
        price=Decimal(100),
        unit="item",
        sections=frozenset({33}),
        settings=frozenset({CareSetting.OPD}),
        valid_from=valid_from,
        valid_to=valid_to,
        source="test",
    )
    schedule = TariffSchedule([item])
    inside = [valid_from, valid_to]
    outside = [valid_from - timedelta(days=1), valid_to + timedelta(days=1)]
    for day in inside:
        assert price(claim(day, line("X-1", "100")), schedule=schedule).adjudication.benefit == 100
    for day in outside:
        priced = price(claim(day, line("X-1", "100")), schedule=schedule)
        assert [r.code for r in priced.adjudication.lines[0].reasons] == ["not-in-tariff-on-date"]


def test_the_default_schedule_has_one_version_per_code_on_any_day() -> None:
    versions: dict[str, list[TariffItem]] = defaultdict(list)
    for item in DEFAULT_ITEMS:
        versions[item.code].append(item)
    for items in versions.values():
        for a in items:
            for b in items:
                overlap = (
                    a is not b
                    and a.valid_from <= (b.valid_to or date.max)
                    and b.valid_from <= (a.valid_to or date.max)
                )
                assert not overlap, (a.code, a.valid_from, b.valid_from)


def test_a_successor_version_takes_over_the_day_after() -> None:
    assert SCHEDULE.item_on("BIRTH-LUMPSUM", date(2020, 12, 31)).price == 13000  # type: ignore[union-attr]
    assert SCHEDULE.item_on("BIRTH-LUMPSUM", date(2021, 1, 1)).price == 15000  # type: ignore[union-attr]
