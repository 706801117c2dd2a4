"""Issue 12: the pricing tables are cached per process, yet an import is priced with on the next
claim, with no restart (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from fhir_mappings.claim_bundle import LineSpec
from fhir_mappings.tariff import default_schedule_text, parse_tariff_csv
from gateway.cli.main import app as cli
from gateway.pricing.imports import import_tariff_items
from gateway.pricing.repository import TariffRepository
from tests.provider_registry.factories import insure
from tests.support import claim_bytes, claim_spec

SUBMIT = "/fhir/Claim/$submit"
TARIFF_HEADER = (
    "code,name_th,name_en,fee_category,price,unit,limit_amount,limit_count,limit_period,"
    "limit_period_n,limit_group,sections,settings,valid_from,valid_to,source,confidence,"
    "illustrative\n"
)
LOCAL = "https://example.org/local"


def _benefits(
    client: TestClient, auth: dict[str, str], invoice: str, *lines: LineSpec
) -> list[float]:
    spec = claim_spec(invoice=invoice, lines=lines) if lines else claim_spec(invoice=invoice)
    answer = client.post(SUBMIT, content=claim_bytes(spec), headers=auth)
    assert answer.status_code == 201, answer.text
    items: list[dict[str, Any]] = answer.json()["entry"][0]["resource"]["item"]
    return [
        next(
            a["amount"]["value"]
            for a in item["adjudication"]
            if a["category"]["coding"][0]["code"] == "benefit"
        )
        for item in items
    ]


def _import(claimgw: CliRunner, tmp_path: Path, *args: str, rows: str) -> dict[str, Any]:
    path = tmp_path / f"{args[-1]}.csv"
    path.write_text(rows, encoding="utf-8")
    result = claimgw.invoke(cli, ["tariff", *args[:-1], str(path), "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def test_changed_tariff_price_is_used_by_the_next_claim(
    client: TestClient, auth: dict[str, str], engine: Engine, claimgw: CliRunner, tmp_path: Path
) -> None:
    insure(engine)
    assert _benefits(client, auth, "INV-1") == [150.0, 90.0, 30.0]
    # the same version of OPD-VISIT (same valid_from), its price corrected from 150 to 120
    cheaper = next(
        line.replace(",150,visit,", ",120,visit,")
        for line in default_schedule_text().splitlines()
        if line.startswith("OPD-VISIT,")
    )
    report = _import(claimgw, tmp_path, "import", "items", rows=TARIFF_HEADER + cheaper + "\n")
    assert report["updated"] == 1
    assert _benefits(client, auth, "INV-2") == [120.0, 90.0, 30.0]


def test_new_mapping_is_used_by_the_next_claim(
    client: TestClient, auth: dict[str, str], engine: Engine, claimgw: CliRunner, tmp_path: Path
) -> None:
    insure(engine)
    local = LineSpec("X-99", "Local consultation", Decimal("150"), system=LOCAL, category="12")
    assert _benefits(client, auth, "INV-1", local) == [0.0]  # unmapped
    rows = (
        "hcode,local_system,local_code,tariff_code,valid_from,valid_to,source\n"
        f"10661,{LOCAL},X-99,OPD-VISIT,2016-01-01,,test mapping\n"
    )
    assert _import(claimgw, tmp_path, "map-import", "mappings", rows=rows)["added"] == 1
    assert _benefits(client, auth, "INV-2", local) == [150.0]


def test_only_a_change_moves_the_revision(engine: Engine) -> None:
    items, _errors = parse_tariff_csv(default_schedule_text())
    with Session(engine) as session:
        repo = TariffRepository(session)
        import_tariff_items(session, items)
        session.commit()
        before, stored = repo.revision(), repo.count_items()
        assert import_tariff_items(session, items).unchanged == len(items)
        session.commit()
        assert repo.revision() == before
        corrected = replace(items[0], price=Decimal("1.00"))
        assert import_tariff_items(session, [corrected]).updated == 1
        session.commit()
        after = repo.revision()
        assert (after.items or 0) > (before.items or 0)
        assert (after.mappings, after.parameters) == (before.mappings, before.parameters)
        assert repo.count_items() == stored
        assert repo.item_version(corrected.code, corrected.valid_from).price == Decimal("1.00")  # type: ignore[union-attr]
