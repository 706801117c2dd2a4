"""The SSO claim profile: what a payable claim must carry, all problems at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.bundle import ParsedBundle, parse_claim_bundle
from fhir_mappings.claim import CareSetting, SubmittedClaim
from fhir_mappings.claim_bundle import LineSpec, build_claim_bundle
from fhir_mappings.problems import Problem, http_status
from fhir_mappings.profile import map_claim
from fhir_mappings.systems import invoice_system
from tests.support import CLAIMCON_EXAMPLE_CID, claim_dict, claim_spec

CLAIM = "Bundle.entry[0].resource"


def _map(
    bundle: dict[str, Any], hcode: str = "10661", now: datetime | None = None
) -> SubmittedClaim | list[Problem]:
    parsed = parse_claim_bundle(orjson.dumps(bundle), max_entries=100)
    assert isinstance(parsed, ParsedBundle), parsed
    return map_claim(parsed, acting_hcode=hcode, now=now)


def _rules(result: SubmittedClaim | list[Problem]) -> list[tuple[str, str]]:
    assert isinstance(result, list), result
    return [(p.rule, p.expression) for p in result]


def test_valid_claim_maps_to_typed_claim() -> None:
    claim = _map(claim_dict())
    assert isinstance(claim, SubmittedClaim)
    assert claim.identifier.system == invoice_system("10661")
    assert claim.total == Decimal("270")
    assert [line.net for line in claim.lines] == [Decimal(150), Decimal(90), Decimal(30)]
    assert claim.setting is CareSetting.OPD
    assert claim.diagnoses == ("J06.9",)


def test_claimcon_example_cid_fails_its_check_digit_clearly() -> None:
    result = _map(claim_dict(cid=CLAIMCON_EXAMPLE_CID))
    problems = result if isinstance(result, list) else []
    assert [(p.rule, p.expression) for p in problems] == [
        ("cid-invalid", "Bundle.entry[1].resource.identifier[0].value")
    ]
    assert "checksum" in problems[0].message_en
    masked = CLAIMCON_EXAMPLE_CID[0] + "*" * 8 + CLAIMCON_EXAMPLE_CID[-4:]
    assert masked in problems[0].message_en
    assert masked in problems[0].message_th
    assert CLAIMCON_EXAMPLE_CID not in problems[0].message_en + problems[0].message_th
    thai = problems[0].message_th.replace(masked, "")
    assert "checksum" not in thai
    assert all(
        ch.isspace() or ch in ":()" or "\u0e00" <= ch <= "\u0e7f" or ch.isdigit() for ch in thai
    )


def test_missing_cid_and_short_cid() -> None:
    bundle = claim_dict()
    bundle["entry"][1]["resource"]["identifier"] = []
    assert _rules(_map(bundle)) == [("cid-missing", "Bundle.entry[1].resource.identifier")]
    assert "13 digits" in _map(claim_dict(cid="12345"))[0].message_en  # type: ignore[index]


def test_provider_must_be_the_tokens_hospital() -> None:
    result = _map(claim_dict(), hcode="11512")
    assert _rules(result) == [
        ("provider-not-caller", "Bundle.entry[2].resource.identifier[0].value")
    ]
    assert isinstance(result, list)
    assert http_status(result) == 403


def test_provider_without_hcode_and_bad_hcode() -> None:
    bundle = claim_dict()
    bundle["entry"][2]["resource"]["identifier"] = [{"system": "urn:other", "value": "x"}]
    assert ("provider-missing", "Bundle.entry[2].resource.identifier") in _rules(_map(bundle))
    assert _rules(_map(claim_dict(hcode="1066")))[0][0] == "hcode-invalid"


def test_money_rules_report_each_line() -> None:
    bundle = claim_dict()
    claim = bundle["entry"][0]["resource"]
    claim["total"] = {"value": 999, "currency": "USD"}
    del claim["item"][1]["net"]
    claim["item"][2]["net"]["currency"] = "EUR"
    rules = _rules(_map(bundle))
    assert ("currency", f"{CLAIM}.total.currency") in rules
    assert ("item-net", f"{CLAIM}.item[1].net") in rules
    assert ("currency", f"{CLAIM}.item[2].net.currency") in rules


def test_total_must_equal_sum_of_nets() -> None:
    bundle = claim_dict()
    bundle["entry"][0]["resource"]["total"]["value"] = 271
    assert _rules(_map(bundle)) == [("total-mismatch", f"{CLAIM}.total.value")]


def test_items_need_sequence_product_and_net() -> None:
    bundle = claim_dict()
    items = bundle["entry"][0]["resource"]["item"]
    items[1]["sequence"] = 1
    items[2]["productOrService"] = {"text": "something"}
    rules = _rules(_map(bundle))
    assert ("item-sequence", f"{CLAIM}.item[1].sequence") in rules
    assert ("item-product", f"{CLAIM}.item[2].productOrService") in rules


def test_future_service_dates_and_inverted_period() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    future = claim_spec(start=now + timedelta(days=3), end=now + timedelta(days=3, hours=1))
    rules = _rules(_map(build_claim_bundle(future), now=now))
    assert ("date-future", f"{CLAIM}.billablePeriod.start") in rules
    assert ("date-future", f"{CLAIM}.item[0].servicedDate") in rules
    inverted = claim_spec(start=now - timedelta(days=1), end=now - timedelta(days=2))
    assert ("billable-period", f"{CLAIM}.billablePeriod") in _rules(
        _map(build_claim_bundle(inverted), now=now)
    )


def test_use_status_and_invoice_are_required() -> None:
    bundle = claim_dict()
    claim = bundle["entry"][0]["resource"]
    claim["use"], claim["status"], claim["identifier"] = "preauthorization", "draft", []
    rules = [r for r, _ in _rules(_map(bundle))]
    assert rules == ["claim-use", "claim-status", "invoice-missing"]


def test_encounter_class_sets_the_care_setting_and_stay() -> None:
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    spec = claim_spec(
        setting=CareSetting.IPD,
        start=start,
        end=start + timedelta(days=3),
        drg=("04102", Decimal("1.2"), Decimal("1.15")),
    )
    claim = _map(build_claim_bundle(spec))
    assert isinstance(claim, SubmittedClaim)
    assert claim.setting is CareSetting.IPD
    assert claim.drg is not None
    assert claim.drg.adj_rw == Decimal("1.15")
    assert claim.discharged is not None
    assert claim.admitted is not None
    assert (claim.discharged - claim.admitted).days == 3


amounts = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("50000"), places=2)


@settings(max_examples=60, deadline=None)
@given(
    prices=st.lists(amounts, min_size=1, max_size=12),
    quantity=st.integers(min_value=1, max_value=30),
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 11, 1)),
)
def test_any_well_formed_claim_maps_and_its_total_adds_up(
    prices: list[Decimal], quantity: int, day: date
) -> None:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    lines = tuple(LineSpec(f"C{i}", "item", p, Decimal(quantity)) for i, p in enumerate(prices))
    spec = claim_spec(lines=lines, start=start, end=start + timedelta(hours=1))
    claim = _map(build_claim_bundle(spec))
    assert isinstance(claim, SubmittedClaim)
    assert claim.total == sum((line.net for line in claim.lines), Decimal(0))
    assert len(claim.lines) == len(prices)
