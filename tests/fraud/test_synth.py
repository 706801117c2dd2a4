"""The synthetic history: deterministic, realistic enough, labelled, valid claims."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date

import orjson
from stdnum.th import pin

from fhir_mappings.bundle import parse_claim_bundle
from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.claim_bundle import build_claim_bundle
from fhir_mappings.profile import map_claim
from fraud.calendar import day_weight, is_thai_holiday
from fraud.facts import facts_from_bundle
from fraud.synth import (
    PATTERNS,
    FraudRates,
    LabelledBundle,
    SynthHospital,
    build_world,
    default_network,
    generate_bundles,
    generate_claims,
    generate_history,
    roster_rows,
)
from gateway.cli.synth import last_day_of
from tests.fraud.conftest import labelled

# sha256 over the first 400 bundles and patterns for seed 1 (fraud x4), taken from the
# generator before it was made faster: trained models, tests and the documented fraud
# figures rely on the same seed giving the same file. Change it only on purpose.
SEED_1_DIGEST = "867b06a66502c5cf18a602b5e3a5db8be3b3e04515b6d1fcc343c1fa318031ef"


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    first = [orjson.dumps(i.bundle) for i in labelled(200, seed=5)]
    again = [orjson.dumps(i.bundle) for i in labelled(200, seed=5)]
    other = [orjson.dumps(i.bundle) for i in labelled(200, seed=6)]
    assert first == again
    assert first != other


def test_existing_call_signature_still_yields_the_requested_number_of_bundles() -> None:
    hospitals = [SynthHospital("10661", "Demo Provincial Hospital")]
    bundles = list(
        generate_bundles(claims=25, seed=2026, hospitals=hospitals, end=date(2026, 11, 1))
    )
    assert len(bundles) == 25
    assert {facts_from_bundle(b).hcode for b in bundles} == {"10661"}


def test_every_pattern_is_injected_and_labelled() -> None:
    items = labelled(4000, seed=8, scale=4.0)
    patterns = Counter(i.pattern for i in items)
    assert set(PATTERNS) <= set(patterns)
    assert all(i.label == (i.pattern != "none") for i in items)
    assert 0.5 < patterns["none"] / len(items) < 0.95


def test_fraud_off_gives_a_clean_history() -> None:
    assert {i.pattern for i in labelled(500, seed=3, scale=0.0)} == {"none"}


def test_claims_come_in_service_time_order_with_valid_citizen_ids() -> None:
    facts = [facts_from_bundle(i.bundle) for i in labelled(600, seed=4)]
    assert [f.day for f in facts] == sorted(f.day for f in facts)
    assert all(pin.is_valid(f.cid) for f in facts)


def test_encounter_types_cover_opd_ipd_dental_dialysis_childbirth_and_emergency() -> None:
    facts = [facts_from_bundle(i.bundle) for i in labelled(3000, seed=9)]
    codes = {code for f in facts for code in f.codes}
    assert {
        "OPD-VISIT",
        "IPD-ROOM",
        "DIALYSIS-HD",
        "BIRTH-LUMPSUM",
        "PRENATAL-VISIT",
        "ER-OPD",
    } <= codes
    assert any(code.startswith("DENT-") for code in codes)
    assert any(f.drg for f in facts if f.setting == "IPD")
    assert {f.setting for f in facts} == {"OPD", "IPD", "EMERGENCY"}


def test_prices_differ_by_hospital_around_the_reference() -> None:
    facts = [facts_from_bundle(i.bundle) for i in labelled(1500, seed=10, scale=0.0)]
    visit: dict[str, float | None] = {}
    for f in facts:
        visit.setdefault(
            f.hcode, f.unit_prices[f.codes.index("OPD-VISIT")] if "OPD-VISIT" in f.codes else None
        )
    prices = [p for p in visit.values() if p]
    assert len(set(prices)) > 3
    assert 100 < min(prices)
    assert max(prices) < 300


def test_weekends_and_holidays_are_quieter() -> None:
    facts = [facts_from_bundle(i.bundle) for i in labelled(3000, seed=13, scale=0.0, days=56)]
    per_weekday = Counter(f.day.weekday() for f in facts)
    assert per_weekday[6] < per_weekday[1] / 2
    assert is_thai_holiday(date(2026, 4, 13))
    assert day_weight(date(2026, 4, 13)) < day_weight(date(2026, 4, 21))


def test_bundles_pass_the_sso_profile(training_items: list[LabelledBundle]) -> None:
    for item in training_items[:40]:
        parsed = parse_claim_bundle(orjson.dumps(item.bundle), max_entries=100)
        assert not isinstance(parsed, list)
        hcode = facts_from_bundle(item.bundle).hcode
        assert isinstance(map_claim(parsed, acting_hcode=hcode), SubmittedClaim)


def test_roster_lists_the_population_with_deaths() -> None:
    world = build_world(seed=1, hospitals=default_network(), claims=2000, rates=FraudRates())
    rows = list(roster_rows(world))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert len(rows) == 400
    assert any(row["death_date"] for row in rows)
    assert all(pin.is_valid(row["cid"]) for row in rows)


def test_seed_1_still_gives_the_pinned_bytes() -> None:
    digest = hashlib.sha256()
    for item in generate_history(
        claims=400,
        seed=1,
        hospitals=default_network(),
        end=date(2026, 10, 31),
        rates=FraudRates().scaled(4.0),
    ):
        digest.update(orjson.dumps(item.bundle) + item.pattern.encode())
    assert digest.hexdigest() == SEED_1_DIGEST


def test_fast_bundles_equal_the_shared_bundle_builder_for_every_pattern() -> None:
    world = build_world(
        seed=8, hospitals=default_network(), claims=4000, rates=FraudRates().scaled(4.0)
    )
    patterns = set()
    for item in generate_claims(world, claims=4000, seed=8, end=date(2026, 11, 1)):
        spec = replace(
            item.spec, invoice=item.identifier, seed_uuid=str(uuid.UUID(bytes=item.seed))
        )
        reference = build_claim_bundle(spec)
        assert item.ndjson_line() == orjson.dumps(reference) + b"\n"
        assert item.bundle() == reference
        assert item.last_day == last_day_of(reference)
        patterns.add(item.pattern)
    assert set(PATTERNS) <= patterns


def test_fast_bundles_escape_hospital_names_as_orjson_does() -> None:
    hospitals = [SynthHospital("10661", 'โรงพยาบาล "ทดสอบ" \\ clinic\t')]
    world = build_world(seed=2, hospitals=hospitals, claims=200, rates=FraudRates())
    for item in generate_claims(world, claims=200, seed=2, end=date(2026, 11, 1)):
        spec = replace(
            item.spec, invoice=item.identifier, seed_uuid=str(uuid.UUID(bytes=item.seed))
        )
        assert item.ndjson_line() == orjson.dumps(build_claim_bundle(spec)) + b"\n"


def test_generating_claims_leaves_the_roster_unchanged() -> None:
    world = build_world(seed=3, hospitals=default_network(), claims=3000, rates=FraudRates())
    before = list(roster_rows(world))
    for _ in generate_claims(world, claims=3000, seed=3, end=date(2026, 11, 1)):
        pass
    assert list(roster_rows(world)) == before
