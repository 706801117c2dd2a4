"""Parsing a body into a claim Bundle: every structural problem, with its FHIRPath."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import limits
from fhir_mappings.bundle import (
    ParsedBundle,
    _first_bounds_problem,
    bounds_problems,
    parse_claim_bundle,
)
from fhir_mappings.problems import Problem, ProblemKind, http_status
from tests.support import claim_bytes, claim_dict


def _rules(result: ParsedBundle | list[Problem]) -> list[tuple[str, str]]:
    assert isinstance(result, list), "expected problems"
    return [(p.rule, p.expression) for p in result]


def test_valid_bundle_parses_with_claim_first() -> None:
    parsed = parse_claim_bundle(claim_bytes(), max_entries=100)
    assert isinstance(parsed, ParsedBundle)
    assert parsed.claim.get_resource_type() == "Claim"


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (b"", "body-empty"),
        (b"   \n", "body-empty"),
        (b"{not json", "json-invalid"),
        (b"\xff\xfe", "json-invalid"),
        (b"[1, 2]", "not-a-bundle"),
        (b'"Bundle"', "not-a-bundle"),
        (b'{"resourceType": "Patient"}', "not-a-bundle"),
    ],
)
def test_unparseable_bodies_are_structure_problems(body: bytes, rule: str) -> None:
    result = parse_claim_bundle(body, max_entries=100)
    assert _rules(result) == [(rule, "Bundle")]
    assert isinstance(result, list)
    assert http_status(result) == 400


def test_fhir_type_errors_carry_their_path() -> None:
    bundle = claim_dict()
    bundle["entry"][0]["resource"]["item"][1]["sequence"] = "two"
    result = parse_claim_bundle(orjson.dumps(bundle), max_entries=100)
    assert isinstance(result, list)
    assert result[0].rule == "fhir-invalid"
    assert result[0].expression.startswith("Bundle.entry[0].resource")
    assert "item[1].sequence" in result[0].expression


def test_too_many_entries_is_refused_before_model_parsing() -> None:
    bundle = claim_dict()
    bundle["entry"] += [
        {"fullUrl": f"urn:uuid:x{i}", "resource": {"resourceType": "Basic"}} for i in range(200)
    ]
    result = parse_claim_bundle(orjson.dumps(bundle), max_entries=50)
    assert isinstance(result, list)
    assert result[0].rule == "too-many-entries"
    assert result[0].kind is ProblemKind.TOO_LARGE
    assert http_status(result) == 413


def test_shape_problems_are_all_reported_at_once() -> None:
    bundle = claim_dict()
    bundle["type"] = "transaction"
    bundle["entry"][0], bundle["entry"][1] = bundle["entry"][1], bundle["entry"][0]
    bundle["entry"][2]["fullUrl"] = bundle["entry"][3]["fullUrl"]
    del bundle["entry"][4]["fullUrl"]
    for entry in bundle["entry"][:2]:
        if entry["resource"]["resourceType"] == "Claim":
            entry["request"] = {"method": "POST", "url": "Claim"}
    rules = _rules(parse_claim_bundle(orjson.dumps(bundle), max_entries=100))
    assert ("bundle-type", "Bundle.type") in rules
    assert ("first-entry-claim", "Bundle.entry[0].resource") in rules
    assert ("fullurl-duplicate", "Bundle.entry[3].fullUrl") in rules
    assert ("fullurl-missing", "Bundle.entry[4].fullUrl") in rules


def test_every_unresolved_reference_is_named() -> None:
    bundle = claim_dict()
    claim = bundle["entry"][0]["resource"]
    claim["patient"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    claim["item"][2]["encounter"][0]["reference"] = "Encounter/missing"
    rules = _rules(parse_claim_bundle(orjson.dumps(bundle), max_entries=100))
    assert rules == [
        ("reference-unresolved", "Bundle.entry[0].resource.patient.reference"),
        ("reference-unresolved", "Bundle.entry[0].resource.item[2].encounter[0].reference"),
    ]


def test_relative_and_absolute_references_resolve_by_type_and_id() -> None:
    bundle = claim_dict()
    patient = bundle["entry"][1]
    patient["resource"]["id"] = "p1"
    bundle["entry"][0]["resource"]["patient"]["reference"] = "Patient/p1"
    bundle["entry"][3]["resource"]["beneficiary"]["reference"] = (
        "https://his.example.org/fhir/Patient/p1"
    )
    assert isinstance(parse_claim_bundle(orjson.dumps(bundle), max_entries=100), ParsedBundle)


_TEXT = st.text(alphabet=st.sampled_from("ab\n\t\x00\x1f\x7fé"), max_size=10)
_TREES = st.recursive(
    st.none() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(tree=st.dictionaries(_TEXT, _TREES, max_size=3))
def test_bounds_fast_pass_finds_what_the_walk_finds(tree: dict[str, object]) -> None:
    """The one-pass check of sound trees answers as the node-by-node walk does, problem or not,
    under small limits that random trees reach (depth 3, 6 characters)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits, "MAX_JSON_DEPTH", 3)
        patch.setattr(limits, "MAX_STRING_CHARS", 6)
        assert bounds_problems(tree) == _first_bounds_problem(tree)
