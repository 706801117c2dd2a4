"""SSO rules that were approximated: the emergency window in hours, public/private emergency
rates, childbirth per delivery, and benefit parameters as effective-dated data."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import orjson
from fhir.resources.R4B.claim import Claim

from fhir_mappings.bundle import ParsedBundle, parse_claim_bundle
from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_response import response_bundle
from fhir_mappings.profile import map_claim
from fhir_mappings.stored_claim import self_contained_claim
from fhir_mappings.tariff import BenefitParameter, BenefitParameters, parse_parameter_csv
from tests.fhir_mappings.test_pricing_factories import (
    EMERGENCY,
    PARAMETERS,
    THAI,
    benefits,
    claim,
    line,
    price,
    reasons,
)
from tests.support import claim_dict

DAY = date(2026, 3, 10)
D = Decimal


def _emergency_at(start: datetime, *lines_: object, stay_days: int = 0) -> object:
    base = claim(start.date(), *lines_, setting=CareSetting.EMERGENCY, stay_days=stay_days)  # type: ignore[arg-type]
    return replace(base, admitted=start, billable_start=start)


def test_emergency_window_counts_72_hours_from_the_encounter_start() -> None:
    evening = datetime.combine(DAY, time(20, 0), THAI)
    stay = _emergency_at(
        evening,
        line("LAB-CBC", "90", day=DAY + timedelta(days=3)),  # 09:00-ish on day 3 < 20:00: inside
        line("LAB-FBS", "40", day=DAY + timedelta(days=4)),  # day 4 starts after 72 h: outside
        stay_days=4,
    )
    priced = price(stay, eligibility=EMERGENCY)  # type: ignore[arg-type]
    assert reasons(priced) == [[], ["emergency-window-exceeded"]]


def test_a_midnight_start_ends_the_window_at_the_start_of_day_three() -> None:
    midnight = datetime.combine(DAY, time(0, 0), THAI)
    stay = _emergency_at(
        midnight,
        line("LAB-CBC", "90", day=DAY + timedelta(days=2)),
        line("LAB-FBS", "40", day=DAY + timedelta(days=3)),
        stay_days=3,
    )
    assert reasons(price(stay, eligibility=EMERGENCY)) == [[], ["emergency-window-exceeded"]]  # type: ignore[arg-type]


def _inpatient_emergency() -> object:
    return claim(
        DAY,
        line("IPD-ROOM", "3500", "5", day=DAY),
        line("IPD-NURSE", "1500", "5", day=DAY),
        line("XRAY-CHEST", "2000", "10", day=DAY),
        setting=CareSetting.EMERGENCY,
        stay_days=5,
    )


def test_private_hospital_emergency_is_capped_at_the_private_daily_rate() -> None:
    priced = price(_inpatient_emergency(), eligibility=EMERGENCY, ownership="private")  # type: ignore[arg-type]
    assert sum(benefits(priced)) == D(6000)  # 3 days x 2,000


def test_private_emergency_icu_and_major_surgery_keep_their_own_ceilings() -> None:
    stay = claim(
        DAY,
        line("IPD-ROOM", "2100", "3", day=DAY),  # 3 x 700 by tariff, over the 2,000 envelope
        line("EMER-NC-ICU-DAY", "5000", "1", day=DAY),
        line("EMER-NC-SURG-MAJOR", "20000", day=DAY),
        setting=CareSetting.EMERGENCY,
        stay_days=1,
    )
    priced = price(stay, eligibility=EMERGENCY, ownership="private")  # type: ignore[arg-type]
    assert benefits(priced) == [D(2000), D(4500), D(16000)]  # ward envelope, ICU day, surgery


def test_public_hospital_emergency_pays_actual_cost_with_room_at_most_700_a_day() -> None:
    priced = price(_inpatient_emergency(), eligibility=EMERGENCY, ownership="public")  # type: ignore[arg-type]
    assert benefits(priced) == [D(2100), D(1500), D(2000)]  # room 3 days x 700; the rest as billed
    assert reasons(priced) == [["emergency-rate-cap"], [], []]


def test_public_hospital_emergency_outpatient_is_not_capped_at_1000() -> None:
    visit = claim(
        DAY,
        line("ER-OPD", "700"),
        line("XRAY-CHEST", "200"),
        line("LAB-CBC", "180", "2"),
        setting=CareSetting.EMERGENCY,
    )
    assert sum(benefits(price(visit, eligibility=EMERGENCY, ownership="public"))) == D(1080)
    assert sum(benefits(price(visit, eligibility=EMERGENCY, ownership="private"))) == D(1000)


def test_a_new_emergency_window_is_a_data_row_with_a_later_valid_from() -> None:
    announcement = BenefitParameter(
        name="emergency_window_hours",
        value=D(24),
        valid_from=date(2026, 1, 1),
        valid_to=None,
        source="hypothetical announcement",
    )
    shorter = BenefitParameters([*PARAMETERS.rows(), announcement])
    stay = claim(
        DAY,
        line("LAB-CBC", "90", day=DAY),
        line("LAB-FBS", "40", day=DAY + timedelta(days=2)),  # 39 h after a 09:00 start
        setting=CareSetting.EMERGENCY,
        stay_days=2,
    )
    assert reasons(price(stay, eligibility=EMERGENCY, parameters=shorter))[1] == [
        "emergency-window-exceeded"
    ]
    assert reasons(price(stay, eligibility=EMERGENCY))[1] == []
    assert shorter.on("emergency_window_hours", date(2025, 12, 31)) == 72


def test_parameter_csv_keeps_the_source_and_confidence() -> None:
    rows, errors = parse_parameter_csv(
        "name,value,valid_from,valid_to,source,confidence\n"
        "min_contribution_months,4,2027-01-01,,announcement 3/2570,H\n"
        "broken,x,2027-01-01,,s,L\n"
    )
    assert [(r.name, r.value, r.confidence) for r in rows] == [
        ("min_contribution_months", D(4), "H")
    ]
    assert [e.row for e in errors] == [2]


def _parsed(bundle: dict[str, object]) -> ParsedBundle:
    parsed = parse_claim_bundle(orjson.dumps(bundle), max_entries=100)
    assert isinstance(parsed, ParsedBundle)
    return parsed


def test_a_delivery_is_keyed_by_its_encounter() -> None:
    bundle = claim_dict()
    claim_ = map_claim(_parsed(bundle), acting_hcode="10661")
    assert not isinstance(claim_, list)
    assert claim_.encounter_key is not None
    bundle["entry"][4]["resource"]["identifier"] = [{"system": "urn:an", "value": "AN-7"}]
    with_an = map_claim(_parsed(bundle), acting_hcode="10661")
    assert not isinstance(with_an, list)
    assert with_an.encounter_key == "urn:an|AN-7"


def test_stored_claim_contains_what_it_references_and_is_valid_alone() -> None:
    bundle = claim_dict()
    stored = self_contained_claim(bundle, "c0ffee00-0000-4000-8000-000000000001")
    text = orjson.dumps(stored).decode()
    assert "urn:uuid:" not in text
    assert {r["resourceType"] for r in stored["contained"]} >= {
        "Patient",
        "Organization",
        "Coverage",
    }
    Claim.model_validate(stored)
    local_ids = {f"#{r['id']}" for r in stored["contained"]}
    assert stored["patient"]["reference"] in local_ids
    assert bundle["entry"][0]["resource"]["patient"]["reference"].startswith("urn:uuid:")


def test_preview_bundle_full_url_is_a_uuid_urn() -> None:
    url = response_bundle({"resourceType": "ClaimResponse"}, "http://x")["entry"][0]["fullUrl"]
    prefix, _, value = url.rpartition(":")
    assert prefix == "urn:uuid"
    assert uuid.UUID(value).version == 4
