"""`claimgw synth` and `claimgw fraud`: synth → train → promote → score → evaluate → providers."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fraud.providers import rank_providers
from gateway.cli.main import app
from gateway.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CLAIMGW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _synth(folder: Path, name: str, claims: int, seed: int) -> tuple[Path, Path]:
    out, labels = folder / f"{name}.ndjson", folder / f"{name}.csv"
    _run(
        "synth",
        "--claims",
        str(claims),
        "--seed",
        str(seed),
        "--end",
        "2026-10-31",
        "--days",
        "45",
        "--out",
        str(out),
        "--labels",
        str(labels),
        "--roster",
        str(folder / f"{name}-roster.csv"),
        "--fraud-scale",
        "3",
    )
    return out, labels


def test_analyst_trains_promotes_scores_and_evaluates(cli_db: Path) -> None:
    history, _ = _synth(cli_db, "history", 1500, seed=41)
    audit, labels = _synth(cli_db, "audit", 400, seed=42)
    with labels.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["identifier", "label", "pattern"]
    assert len(rows) == 400
    trained = json.loads(
        _run(
            "fraud",
            "train",
            "--input",
            str(history),
            "--threshold-mode",
            "top_k_per_day",
            "--threshold-value",
            "5",
            "--json",
        )
    )
    assert trained["threshold"]["mode"] == "top_k_per_day"
    assert json.loads(_run("fraud", "promote", trained["version"], "--json")) == {
        "active": trained["version"]
    }
    listed = json.loads(_run("fraud", "list", "--json"))
    assert [v["active"] for v in listed] == ["yes"]
    scores = cli_db / "scores.csv"
    _run("fraud", "score", "--input", str(audit), "--out", str(scores))
    with scores.open() as handle:
        scored = list(csv.DictReader(handle))
    assert list(scored[0]) == ["identifier", "score", "flagged", "reasons"]
    assert {r["identifier"] for r in scored} == {r["identifier"] for r in rows}
    assert all(0 <= float(r["score"]) <= 1 and r["reasons"] for r in scored)
    report = cli_db / "report"
    metrics = json.loads(
        _run(
            "fraud",
            "evaluate",
            "--input",
            str(audit),
            "--labels",
            str(labels),
            "--report",
            str(report),
            "--roster",
            str(cli_db / "audit-roster.csv"),
            "--json",
        )
    )
    assert metrics["roc_auc"] > 0.7
    assert {p.name for p in report.iterdir()} >= {
        "precision_recall.png",
        "score_by_pattern.png",
        "hospital_risk.png",
        "summary.md",
        "metrics.json",
    }
    assert "ROC-AUC" in (report / "summary.md").read_text()


def test_score_skips_lines_that_are_not_claim_bundles(cli_db: Path) -> None:
    history, _ = _synth(cli_db, "history", 800, seed=43)
    model = cli_db / "model.npz"
    _run("fraud", "train", "--input", str(history), "--out", str(model))
    mixed = cli_db / "mixed.ndjson"
    mixed.write_bytes(
        history.read_bytes().splitlines(keepends=True)[0] + b'{"resourceType": "Patient"}\n'
    )
    summary = json.loads(
        _run(
            "fraud",
            "score",
            "--input",
            str(mixed),
            "--out",
            str(cli_db / "s.csv"),
            "--model",
            str(model),
            "--json",
        )
    )
    assert summary["scored"] == 1
    assert summary["refused_lines"] == [2]


def test_train_needs_exactly_one_source_and_promote_a_known_version(cli_db: Path) -> None:
    assert runner.invoke(app, ["fraud", "train"]).exit_code != 0
    assert runner.invoke(app, ["fraud", "promote", "fwa-missing"]).exit_code != 0
    assert runner.invoke(app, ["fraud", "providers", "--period", "2026-13"]).exit_code != 0
    assert json.loads(_run("fraud", "providers", "--period", "2026-10", "--json")) == []


def test_providers_rank_the_hospital_with_flagged_new_patients_and_high_amounts_first() -> None:
    from datetime import date

    rows = []
    for n in range(40):
        rows.append(
            ("10661", f"p{n % 10}", "OPD", date(2026, 10, 2), 300.0, 0.2, "queued_for_payment")
        )
        rows.append(
            ("11512", f"q{n % 10}", "OPD", date(2026, 10, 2), 320.0, 0.2, "queued_for_payment")
        )
        rows.append(
            (
                "23760",
                f"new{n}",
                "OPD",
                date(2026, 10, 2),
                900.0,
                0.9,
                "pended_review" if n % 3 == 0 else "queued_for_payment",
            )
        )
    seen = {("10661", f"p{n}") for n in range(10)} | {("11512", f"q{n}") for n in range(10)}
    ranked = rank_providers(rows, seen)
    assert ranked[0]["hcode"] == "23760"
    assert ranked[0]["new_patient_share"] == 1.0
