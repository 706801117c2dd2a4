"""`claimgw synth` and `claimgw fraud`: synth → train → promote → score → evaluate → providers."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.db import upgrade_database
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
    assert len(rows) == len(audit.read_bytes().splitlines()) > 380
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
            "--labels",
            str(cli_db / "history.csv"),
            "--json",
        )
    )
    assert trained["threshold"]["mode"] == "top_k_per_day"
    assert trained["labels"]["used"]
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
    assert all(0 <= float(r["score"]) <= 1 for r in scored)
    assert all(bool(r["reasons"]) == (r["flagged"] == "1") for r in scored)
    assert "MODEL" not in {code for r in scored for code in r["reasons"].split(";")}
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
    assert metrics["roc_auc"] > 0.8
    assert 0 <= metrics["calibration"]["ece"] < 0.2
    assert metrics["supervised"]["roc_auc"] > 0.8
    assert {p.name for p in report.iterdir()} >= {
        "precision_recall.png",
        "score_by_pattern.png",
        "hospital_risk.png",
        "calibration.png",
        "summary.md",
        "metrics.json",
    }
    assert metrics["hospitals"][0]["name"]
    summary = (report / "summary.md").read_text()
    assert "ROC-AUC" in summary
    assert "expected calibration error" in summary


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


def test_providers_rank_hospitals_from_stored_claims_with_whole_counts(
    cli_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from fraud.synth import FraudRates, default_network, generate_history
    from gateway.cli.demo_review import _seed_world, _submit_in_process
    from gateway.db import upgrade_database

    monkeypatch.setenv("COLUMNS", "80")
    settings = get_settings()
    upgrade_database(settings)
    bundles = [
        i.bundle
        for i in generate_history(
            claims=150,
            seed=5,
            hospitals=default_network()[:2],
            end=date(2026, 10, 31),
            days=20,
            rates=FraudRates().scaled(0),
        )
    ]
    _seed_world(settings, bundles)
    _submit_in_process(settings, bundles)
    out = _run("fraud", "providers", "--period", "2026-10")
    ranked = json.loads(_run("fraud", "providers", "--period", "2026-10", "--json"))
    for header in ("HCODE", "hospital", "claims", "flagged", "above norm", "95% CI", "peers"):
        assert header in out
    for r in ranked:
        assert f" {r['hcode']} " in out
        assert f" {r['claims']} " in out
        assert f"{r['claims']}.0" not in out
    assert "Demo" in out
    assert {r["hcode"] for r in ranked} == {"10661", "11512"}
    assert all(isinstance(r["claims"], int) and isinstance(r["flagged"], int) for r in ranked)
    assert sum(r["claims"] for r in ranked) > 100
    assert all(r["name"] for r in ranked)
    assert [r["rank"] for r in ranked] == [1, 2]


def test_evaluate_from_db_reports_misses_from_reviewers_labels(cli_db: Path) -> None:
    assert runner.invoke(app, ["fraud", "evaluate", "--from-db"]).exit_code == 3  # no database
    upgrade_database(get_settings())
    result = runner.invoke(app, ["fraud", "evaluate", "--from-db", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == {"overall", "by_month"}
