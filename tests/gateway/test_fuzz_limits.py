"""Issue 10, fuzzing on both databases: depth, size, Unicode and numeric ranges never give a
5xx, and whatever is stored fits its column (findings 3, 4 and 5 slipped through on SQLite)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings import limits
from tests.support import claim_dict

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=160)
AMOUNTS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1, max_value=10**16),
    st.sampled_from([Decimal("1e15"), Decimal("999999999999.99"), Decimal("1000000000000")]),
)


def _post(client: TestClient, auth: dict[str, str], bundle: dict[str, Any], route: str) -> Any:
    body = json.dumps(bundle, default=str).encode()
    answer = client.post(f"/fhir/Claim/{route}", content=body, headers=auth)
    assert answer.status_code < 500, answer.text[:300]
    assert answer.headers["content-type"].startswith("application/fhir+json")
    return answer


@FUZZ
@given(invoice=TEXT, route=st.sampled_from(["$submit", "$validate"]))
def test_any_invoice_text_is_stored_normalised_or_refused(
    client: TestClient, auth: dict[str, str], invoice: str, route: str
) -> None:
    answer = _post(client, auth, claim_dict(invoice=invoice), route)
    if answer.status_code in (200, 201):
        value = limits.normalise_identifier(invoice)
        assert limits.identifier_refusal(value) is None
        assert len(value) <= limits.INVOICE_MAX


@FUZZ
@given(amount=AMOUNTS, quantity=AMOUNTS)
def test_any_amount_fits_its_column_or_is_refused(
    client: TestClient, auth: dict[str, str], amount: Decimal, quantity: Decimal
) -> None:
    bundle = claim_dict(invoice=f"N-{abs(hash((amount, quantity))) % 10**9}")
    claim = bundle["entry"][0]["resource"]
    claim["item"][0]["net"]["value"] = float(amount)
    claim["item"][0]["quantity"] = {"value": float(quantity)}
    claim["total"]["value"] = float(amount)
    _post(client, auth, bundle, "$submit")


@FUZZ
@given(depth=st.integers(min_value=0, max_value=400), width=st.integers(min_value=1, max_value=50))
def test_any_nesting_depth_is_answered(
    client: TestClient, auth: dict[str, str], depth: int, width: int
) -> None:
    node: dict[str, Any] = {"url": "http://x", "valueString": "x"}
    for _ in range(depth):  # one chain: the body grows linearly with depth
        node = {"url": "http://x", "extension": [node]}
    bundle = claim_dict()
    bundle["entry"][0]["resource"]["extension"] = [node] * width  # siblings at the top only
    answer = _post(client, auth, bundle, "$validate")
    if depth + 6 > limits.MAX_JSON_DEPTH:
        assert answer.status_code == 400


@FUZZ
@given(value=TEXT)
def test_any_search_or_id_text_is_answered(
    client: TestClient, auth: dict[str, str], value: str
) -> None:
    for answer in (
        client.get("/fhir/Claim", params={"identifier": value}, headers=auth),
        client.get("/fhir/ClaimResponse", params={"request": value}, headers=auth),
    ):
        assert answer.status_code < 500, answer.text[:300]


@pytest.mark.parametrize("size", [10, 2_000])
def test_many_items_are_answered_quickly(
    client: TestClient, auth: dict[str, str], size: int
) -> None:
    bundle = claim_dict()
    item = bundle["entry"][0]["resource"]["item"][0]
    bundle["entry"][0]["resource"]["item"] = [item | {"sequence": i + 1} for i in range(size)]
    answer = _post(client, auth, bundle, "$validate")
    assert answer.status_code == (422 if size > limits.MAX_CLAIM_ITEMS else answer.status_code)
