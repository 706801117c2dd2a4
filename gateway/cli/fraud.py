"""`claimgw fraud`: train, score, evaluate and promote fraud models; rank providers.

The analytics stack (pandas, scipy, scikit-learn, matplotlib) is imported inside the commands
that use it, so that every other `claimgw` command starts in a fraction of the time.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from gateway.cli.output import console, errors, fail, print_json, print_table
from gateway.db import make_engine, session_scope, upgrade_database
from gateway.settings import get_settings

if TYPE_CHECKING:
    from fraud.model import FraudModel
    from fraud.rules import InsuredRoster
    from fraud.training import History

app = typer.Typer(help="Fraud models and audits.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="Score with this artefact file instead of the active version"),
]
VersionOpt = Annotated[
    str | None, typer.Option(help="Score with this registered version (default: active)")
]
RosterOpt = Annotated[
    Path | None, typer.Option(help="Insured roster CSV, enables the roster rules")
]


def _engine() -> Engine:
    settings = get_settings()
    upgrade_database(settings)
    return make_engine(settings)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} claims"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


@app.command("train")
def train(
    input_path: Annotated[
        Path | None, typer.Option("--input", help="History NDJSON (one bundle per line)")
    ] = None,
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Train on the claims stored in the database")
    ] = False,
    threshold_mode: Annotated[str, typer.Option(help="percentile or top_k_per_day")] = "percentile",
    threshold_value: Annotated[
        float, typer.Option(help="e.g. 99 (percentile) or 20 (claims per day)")
    ] = 99.0,
    seed: Annotated[int, typer.Option(help="Seed of the isolation forests")] = 0,
    out: Annotated[Path | None, typer.Option(help="Also write the artefact to this file")] = None,
    promote: Annotated[bool, typer.Option(help="Make the new version active at once")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train ECOD, IForest and HBOS per peer group, freeze them and register a version."""
    from fraud.model import dump_model
    from fraud.training import train_model

    if (input_path is None) == (not from_db):
        fail("give exactly one of --input FILE or --from-db")
    if threshold_mode not in ("percentile", "top_k_per_day"):
        fail("--threshold-mode is percentile or top_k_per_day")
    engine = _engine()
    history = _read_history(engine, input_path)
    if len(history.facts) < 50:
        fail(f"need at least 50 claims to train, found {len(history.facts)}")
    with errors.status("training detectors per peer group"):
        model = train_model(
            history,
            mode=threshold_mode,
            value=threshold_value,
            seed=seed,
            progress=lambda message: errors.log(message),
        )
    artefact = dump_model(model)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(artefact)
    _register(engine, model, artefact, promote=promote)
    summary = {
        "version": model.version,
        "claims": len(history.facts),
        "artefact_bytes": len(artefact),
        "threshold": model.threshold.as_dict(),
        "promoted": promote,
        **model.meta,
    }
    print_json(summary) if as_json else console.print(
        f"trained {model.version} on {len(history.facts):,} claims; "
        f"artefact {len(artefact):,} bytes; "
        f"threshold risk {model.threshold.risk:.4f} ({threshold_mode} {threshold_value:g})"
        + ("; promoted" if promote else f"; promote with: claimgw fraud promote {model.version}")
    )


def _read_history(engine: Engine, input_path: Path | None) -> History:
    from fraud.facts import facts_from_bundle
    from fraud.training import facts_of_file, featurise
    from gateway.scoring.repository import ClaimHistoryRepository

    with _progress() as progress:
        task = progress.add_task("reading claims", total=None)

        def advance(count: int) -> None:
            progress.update(task, completed=count)

        if input_path is not None:
            if not input_path.exists():
                fail(f"{input_path} does not exist")
            return featurise(facts_of_file(input_path), progress=advance)
        with session_scope(engine) as session:
            bundles = ClaimHistoryRepository(session).bundles()
            return featurise(
                (facts_from_bundle(orjson.loads(b)) for b in bundles), progress=advance
            )


def _register(engine: Engine, model: FraudModel, artefact: bytes, *, promote: bool) -> None:
    from gateway.scoring.service import register_model

    with session_scope(engine) as session:
        register_model(session, model=model, artefact=artefact, promote=promote, by="cli")


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The version to make active")],
    as_json: JsonOpt = False,
) -> None:
    """Make a version the active one (running gateways pick it up within seconds)."""
    from gateway.scoring.repository import ModelRegistry

    engine = _engine()
    with session_scope(engine) as session:
        registry = ModelRegistry(session)
        if registry.get(version) is None:
            fail(f"no model version {version!r}; see claimgw fraud list")
        registry.promote(version, by="cli")
    print_json({"active": version}) if as_json else console.print(
        f"{version} is now the active fraud model"
    )


@app.command("list")
def list_versions(as_json: JsonOpt = False) -> None:
    """Registered model versions, newest first."""
    from gateway.scoring.repository import ModelRegistry

    engine = _engine()
    with session_scope(engine) as session:
        rows = [
            (
                r.version,
                "yes" if r.active else "",
                r.training_claims,
                r.threshold_mode,
                r.threshold_value,
                round(r.threshold_risk, 4),
                r.artefact_bytes,
            )
            for r in ModelRegistry(session).listing()
        ]
    columns = ("version", "active", "claims", "threshold", "value", "risk", "bytes")
    if as_json:
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
    else:
        print_table("fraud model versions", columns, rows)


def _model(model_file: Path | None, version: str | None) -> FraudModel:
    from fraud.model import load_model
    from gateway.scoring.repository import ModelRegistry

    if model_file is not None:
        return load_model(model_file.read_bytes())
    engine = _engine()
    with session_scope(engine) as session:
        registry = ModelRegistry(session)
        name = version or registry.active_version()
        row = registry.get(name) if name else None
        if row is None:
            fail("no model: train one (claimgw fraud train), promote it, or pass --model FILE")
        assert row is not None
        return load_model(row.artefact)


def _roster(path: Path | None) -> InsuredRoster | None:
    from fraud.rules import MemoryRoster

    return MemoryRoster.from_csv(path) if path else None


@app.command("score")
def score(
    input_path: Annotated[Path, typer.Option("--input", help="Claim bundles, NDJSON")],
    out: Annotated[Path, typer.Option(help="CSV: identifier,score,flagged,reasons")],
    model_file: ModelOpt = None,
    version: VersionOpt = None,
    roster: RosterOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Audit a file of bundles: every claim's risk, flag and reason codes."""
    from fraud.audit import read_claims, score_claims

    model = _model(model_file, version)
    with errors.status("checking and reading bundles"):
        found = read_claims(input_path)
    with errors.status(f"scoring {len(found.facts):,} claims"):
        scored = score_claims(model, found.facts, _roster(roster))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["identifier", "score", "flagged", "reasons"])
        for s in scored:
            writer.writerow(
                [
                    s.identifier,
                    f"{s.score:.6f}",
                    int(s.flagged),
                    ";".join(r.code for r in s.reasons),
                ]
            )
    summary = {
        "scored": len(scored),
        "flagged": sum(s.flagged for s in scored),
        "refused_lines": found.refused,
        "model_version": model.version,
        "out": str(out),
    }
    print_json(summary) if as_json else console.print(
        f"scored {len(scored):,} claims with {model.version}: {summary['flagged']:,} flagged; "
        f"{len(found.refused)} lines were not valid claim bundles; wrote {out}"
    )


@app.command("evaluate")
def evaluate_cmd(
    input_path: Annotated[Path, typer.Option("--input", help="Claim bundles, NDJSON")],
    labels: Annotated[Path, typer.Option(help="CSV: identifier,label,pattern")],
    report: Annotated[Path, typer.Option(help="Folder for plots and summary.md")],
    model_file: ModelOpt = None,
    version: VersionOpt = None,
    roster: RosterOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """ROC-AUC, AP, precision@k, recall per pattern, colluding hospital's rank, plots, summary."""
    from fraud.audit import read_claims, score_claims
    from fraud.evaluate import Labels, evaluate, scored_frame, write_report

    model = _model(model_file, version)
    with errors.status("reading and scoring"):
        found = read_claims(input_path, check_structure=False)
        scored = score_claims(model, found.facts, _roster(roster))
    frame = scored_frame(
        [s.identifier for s in scored],
        [f.hcode for f in found.facts],
        [s.score for s in scored],
        Labels.from_csv(labels),
    )
    result = evaluate(frame)
    files = write_report(frame, result, report, model_version=model.version)
    payload: dict[str, Any] = {
        **result.as_dict(),
        "model_version": model.version,
        "files": [str(f) for f in files],
    }
    (report / "metrics.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print_json(payload) if as_json else console.print(
        (report / "summary.md").read_text(encoding="utf-8")
    )


@app.command("providers")
def providers(
    period: Annotated[str, typer.Option(help="Month, YYYY-MM")],
    as_json: JsonOpt = False,
) -> None:
    """Hospitals ranked by risk against peers: share flagged, new-patient surge, amount skew."""
    from fraud.providers import rank_providers
    from gateway.scoring.repository import ClaimHistoryRepository

    first, last = _month(period)
    engine = _engine()
    with session_scope(engine) as session:
        repo = ClaimHistoryRepository(session)
        ranked = rank_providers(repo.period_claims(first, last), repo.patients_seen_before(first))
    if as_json:
        print_json(ranked)
        return
    columns = (
        "hcode",
        "claims",
        "flagged_share",
        "new_patient_share",
        "amount_skew",
        "mean_score",
        "risk",
    )
    print_table(f"hospital risk {period}", columns, [[r[c] for c in columns] for r in ranked])


def _month(period: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{period}-01")
    except ValueError:
        fail("--period is YYYY-MM")
        raise
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)
