"""`claimgw member` and `claimgw tariff` as an operator runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from fhir_mappings.claim_bundle import build_claim_bundle
from gateway.cli.main import app
from tests.provider_registry.factories import OTHER_CID
from tests.support import VALID_CID, claim_spec

HEADER = "cid,section,main_hcode,coverage_start,coverage_end,contribution_months,death_date"
BAD_CID = "1330656439244"  # ClaimCon's example; fails its own check digit


def _run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _roster(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_member_import_reports_bad_rows_without_the_full_cid(
    claimgw: CliRunner, tmp_path: Path
) -> None:
    roster = _roster(
        tmp_path,
        f"{VALID_CID},33,10661,2015-01-01,,15,",
        f"{BAD_CID},33,10661,2015-01-01,,15,",
        f"{OTHER_CID},41,10661,2015-01-01,,15,",
        f"{OTHER_CID},39,10661,2015-01-01,2030-12-31,4,",
    )
    code, output = _run(claimgw, "member", "import", str(roster), "--json")
    assert code == 4  # rows were refused; the valid ones are imported all the same
    report = json.loads(output)
    assert (report["added"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert [e["row"] for e in report["errors"]] == [2, 3]
    assert report["errors"][0]["reason"] == "citizen ID 1********9244 is invalid (checksum)"
    assert BAD_CID not in output
    assert report["errors"][1]["reason"] == "section must be 33, 39 or 40, not 41"


def test_member_import_is_idempotent_and_updates_changed_rows(
    claimgw: CliRunner, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, f"{VALID_CID},33,10661,2015-01-01,,15,")
    _run(claimgw, "member", "import", str(roster))
    again = json.loads(_run(claimgw, "member", "import", str(roster), "--json")[1])
    changed = _roster(tmp_path, f"{VALID_CID},33,10661,2015-01-01,,15,2026-01-05")
    updated = json.loads(_run(claimgw, "member", "import", str(changed), "--json")[1])
    assert (again["added"], again["unchanged"]) == (0, 1)
    assert updated["updated"] == 1


def test_member_import_shows_a_table_for_people(claimgw: CliRunner, tmp_path: Path) -> None:
    code, output = _run(
        claimgw, "member", "import", str(_roster(tmp_path, f"{BAD_CID},33,10661,2015-01-01,,15,"))
    )
    assert code == 4  # a row was refused
    assert "Refused rows" in output
    assert BAD_CID not in output


def test_member_import_of_a_missing_file_fails_cleanly(claimgw: CliRunner, tmp_path: Path) -> None:
    code, _ = _run(claimgw, "member", "import", str(tmp_path / "nope.csv"))
    assert code == 1


def test_roster_from_claims_insures_every_patient(claimgw: CliRunner, tmp_path: Path) -> None:
    claims = tmp_path / "claims.ndjson"
    claims.write_bytes(orjson.dumps(build_claim_bundle(claim_spec())) + b"\n")
    out = tmp_path / "roster.csv"
    code, _ = _run(claimgw, "member", "roster-from-claims", str(claims), "--out", str(out))
    assert code == 0
    assert out.read_text().splitlines() == [HEADER, f"{VALID_CID},33,10661,2015-01-01,,15,"]


def test_tariff_list_loads_the_default_schedule_on_first_use(claimgw: CliRunner) -> None:
    code, output = _run(claimgw, "tariff", "list", "--on", "2020-06-01", "--json")
    rows = {r["code"]: r for r in json.loads(output)}
    assert code == 0
    assert rows["BIRTH-LUMPSUM"]["price"] == "13000.00"
    assert rows["DENT-SCALING"]["limit"] == "900.00 THB per year (dental)"
    assert "DRG-BASE-RATE" not in rows  # the illustrative base rate starts in 2024


def test_tariff_import_adds_a_new_version_and_list_honours_the_date(
    claimgw: CliRunner, tmp_path: Path
) -> None:
    csv = tmp_path / "announcement.csv"
    csv.write_text(
        "code,name_th,name_en,fee_category,price,unit,limit_amount,limit_count,limit_period,limit_period_n,"
        "limit_group,sections,settings,valid_from,valid_to,source,confidence,illustrative\n"
        "DRG-BASE-RATE,อัตราฐาน,Base rate,16,9000,adjrw,,,,,,33;39,IPD,2027-01-01,,"
        "announcement 1/2570,H,false\n"
        "BROKEN,x,y,16,abc,item,,,,,,33,OPD,2027-01-01,,s,H,false\n",
        encoding="utf-8",
    )
    _run(claimgw, "tariff", "list")
    code, output = _run(claimgw, "tariff", "import", str(csv), "--json")
    assert code == 4  # one row refused, the other imported
    assert json.loads(output)["added"] == 1
    assert json.loads(output)["errors"] == [{"row": 2, "reason": "price is not a number"}]
    later = {
        r["code"]: r
        for r in json.loads(_run(claimgw, "tariff", "list", "--on", "2027-02-01", "--json")[1])
    }
    assert later["DRG-BASE-RATE"]["price"] == "9000.00"


def test_tariff_map_import_and_bad_date(claimgw: CliRunner, tmp_path: Path) -> None:
    csv = tmp_path / "map.csv"
    csv.write_text(
        "hcode,local_system,local_code,tariff_code,valid_from,valid_to,source\n"
        "10661,,DENT01,DENT-SCALING,2016-08-12,,hospital list\n",
        encoding="utf-8",
    )
    first = json.loads(_run(claimgw, "tariff", "map-import", str(csv), "--json")[1])
    again = json.loads(_run(claimgw, "tariff", "map-import", str(csv), "--json")[1])
    assert (first["added"], again["unchanged"]) == (1, 1)
    assert _run(claimgw, "tariff", "list", "--on", "yesterday")[0] == 1


def test_network_add_and_list(claimgw: CliRunner) -> None:
    assert (
        _run(claimgw, "member", "network", "add", "--main", "10661", "--network", "23760")[0] == 0
    )
    assert (
        _run(claimgw, "member", "network", "add", "--main", "10661", "--network", "23760")[0] == 0
    )
    listed = json.loads(_run(claimgw, "member", "network", "list", "--json")[1])
    assert listed == [{"main_hcode": "10661", "network_hcode": "23760"}]
    assert _run(claimgw, "member", "network", "add", "--main", "1", "--network", "23760")[0] == 1
