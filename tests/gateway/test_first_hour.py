"""What a new hospital integrator or analyst meets in the first hour: the CLI and the FHIR API.

Issue 11: read commands never create a database, identifiers are never cut, imports exit with
a documented code, a cancelled claim reads as cancelled, a stored Claim is valid on its own,
and emergencies are priced by the hospital's ownership.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.claim import Claim
from rich.cells import cell_len
from sqlalchemy import Engine
from typer.testing import CliRunner

from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import LineSpec
from gateway.cli.main import app
from gateway.cli.output import ROWS_REFUSED_EXIT
from gateway.cli.synth import last_day_of
from gateway.db import session_scope
from gateway.settings import get_settings
from provider_registry.repository import HospitalRepository
from tests.provider_registry.factories import insure
from tests.support import CLAIMCON_EXAMPLE_CID, DATA_KEY_SETTINGS, claim_bytes, claim_spec

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "/fhir/Claim/$submit"
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "fastapi", "pandas", "sklearn", "gateway.db")
ROSTER_HEADER = "cid,section,main_hcode,coverage_start,coverage_end,contribution_months,death_date"


def _run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _subprocess(
    *args: str, database_url: str, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("CLAIMGW_") or k in DATA_KEY_SETTINGS)
    }
    env |= {"CLAIMGW_DATABASE_URL": database_url, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- start-up ---------------------------------------------------------------------------


def test_help_and_a_sub_command_help_import_no_database_web_or_model_code() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from gateway.cli.main import app\n"
        "for args in (['--help'], ['hospital', '--help'], ['submit', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def test_help_lists_every_command_with_its_summary() -> None:
    code, output = _run(CliRunner(), "--help")
    assert code == 0
    for command in ("demo", "hospital", "member", "tariff", "fraud", "submit", "synth", "token"):
        assert command in output


# --- no silent database -----------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("hospital", "list"), ("tariff", "list"), ("tariff", "params"), ("member", "network", "list")],
)
def test_read_commands_never_create_a_database(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "elsewhere" / "claimgw.db"
    monkeypatch.setenv("CLAIMGW_DATABASE_URL", f"sqlite:///{missing}")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(command))
    get_settings.cache_clear()
    assert result.exit_code == 3
    assert str(missing) in result.output
    assert "CLAIMGW_DATABASE_URL" in result.output
    assert not missing.exists()
    assert not missing.parent.exists()


# --- onboarding -------------------------------------------------------------------------


def test_hospital_add_refuses_a_registered_hcode_unless_asked_for_another_client(
    claimgw: CliRunner, tmp_path: Path
) -> None:
    add = ("hospital", "add", "--hcode", "10661", "--name", "Nakhon Pathom Hospital")
    first = _run(claimgw, *add, "--generate-key", str(tmp_path / "a.pem"), "--json")
    assert first[0] == 0, first[1]
    again = _run(claimgw, *add, "--generate-key", str(tmp_path / "b.pem"))
    assert again[0] == 1
    assert "registered already" in again[1]
    assert "--add-client" in again[1]
    assert not (tmp_path / "b.pem").exists()
    second = _run(
        claimgw, *add, "--generate-key", str(tmp_path / "b.pem"), "--add-client", "--json"
    )
    assert second[0] == 0, second[1]
    listed = json.loads(_run(claimgw, "hospital", "list", "--json")[1])
    assert len(listed[0]["clients"]) == 2


def test_hospital_ownership_is_set_on_add_and_by_import(claimgw: CliRunner, tmp_path: Path) -> None:
    added = _run(
        claimgw,
        *("hospital", "add", "--hcode", "10661", "--name", "Provincial"),
        *("--ownership", "public", "--generate-key", str(tmp_path / "k.pem")),
    )
    assert added[0] == 0, added[1]
    register = tmp_path / "hospitals.csv"
    register.write_text(
        "hcode,name,ownership,contract_type,province\n"
        "11512,Private Hospital,private,main,Bangkok\n"
        "10661,Provincial,public,main,Nakhon Pathom\n"
        "123,Broken,state,other,\n",
        encoding="utf-8",
    )
    code, output = _run(claimgw, "hospital", "import", str(register), "--json")
    assert code == ROWS_REFUSED_EXIT
    report = json.loads(output)
    assert (report["added"], report["updated"]) == (1, 1)
    assert report["errors"][0]["row"] == 3
    assert len(report["errors"][0]["problems"]) == 3  # hcode, ownership and contract type
    listed = {
        h["hcode"]: h["ownership"]
        for h in json.loads(_run(claimgw, "hospital", "list", "--json")[1])
    }
    assert listed == {"10661": "public", "11512": "private"}


def test_hospital_list_shows_long_client_ids_whole_at_80_columns(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    long_id = "hospital-10661-integration-client-0123456789abcdef"
    done = _subprocess(
        *("hospital", "add", "--hcode", "10661", "--name", "โรงพยาบาลสาธิตประจำจังหวัด Demo"),
        *("--generate-key", str(tmp_path / "k.pem"), "--client-id", long_id),
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    listed = _subprocess("hospital", "list", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert long_id in listed.stdout
    assert max(cell_len(line) for line in listed.stdout.splitlines()) <= 80  # Thai marks: 0 wide


def test_tariff_list_shows_every_code_whole_at_80_columns(database_url: str) -> None:
    listed = _subprocess("tariff", "list", "--on", "2026-11-01", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    codes = [
        r["code"]
        for r in json.loads(
            _subprocess(
                "tariff", "list", "--on", "2026-11-01", "--json", database_url=database_url
            ).stdout
        )
    ]
    assert "DENT-DENTURE-COMPLETE-BOTH" in codes
    for code in codes:
        assert code in listed.stdout


# --- imports ----------------------------------------------------------------------------


def test_member_import_lists_every_problem_of_a_row_and_exits_4(
    claimgw: CliRunner, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"{ROSTER_HEADER}\n"
        "1101700203450,33,10661,2015-01-01,,15,\n"
        f"{CLAIMCON_EXAMPLE_CID},41,1066,2015-13-01,,16,\n",
        encoding="utf-8",
    )
    code, output = _run(claimgw, "member", "import", str(roster), "--json")
    assert code == ROWS_REFUSED_EXIT
    report = json.loads(output)
    assert report["added"] == 1
    problems = report["errors"][0]["problems"]
    assert len(problems) == 5
    assert any("0 to 15" in p for p in problems)
    assert CLAIMCON_EXAMPLE_CID not in output


def test_member_import_help_documents_the_contribution_months_range() -> None:
    code, output = _run(CliRunner(), "member", "import", "--help")
    assert code == 0
    assert "0 to 15" in " ".join(output.split())


def test_benefit_parameters_are_an_effective_dated_import(
    claimgw: CliRunner, tmp_path: Path
) -> None:
    announcement = tmp_path / "params.csv"
    announcement.write_text(
        "name,value,valid_from,valid_to,source,confidence\n"
        "min_contribution_months,4,2027-01-01,,hypothetical announcement 1/2570,H\n",
        encoding="utf-8",
    )
    code, output = _run(claimgw, "tariff", "params-import", str(announcement), "--json")
    assert code == 0, output
    assert json.loads(output)["added"] == 1
    before = json.loads(_run(claimgw, "tariff", "params", "--on", "2026-12-31", "--json")[1])
    after = json.loads(_run(claimgw, "tariff", "params", "--on", "2027-01-01", "--json")[1])
    value = {r["name"]: r["value"] for r in before}
    assert value["min_contribution_months"] == "3"
    assert value["emergency_window_hours"] == "72"
    assert {r["name"]: r["value"] for r in after}["min_contribution_months"] == "4"


def test_synth_never_writes_a_claim_that_ends_after_end(tmp_path: Path) -> None:
    out = tmp_path / "history.ndjson"
    code, output = _run(
        CliRunner(),
        *("synth", "--claims", "2000", "--seed", "1", "--end", "2026-11-01"),
        *("--out", str(out), "--labels", str(tmp_path / "labels.csv"), "--json"),
    )
    assert code == 0, output
    summary = json.loads(output)
    lines = out.read_bytes().splitlines()
    assert len(lines) == summary["claims"] == 2000 - summary["left_out_ending_after_end"]
    assert summary["left_out_ending_after_end"] > 0  # this seed has stays that run past the end
    assert all(last_day_of(json.loads(line)) <= date(2026, 11, 1) for line in lines)
    assert len((tmp_path / "labels.csv").read_text().splitlines()) == len(lines) + 1


def test_demo_refuses_a_busy_port_before_printing_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            app, ["demo", "--port", str(port), "--folder", str(tmp_path / "var")]
        )
    assert result.exit_code == 1
    assert f"port {port}" in result.output
    assert "make demo PORT=" in result.output
    assert "SSO claims gateway demo" not in result.output
    assert not (tmp_path / "var").exists()


# --- FHIR -------------------------------------------------------------------------------


def _submitted(client: TestClient, auth: dict[str, str], body: bytes) -> dict[str, Any]:
    answer = client.post(SUBMIT, content=body, headers=auth)
    assert answer.status_code == 201, answer.text
    resource: dict[str, Any] = answer.json()["entry"][0]["resource"]
    return resource


def _claim_id(response: dict[str, Any]) -> str:
    return str(response["request"]["reference"].split("/")[1])


def test_a_cancelled_claim_reads_as_cancelled_and_cannot_be_cancelled_twice(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    claim_id = _claim_id(_submitted(client, auth, claim_bytes()))
    assert client.get(f"/fhir/Claim/{claim_id}", headers=auth).json()["status"] == "active"
    assert client.post(f"/fhir/Claim/{claim_id}/$cancel", headers=auth).status_code == 200
    assert client.get(f"/fhir/Claim/{claim_id}", headers=auth).json()["status"] == "cancelled"
    again = client.post(f"/fhir/Claim/{claim_id}/$cancel", headers=auth)
    assert again.status_code == 422
    issue = again.json()["issue"][0]
    assert issue["diagnostics"] == "The claim is already cancelled."
    assert issue["details"]["text"] == "เคลมนี้ถูกยกเลิกไปแล้ว"


def test_a_read_claim_is_valid_on_its_own(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    claim_id = _claim_id(_submitted(client, auth, claim_bytes()))
    read = client.get(f"/fhir/Claim/{claim_id}", headers=auth)
    assert "urn:uuid:" not in read.text
    claim = Claim.model_validate(read.json())
    contained = {f"#{r.id}": r.get_resource_type() for r in claim.contained or []}
    assert contained[claim.patient.reference] == "Patient"
    assert contained[claim.insurance[0].coverage.reference] == "Coverage"


def test_capability_statement_lists_cancel_payments_and_subscriptions(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    resources = {r["type"]: r for r in rest["resource"]}
    assert {"cancel", "submit", "validate"} <= {o["name"] for o in resources["Claim"]["operation"]}
    assert {"PaymentReconciliation", "Subscription"} <= set(resources)


def test_validate_preview_has_a_uuid_full_url(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    answer = client.post("/fhir/Claim/$validate", content=claim_bytes(), headers=auth)
    assert answer.status_code == 200
    full_url = answer.json()["entry"][0]["fullUrl"]
    assert full_url.startswith("urn:uuid:")
    assert uuid.UUID(full_url.removeprefix("urn:uuid:")).version == 4


def test_a_bad_citizen_id_is_shown_masked_with_a_thai_message(
    client: TestClient, auth: dict[str, str]
) -> None:
    answer = client.post(SUBMIT, content=claim_bytes(cid=CLAIMCON_EXAMPLE_CID), headers=auth)
    assert answer.status_code == 422
    issue = answer.json()["issue"][0]
    masked = "1********9244"
    assert masked in issue["diagnostics"]
    assert masked in issue["details"]["text"]
    assert "checksum" not in issue["details"]["text"]
    assert CLAIMCON_EXAMPLE_CID not in answer.text


def test_readyz_names_the_active_model_version(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    assert ready["checks"]["model"] == "none"
    assert ready["model_version"] is None


def _set_ownership(engine: Engine, hcode: str, ownership: str) -> None:
    with session_scope(engine) as session:
        hospital = HospitalRepository(session).get(hcode)
        assert hospital is not None
        hospital.ownership = ownership
        session.add(hospital)


def test_emergency_at_a_non_contracted_hospital_is_priced_by_its_ownership(
    client: TestClient, other_auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)  # registered at 10661; the emergency is at 11512
    lines = (
        LineSpec("ER-OPD", "Emergency outpatient care", Decimal("700"), category="12"),
        LineSpec("XRAY-CHEST", "Chest X-ray", Decimal("200"), category="08"),
        LineSpec("LAB-CBC", "Complete blood count", Decimal("90"), Decimal(2), category="07"),
    )

    def emergency(invoice: str) -> bytes:
        spec = claim_spec(
            hcode="11512", invoice=invoice, setting=CareSetting.EMERGENCY, lines=lines
        )
        return claim_bytes(spec)

    _set_ownership(engine, "11512", "public")
    public = _submitted(client, other_auth, emergency("ER-1"))
    _set_ownership(engine, "11512", "private")
    private = _submitted(client, other_auth, emergency("ER-2"))
    assert public["payment"]["amount"]["value"] == 1080.0  # actual cost
    assert private["payment"]["amount"]["value"] == 1000.0  # the private outpatient ceiling


def test_demo_banner_commands_paste_from_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli.demo import claimgw_command

    script = tmp_path / ".venv" / "bin" / "claimgw"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")  # as under `uv run`
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    assert claimgw_command() == ".venv/bin/claimgw"
    monkeypatch.setattr(sys, "argv", ["/somewhere/gateway/cli/main.py", "demo"])
    assert claimgw_command().endswith(" -m gateway.cli.main")
