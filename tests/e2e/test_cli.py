"""The claimgw command line as a user runs it: onboarding, synth, submit, demo."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fhir_mappings.bundle import ParsedBundle, parse_claim_bundle
from fhir_mappings.profile import map_claim
from tests.e2e.conftest import LiveServer, key_file
from tests.support import DATA_KEY_SETTINGS, Hospital, free_port

pytestmark = [pytest.mark.e2e]


def claimgw(
    *args: str, cwd: Path, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("CLAIMGW_") or k in DATA_KEY_SETTINGS)
    }
    if database_url:
        env["CLAIMGW_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_hospital_add_generates_a_key_and_lists(database_url: str, tmp_path: Path) -> None:
    added = claimgw(
        "hospital",
        "add",
        "--hcode",
        "10661",
        "--name",
        "Nakhon Pathom Hospital",
        "--generate-key",
        "keys/10661.pem",
        "--json",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert added.returncode == 0, added.stderr
    result = json.loads(added.stdout)
    assert result["hcode"] == "10661"
    assert result["client_id"].startswith("10661-")
    assert result["kid"]
    key = tmp_path / "keys" / "10661.pem"
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert oct(key.stat().st_mode)[-3:] == "600"
    listed = json.loads(
        claimgw("hospital", "list", "--json", cwd=tmp_path, database_url=database_url).stdout
    )
    assert [(h["hcode"], h["clients"]) for h in listed] == [("10661", [result["client_id"]])]
    again = claimgw(
        "hospital",
        "add",
        "--hcode",
        "10661",
        "--name",
        "x",
        "--generate-key",
        "keys/10661.pem",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr


def test_hospital_add_with_jwks_refuses_private_keys(database_url: str, tmp_path: Path) -> None:
    from provider_registry.keys import generate_client_key

    key = generate_client_key()
    (tmp_path / "public.json").write_text(json.dumps(key.public_jwks))
    ok = claimgw(
        "hospital",
        "add",
        "--hcode",
        "11512",
        "--name",
        "Private",
        "--jwks",
        "public.json",
        "--json",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["kid"] == key.kid
    leaked = {"keys": [dict(key.public_jwks["keys"][0], d="secret")]}
    (tmp_path / "leaked.json").write_text(json.dumps(leaked))
    refused = claimgw(
        "hospital",
        "add",
        "--hcode",
        "11513",
        "--name",
        "X",
        "--jwks",
        "leaked.json",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert refused.returncode == 1
    assert "private key" in refused.stderr


def test_synth_is_deterministic_and_structurally_valid(tmp_path: Path) -> None:
    for name in ("a.ndjson", "b.ndjson"):
        done = claimgw(
            "synth",
            "--claims",
            "40",
            "--seed",
            "5",
            "--out",
            name,
            "--hcode",
            "10661",
            "--end",
            "2026-11-01",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
    lines = (tmp_path / "a.ndjson").read_bytes().splitlines()
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()
    assert len(lines) == 40
    for line in lines:
        parsed = parse_claim_bundle(line, max_entries=100)
        assert isinstance(parsed, ParsedBundle)
        assert not isinstance(map_claim(parsed, acting_hcode="10661"), list)


def test_submit_sends_a_folder_and_reports(
    live_server: LiveServer, live_hospital: Hospital, tmp_path: Path
) -> None:
    claimgw(
        "synth",
        "--claims",
        "6",
        "--seed",
        "3",
        "--out",
        "in/claims.ndjson",
        "--hcode",
        "10661",
        "--end",
        "2026-11-01",
        cwd=tmp_path,
    )
    fixtures = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "synthea"
    (tmp_path / "in" / "bad.json").write_bytes((fixtures / "liz-claim-00.json").read_bytes())
    roster = claimgw(
        "member", "roster-from-claims", "in/claims.ndjson", "--out", "roster.csv", cwd=tmp_path
    )
    assert roster.returncode == 0, roster.stderr
    imported = claimgw(
        "member",
        "import",
        "roster.csv",
        "--json",
        cwd=tmp_path,
        database_url=live_server.database_url,
    )
    assert imported.returncode == 0, imported.stderr
    key = key_file(live_hospital, tmp_path)
    args = (
        "submit",
        "in",
        "--url",
        live_server.url,
        "--client-id",
        live_hospital.client_id,
        "--key",
        str(key),
        "--json",
    )
    dry = json.loads(claimgw(*args, "--validate", cwd=tmp_path).stdout)
    would = {k: v for k, v in dry["counts"].items() if k.startswith("would be ")}
    assert sum(would.values()) == 6
    assert dry["counts"]["refused (HTTP 422)"] == 1
    first = claimgw(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["total"] == 7
    words = {"paid in full", "partly paid", "not paid", "pended for review"}
    accepted = {k: v for k, v in summary["counts"].items() if k in words}
    assert sum(accepted.values()) == 6
    assert "not paid" not in accepted, "insured patients at their main hospital are payable"
    assert summary["counts"]["refused (HTTP 422)"] == 1
    assert {k.removeprefix("would be "): v for k, v in would.items()} == accepted
    again = json.loads(claimgw(*args, cwd=tmp_path).stdout)
    replayed = {f"{k} (sent before)": v for k, v in accepted.items()}
    assert again["counts"] == {**replayed, "refused (HTTP 422)": 1}


def test_token_with_a_key_the_gateway_does_not_know_fails_in_one_line(
    live_server: LiveServer, live_hospital: Hospital, tmp_path: Path
) -> None:
    from provider_registry.keys import generate_client_key

    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(generate_client_key().private_pem)
    for client_id in (live_hospital.client_id, "nobody-99999"):
        done = claimgw(
            *("token", "--url", live_server.url, "--client-id", client_id),
            *("--key", str(stranger)),
            cwd=tmp_path,
        )
        assert done.returncode == 1
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "the gateway refused the token request (401): invalid_client" in done.stderr


def test_demo_seeds_and_serves_on_sqlite(tmp_path: Path) -> None:
    port = free_port()
    env = {  # a fresh machine: no keys; the demo generates its own into var/
        k: v for k, v in os.environ.items() if not k.startswith("CLAIMGW_")
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        banner = _read_until(demo, f"listening on {url}", timeout=300)  # seeding trains a model
        assert (tmp_path / "var" / "claimgw.db").exists()
        keys = tmp_path / "var" / "data_keys"  # patient data sealed under generated keys
        assert keys.stat().st_mode & 0o777 == 0o600
        pasted = next(line.strip() for line in banner.splitlines() if " submit var/" in line)
        ran = subprocess.run(
            ["bash", "-c", pasted], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        assert "paid in full" in ran.stdout
        submitted = claimgw(
            "submit", "var/demo-claims.ndjson", "--url", url, "--json", cwd=tmp_path
        )
        assert submitted.returncode == 0, submitted.stderr
        results = json.loads(submitted.stdout)["results"]
        assert [r["answer"] for r in results] == ["replayed"] * 20
        busy = claimgw("demo", "--port", str(port), cwd=tmp_path)
        assert busy.returncode == 1
        assert f"port {port}" in busy.stderr
        assert "make demo PORT=" in busy.stderr
        assert "SSO claims gateway demo" not in busy.stdout
    finally:
        os.killpg(demo.pid, 15)
        demo.communicate(timeout=30)
    assert "demo-10661" in banner
    assert f"{url}/fhir/Claim/" in banner
    assert banner.index("SSO claims gateway demo") < banner.index("listening on")


def _read_until(process: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    """What a process printed, up to and including the line holding `marker`."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if not ready:
            continue
        line = process.stdout.readline().decode()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never printed:\n{''.join(seen)}")
