"""Real FHIR written elsewhere (Synthea, US-coded) parses and gets clear, located problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_mappings.bundle import ParsedBundle, parse_claim_bundle
from fhir_mappings.outcome import operation_outcome
from fhir_mappings.profile import map_claim

FIXTURES = sorted((Path(__file__).parents[3] / "shared" / "fixtures" / "synthea").glob("*.json"))


def test_all_twelve_fixtures_are_present() -> None:
    assert len(FIXTURES) == 12


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_parses_and_is_refused_with_located_problems(path: Path) -> None:
    parsed = parse_claim_bundle(path.read_bytes(), max_entries=1000)
    assert isinstance(parsed, ParsedBundle), "real R4 claim bundles must parse as R4B"
    problems = map_claim(parsed, acting_hcode="10661")
    assert isinstance(problems, list)
    assert problems
    rules = {p.rule for p in problems}
    assert {"cid-missing", "provider-missing", "invoice-missing", "currency"} <= rules
    outcome = operation_outcome(problems)
    for issue in outcome["issue"]:
        assert issue["expression"][0].startswith("Bundle.entry[")
        assert issue["diagnostics"]
        assert issue["details"]["text"]
