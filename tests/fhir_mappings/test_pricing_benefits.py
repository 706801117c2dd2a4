"""Table tests: every benefit of SSO-FACTS.md priced from the shipped default schedule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from fhir_mappings.claim import CareSetting, DrgGrouping
from fhir_mappings.pricing import BenefitUse
from tests.fhir_mappings.test_pricing_factories import (
    EMERGENCY,
    benefits,
    claim,
    line,
    price,
    reasons,
)

DAY = date(2026, 3, 10)  # a Tuesday
D = Decimal


def _then(
    first_claim_uses: tuple[BenefitUse, ...], *more: tuple[BenefitUse, ...]
) -> list[BenefitUse]:
    return [u for uses in (first_claim_uses, *more) for u in uses]


@pytest.mark.parametrize(
    ("code", "billed", "expected", "why"),
    [
        ("DENT-SCALING", "600", "600", []),
        ("DENT-FILLING", "1200", "900", ["above-tariff"]),
        ("DENT-EXTRACT", "300", "300", []),
        ("DENT-SURGERY", "900", "900", []),
        ("DENT-DENTURE-PARTIAL-1-5", "2000", "1300", ["above-tariff"]),
        ("DENT-DENTURE-PARTIAL-6PLUS", "1500", "1500", []),
        ("DENT-DENTURE-COMPLETE-ONE", "2600", "2400", ["above-tariff"]),
        ("DENT-DENTURE-COMPLETE-BOTH", "5000", "4400", ["above-tariff"]),
        ("BIRTH-LUMPSUM", "20000", "15000", ["above-tariff"]),
        ("PRENATAL-VISIT", "300", "300", []),
        ("DIALYSIS-HD", "1800", "1500", ["above-tariff"]),
        ("PD-MONTH", "25000", "20000", ["above-tariff"]),
    ],
)
def test_each_benefit_is_paid_up_to_its_ceiling(
    code: str, billed: str, expected: str, why: list[str]
) -> None:
    priced = price(claim(DAY, line(code, billed)))
    assert benefits(priced) == [D(expected)]
    assert reasons(priced) == [why]


def test_dental_900_per_calendar_year_is_shared_across_dental_items() -> None:
    first = price(claim(DAY, line("DENT-SCALING", "600")))
    second = price(claim(DAY + timedelta(days=30), line("DENT-FILLING", "500")), first.uses)
    assert benefits(second) == [D("300")]
    assert reasons(second) == [["limit-year"]]
    next_year = price(
        claim(date(2027, 1, 1), line("DENT-FILLING", "500")), _then(first.uses, second.uses)
    )
    assert benefits(next_year) == [D("500")]


def test_dentures_once_per_five_years() -> None:
    first = price(claim(DAY, line("DENT-DENTURE-COMPLETE-ONE", "2400")))
    again = price(
        claim(DAY + timedelta(days=4 * 365), line("DENT-DENTURE-PARTIAL-1-5", "1000")), first.uses
    )
    later = price(
        claim(DAY + timedelta(days=5 * 366), line("DENT-DENTURE-PARTIAL-1-5", "1000")), first.uses
    )
    assert (benefits(again), reasons(again)) == ([D(0)], [["frequency-limit"]])
    assert benefits(later) == [D("1000")]


def test_childbirth_lump_sum_was_13000_before_2021_and_once_per_birth() -> None:
    assert benefits(price(claim(date(2020, 12, 31), line("BIRTH-LUMPSUM", "15000")))) == [
        D("13000")
    ]
    delivery = "https://terms.sil-th.org/hcode/5/10661/AN|AN-1"
    first = price(claim(date(2021, 1, 1), line("BIRTH-LUMPSUM", "15000"), encounter=delivery))
    assert benefits(first) == [D("15000")]
    same_delivery_again = price(
        claim(
            date(2021, 1, 2), line("BIRTH-LUMPSUM", "15000"), invoice="INV-2", encounter=delivery
        ),
        first.uses,
    )
    assert reasons(same_delivery_again) == [["frequency-limit"]]


def test_twins_are_one_birth_and_a_later_delivery_is_paid_again() -> None:
    twins = price(
        claim(
            date(2022, 5, 1),
            line("BIRTH-LUMPSUM", "15000"),
            line("BIRTH-LUMPSUM", "15000"),
            encounter="AN|twins",
        )
    )
    assert benefits(twins) == [D("15000"), D(0)]
    assert reasons(twins) == [[], ["frequency-limit"]]
    next_child = price(
        claim(date(2023, 9, 1), line("BIRTH-LUMPSUM", "15000"), invoice="INV-9", encounter="AN|2"),
        twins.uses,
    )
    assert benefits(next_child) == [D("15000")]


def test_prenatal_care_is_1500_over_5_visits() -> None:
    uses: list[BenefitUse] = []
    paid = []
    for visit in range(6):
        priced = price(claim(DAY + timedelta(days=30 * visit), line("PRENATAL-VISIT", "400")), uses)
        uses += priced.uses
        paid.append(benefits(priced)[0])
    assert paid == [D(400), D(400), D(400), D(300), D(0), D(0)]
    assert sum(paid) == D(1500)


def test_prenatal_count_limit_stops_the_sixth_visit() -> None:
    uses: list[BenefitUse] = []
    last = None
    for visit in range(6):
        last = price(claim(DAY + timedelta(days=7 * visit), line("PRENATAL-VISIT", "200")), uses)
        uses += last.uses
    assert last is not None
    assert reasons(last) == [["frequency-limit"]]


def test_hemodialysis_1500_per_session_and_4500_per_week() -> None:
    monday = DAY - timedelta(days=DAY.weekday())
    uses: list[BenefitUse] = []
    paid = []
    for session in range(4):
        priced = price(claim(monday + timedelta(days=session), line("DIALYSIS-HD", "1500")), uses)
        uses += priced.uses
        paid.append(benefits(priced)[0])
    assert paid == [D(1500), D(1500), D(1500), D(0)]
    next_week = price(claim(monday + timedelta(days=7), line("DIALYSIS-HD", "1500")), uses)
    assert benefits(next_week) == [D(1500)]


def test_two_sessions_on_one_claim_share_the_weekly_cap() -> None:
    priced = price(
        claim(DAY, line("DIALYSIS-HD", "4000", quantity="3"), line("DIALYSIS-HD", "1500"))
    )
    assert benefits(priced) == [D(4000), D(500)]
    assert reasons(priced) == [[], ["limit-week"]]


def test_peritoneal_dialysis_20000_per_month() -> None:
    first = price(claim(date(2026, 3, 1), line("PD-MONTH", "15000")))
    second = price(claim(date(2026, 3, 20), line("PD-MONTH", "15000")), first.uses)
    april = price(
        claim(date(2026, 4, 1), line("PD-MONTH", "15000")), _then(first.uses, second.uses)
    )
    assert (benefits(second), reasons(second)) == ([D(5000)], [["limit-month"]])
    assert benefits(april) == [D(15000)]


def test_emergency_outpatient_at_non_contracted_hospital_is_capped_at_1000() -> None:
    priced = price(
        claim(
            DAY,
            line("ER-OPD", "700"),
            line("XRAY-CHEST", "200"),
            line("LAB-CBC", "180", "2"),
            setting=CareSetting.EMERGENCY,
        ),
        eligibility=EMERGENCY,
    )
    assert benefits(priced) == [D(700), D(200), D(100)]
    assert reasons(priced)[2] == ["emergency-rate-cap"]


def test_emergency_inpatient_is_2000_per_day_for_the_first_72_hours() -> None:
    stay = claim(
        DAY,
        line("IPD-ROOM", "3500", "5", day=DAY),
        line("IPD-NURSE", "1500", "5", day=DAY),
        line("XRAY-CHEST", "2000", "10", day=DAY),
        line("LAB-CBC", "90", day=DAY + timedelta(days=4)),
        setting=CareSetting.EMERGENCY,
        stay_days=5,
    )
    priced = price(stay, eligibility=EMERGENCY)
    assert benefits(priced) == [D(3500), D(1500), D(1000), D(0)]  # 3 days x 2000
    assert reasons(priced)[2:] == [["emergency-rate-cap"], ["emergency-window-exceeded"]]


def test_ucep_critical_emergency_is_paid_at_actual_cost() -> None:
    priced = price(
        claim(DAY, line("UCEP-CRITICAL", "48000"), setting=CareSetting.EMERGENCY, stay_days=2)
    )
    assert benefits(priced) == [D(48000)]


def test_emergency_rates_are_data_for_public_hospital_rooms_and_surgery() -> None:
    priced = price(
        claim(
            DAY,
            line("EMER-PUB-ROOM-DAY", "900", "1"),
            line("EMER-NC-SURG-MAJOR", "20000"),
            setting=CareSetting.EMERGENCY,
            stay_days=1,
        )
    )
    assert benefits(priced) == [D(700), D(16000)]


def test_drg_case_is_paid_at_adjrw_times_base_rate() -> None:
    grouping = DrgGrouping(drg="04102", rw=D("1.2"), adj_rw=D("1.15"))
    stay = claim(
        DAY,
        line("IPD-ROOM", "7000", "10"),
        line("IPD-NURSE", "3000", "10"),
        setting=CareSetting.IPD,
        stay_days=4,
        drg=grouping,
    )
    priced = price(stay)
    assert sum(benefits(priced)) == D("1.15") * D(8350)
    assert reasons(priced)[1] == ["drg-rate"]
    assert priced.adjudication.pend_reasons == ()


@pytest.mark.parametrize(
    ("grouping", "stay_days", "why"),
    [
        (DrgGrouping("04102", D("1.2"), None), 3, "drg-adjrw-missing"),
        (DrgGrouping("04102", D("1.2"), D("99")), 3, "drg-adjrw-out-of-range"),
        (DrgGrouping("04102", D("1.0"), D("3.5")), 0, "drg-los-implausible"),
    ],
)
def test_implausible_drg_pends_the_claim(grouping: DrgGrouping, stay_days: int, why: str) -> None:
    priced = price(
        claim(
            DAY, line("IPD-ROOM", "700"), setting=CareSetting.IPD, stay_days=stay_days, drg=grouping
        )
    )
    assert [r.code for r in priced.adjudication.pend_reasons] == [why]
    assert priced.adjudication.outcome(pended=False).value == "queued"


def test_drg_without_a_base_rate_on_the_date_pends() -> None:
    grouping = DrgGrouping("04102", D("1.2"), D("1.15"))
    priced = price(
        claim(
            date(2023, 6, 1),
            line("IPD-ROOM", "700"),
            setting=CareSetting.IPD,
            stay_days=3,
            drg=grouping,
        )
    )
    assert [r.code for r in priced.adjudication.pend_reasons] == ["drg-rate-missing"]


def test_negative_quantity_never_makes_a_negative_amount() -> None:
    priced = price(claim(DAY, line("LAB-CBC", "90", quantity="-2")))
    assert benefits(priced) == [D(0)]


def test_a_date_before_any_benefit_rule_denies_every_line() -> None:
    from fhir_mappings.pricing import deny_every_line

    adjudication = deny_every_line(
        claim(date(1980, 1, 1), line("LAB-CBC", "90")), "no-rules-on-date"
    )
    assert [[r.code for r in x.reasons] for x in adjudication.lines] == [["no-rules-on-date"]]
    assert adjudication.benefit == 0
