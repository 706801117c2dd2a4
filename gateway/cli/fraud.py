"""`claimgw fraud`: train, score, evaluate and promote fraud models; rank providers.

The analytics stack (pandas, scipy, scikit-learn, matplotlib) is imported inside the commands
that use it, so that every other `claimgw` command starts in a fraction of the time.
"""

from __future__ import annotations

import csv
import ctypes
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from gateway.cli import labels
from gateway.cli.database import engine_for_reading
from gateway.cli.output import (
    console,
    errors,
    fail,
    id_column,
    print_json,
    print_rows,
    print_table,
)
from gateway.db import make_engine, session_scope, upgrade_database
from gateway.settings import get_settings

if TYPE_CHECKING:
    from fraud.model import FraudModel
    from fraud.rules import InsuredRoster

app = typer.Typer(help="Fraud models and audits.", no_args_is_help=True)
app.add_typer(labels.app, name="labels")

M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
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


def _large_arrays_from_mmap() -> None:
    """Large arrays straight from mmap, handed back to the OS when freed (glibc only).

    glibc raises its mmap threshold after the first large free, so later arrays come from the
    heap, whose freed pages the process keeps: at 5,000,000 claims that kept garbage was
    about a gigabyte of training's peak (issue 12).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)


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
    labels: Annotated[
        Path | None,
        typer.Option(help="CSV identifier,label,pattern: calibrate and fit the supervised layer"),
    ] = None,
    roster: RosterOpt = None,
    out: Annotated[Path | None, typer.Option(help="Also write the artefact to this file")] = None,
    promote: Annotated[bool, typer.Option(help="Make the new version active at once")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Learn norms, train detectors per peer group, weigh every signal, register a version.

    With --from-db the reviewers' decisions (when the review module provides them) are the
    labels; --labels FILE gives them explicitly.
    """
    from fraud.model import dump_model
    from fraud.training import label_array, train_columns

    if (input_path is None) == (not from_db):
        fail("give exactly one of --input FILE or --from-db")
    _large_arrays_from_mmap()
    if threshold_mode not in ("percentile", "top_k_per_day"):
        fail("--threshold-mode is percentile or top_k_per_day")
    engine = _engine()
    wants_labels = labels is not None or from_db
    with errors.status("reading claims into columns"):
        cols = _read_columns(engine, input_path, keep_identifiers=wants_labels)
    if len(cols) < 50:
        fail(f"need at least 50 claims to train, found {len(cols)}")
    known = _file_labels(labels) if labels else (_db_labels(engine) if from_db else {})
    with errors.status("learning norms and training detectors per peer group"):
        model = train_columns(
            cols,
            mode=threshold_mode,
            value=threshold_value,
            seed=seed,
            progress=lambda message: errors.log(message),
            labels=label_array(cols, known),
            roster=_roster_columns(roster, from_db=from_db),
        )
    artefact = dump_model(model)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(artefact)
    _register(engine, model, artefact, promote=promote)
    summary = {
        "version": model.version,
        "claims": len(cols),
        "artefact_bytes": len(artefact),
        "threshold": model.threshold.as_dict(),
        "promoted": promote,
        **model.meta,
    }
    print_json(summary) if as_json else console.print(
        f"trained {model.version} on {len(cols):,} claims; "
        f"artefact {len(artefact):,} bytes; "
        f"threshold risk {model.threshold.risk:.4f} ({threshold_mode} {threshold_value:g}); "
        + _labels_note(model.meta.get("labels", {}))
        + ("; promoted" if promote else f"; promote with: claimgw fraud promote {model.version}")
    )


def _labels_note(summary: dict[str, Any]) -> str:
    if summary.get("used"):
        return (
            f"calibrated on {summary['labelled']:,} labels ({summary['positives']:,} fraud), "
            "supervised layer fitted"
        )
    if summary.get("labelled"):
        return f"{summary['labelled']:,} labels, too few frauds to calibrate: risk is a percentile"
    return "no labels: risk is the training percentile"


def reviewer_label_rows(engine: Engine) -> list[Any] | None:
    """Reviewers' labels from the review module, or None when it does not provide them yet."""
    try:
        from gateway.review.labels import reviewer_labels  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    with session_scope(engine) as session:
        return list(reviewer_labels(session))


def _file_labels(path: Path) -> dict[str, int]:
    # fraud.evaluate brings matplotlib and scikit-learn's metrics (about a second of start-up):
    # imported only when a labels file is given.
    from fraud.evaluate import Labels

    return Labels.from_csv(path).label


def _db_labels(engine: Engine) -> dict[str, int]:
    rows = reviewer_label_rows(engine)
    if rows is None:
        errors.print("reviewer labels are not available yet: training without labels")
        return {}
    return {str(r.identifier): int(r.label) for r in rows}


def _read_columns(engine: Engine, input_path: Path | None, *, keep_identifiers: bool) -> Any:
    """The history as columns: the NDJSON file read once in parallel, or the stored facts."""
    from fraud.columnar import read_ndjson
    from gateway.claims.fraud_facts import FraudFactsRepository

    if input_path is not None:
        if not input_path.exists():
            fail(f"{input_path} does not exist")
        return read_ndjson(input_path, keep_identifiers=keep_identifiers).columns
    with session_scope(engine) as session:
        return FraudFactsRepository(session).columns(keep_identifiers=keep_identifiers)


def _roster_columns(path: Path | None, *, from_db: bool) -> Any:
    """The roster keyed like the history's persons (the keyed hash when read from the DB)."""
    from fraud.batch import RosterColumns

    if path is None:
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        if not from_db:
            return RosterColumns.from_rows(csv.DictReader(handle))
        from gateway.security.data_key import person_key

        return RosterColumns.from_rows(csv.DictReader(handle), key=person_key)


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
    from gateway.audit.trail import admin_event, os_user
    from gateway.scoring.repository import ModelRegistry

    engine = _engine()
    with session_scope(engine) as session:
        registry = ModelRegistry(session)
        if registry.get(version) is None:
            fail(f"no model version {version!r}; see claimgw fraud list")
        registry.promote(version, by=os_user())  # the OS or staff user, never a constant
        admin_event(session, action="fraud.promote", entity_type="FraudModel", entity_id=version)
    print_json({"active": version}) if as_json else console.print(
        f"{version} is now the active fraud model"
    )


@app.command("list")
def list_versions(as_json: JsonOpt = False) -> None:
    """Registered model versions, newest first."""
    from gateway.scoring.repository import ModelRegistry

    engine = engine_for_reading()
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
        print_rows("fraud model versions", [id_column("version"), *columns[1:]], rows)


def _model(model_file: Path | None, version: str | None) -> FraudModel:
    from fraud.model import load_model
    from gateway.scoring.repository import ModelRegistry

    if model_file is not None:
        return load_model(model_file.read_bytes())
    engine = engine_for_reading()
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
    import numpy as np

    from fraud.batch import featurise_columns, reasons_of, score_batch
    from fraud.columnar import read_ndjson

    _large_arrays_from_mmap()
    model = _model(model_file, version)
    with errors.status("checking and reading bundles"):
        found = read_ndjson(input_path, tolerant=True)
    cols = found.columns
    with errors.status(f"scoring {len(cols):,} claims"):
        features = featurise_columns(cols, model.norms)
        scores = score_batch(model, cols, features, _roster_columns(roster, from_db=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    flagged = np.flatnonzero(scores.flagged)
    reasons = {
        int(i): ";".join(r.code for r in reasons_of(model, cols, features, scores, int(i)))
        for i in flagged
    }
    identifiers = cols.identifier or [""] * len(cols)
    with out.open("w", newline="", encoding="utf-8") as handle:
        handle.write("identifier,score,flagged,reasons\r\n")
        writer = csv.writer(handle)
        for start in range(0, len(cols), 100_000):
            stop = min(start + 100_000, len(cols))
            writer.writerows(
                zip(
                    identifiers[start:stop],
                    [f"{v:.6f}" for v in scores.score[start:stop].tolist()],
                    scores.flagged[start:stop].astype(int).tolist(),
                    [reasons.get(i, "") for i in range(start, stop)],
                    strict=True,
                )
            )
    summary = {
        "scored": len(cols),
        "flagged": int(flagged.shape[0]),
        "refused_lines": found.refused,
        "model_version": model.version,
        "out": str(out),
    }
    print_json(summary) if as_json else console.print(
        f"scored {len(cols):,} claims with {model.version}: {summary['flagged']:,} flagged; "
        f"{len(found.refused)} lines were not valid claim bundles; wrote {out}"
    )


@app.command("evaluate")
def evaluate_cmd(
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Claim bundles, NDJSON")
    ] = None,
    labels: Annotated[Path | None, typer.Option(help="CSV: identifier,label,pattern")] = None,
    report: Annotated[Path | None, typer.Option(help="Folder for plots and summary.md")] = None,
    from_db: Annotated[
        bool,
        typer.Option("--from-db", help="Miss rate and flag precision from reviewers' decisions"),
    ] = False,
    model_file: ModelOpt = None,
    version: VersionOpt = None,
    roster: RosterOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """ROC-AUC, AP, precision@k, calibration, recall per pattern, hospital ranking, plots.

    With --from-db: precision of flags and miss rate (from the random audit of unflagged
    claims) with 95% intervals, overall and per month, from the reviewers' decisions.
    """
    if from_db:
        _evaluate_from_db(as_json)
        return
    if input_path is None or labels is None or report is None:
        fail("give --input, --labels and --report (or --from-db)")
        return
    from fraud.audit import read_claims, score_claims
    from fraud.evaluate import Labels, evaluate, scored_frame, write_report
    from fraud.providers import period_alerts

    model = _model(model_file, version)
    with errors.status("reading and scoring"):
        found = read_claims(input_path, check_structure=False)
        scored = score_claims(model, found.facts, _roster(roster))
    frame = scored_frame(
        [s.identifier for s in scored],
        [f.hcode for f in found.facts],
        [s.score for s in scored],
        Labels.from_csv(labels),
        flagged=[s.flagged for s in scored],
        price_alerts=period_alerts(found.facts, model.norms),
    )
    result = evaluate(frame, names=found.names, threshold=model.threshold.risk)
    files = write_report(frame, result, report, model_version=model.version)
    payload: dict[str, Any] = {
        **result.as_dict(),
        "model_version": model.version,
        "files": [str(f) for f in files],
    }
    if scored and scored[0].supervised is not None:
        frame["score"] = [s.supervised for s in scored]
        supervised = evaluate(frame)
        payload["supervised"] = {
            "roc_auc": supervised.roc_auc,
            "average_precision": supervised.average_precision,
            "precision_at": {str(k): v for k, v in supervised.precision_at.items()},
            "calibration": supervised.calibration,
        }
    (report / "metrics.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print_json(payload) if as_json else console.print(
        (report / "summary.md").read_text(encoding="utf-8")
    )


def _evaluate_from_db(as_json: bool) -> None:
    from fraud.misses import estimate
    from gateway.scoring.repository import ClaimHistoryRepository

    engine = engine_for_reading()
    rows = reviewer_label_rows(engine)
    if rows is None:
        fail("reviewer labels are not available yet (gateway.review.labels)")
    assert rows is not None
    with session_scope(engine) as session:
        counts = ClaimHistoryRepository(session).monthly_flag_counts()
    figures = estimate(rows, counts)
    if as_json:
        print_json(figures)
        return
    table = [
        [month, *_miss_cells(f)]
        for month, f in [*figures["by_month"].items(), ("all", figures["overall"])]
    ]
    print_table(
        "what the model misses (95% intervals)",
        ("month", "flagged", "unflagged", "precision of flags", "miss rate", "missed (est.)"),
        table,
    )


def _miss_cells(f: dict[str, Any]) -> list[str]:
    def share(p: dict[str, Any]) -> str:
        if p["value"] is None:
            return "no labels"
        low, high = p["ci95"]
        return f"{p['value']:.1%} ({low:.1%}–{high:.1%}), n={p['n']:,}"

    missed = f["estimated_missed"]
    return [
        f"{f['flagged_claims']:,}",
        f"{f['unflagged_claims']:,}",
        share(f["flag_precision"]),
        share(f["miss_rate"]),
        "n/a"
        if missed is None
        else f"{missed['value']:,.0f} ({missed['ci95'][0]:,.0f}–{missed['ci95'][1]:,.0f})",
    ]


@app.command("providers")
def providers(
    period: Annotated[str, typer.Option(help="Month, YYYY-MM")],
    model_file: ModelOpt = None,
    version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hospitals ranked by their share of claims priced far above the learned norm vs peers.

    Norms come from the active model (or --version/--model); without one they are learned
    from the period itself.
    """
    from fraud.norms import learn_norms
    from fraud.providers import ProviderClaim, period_alerts, rank_hospitals
    from gateway.scoring.repository import ClaimHistoryRepository, ModelRegistry
    from provider_registry.repository import HospitalRepository

    first, last = _month(period)
    engine = engine_for_reading()
    with session_scope(engine) as session:
        rows = ClaimHistoryRepository(session).period_claim_facts(first, last)
        names = {h.hcode: h.name for h in HospitalRepository(session).list()}
        has_model = model_file is not None or version or ModelRegistry(session).active_version()
    norms = _model(model_file, version).norms if has_model else learn_norms([r[0] for r in rows])
    alerts = period_alerts([f for f, _, _ in rows], norms)
    ranked = rank_hospitals(
        [
            ProviderClaim(f.hcode, alert, flagged, score)
            for (f, flagged, score), alert in zip(rows, alerts, strict=True)
        ],
        names=names,
        baseline=norms.alert_rate,
    )
    if as_json:
        print_json(ranked)
        return
    _print_providers(period, ranked)


def _print_providers(period: str, ranked: list[dict[str, Any]]) -> None:
    """Riskiest first; identifiers and headers never cut, long hospital names wrap."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"hospital risk {period}: claims priced far above the learned norm",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    table.add_column("HCODE", no_wrap=True)
    table.add_column("hospital", overflow="fold", min_width=8)
    for header in ("claims", "flagged", "above norm", "95% CI", "peers", "z"):
        table.add_column(header, justify="right", no_wrap=True)
    for r in ranked:
        table.add_row(
            r["hcode"],
            r["name"],
            f"{r['claims']:,}",
            f"{r['flagged']:,} ({r['flagged_share']:.1%})",
            f"{r['price_alerts']:,} ({r['alert_share']:.1%})",
            f"{r['alert_share_low']:.1%}–{r['alert_share_high']:.1%}",
            f"{r['peer_alert_share']:.1%}",
            f"{r['excess_z']:+.1f}",
        )
    console.print(table)
    console.print(
        "above norm: claims with a line priced far above what this hospital usually bills for "
        "the code; peers: the same share at all other hospitals; z: how far above its peers "
        "(ranked by z)."
    )


def _month(period: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{period}-01")
    except ValueError:
        fail("--period is YYYY-MM")
        raise
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)
