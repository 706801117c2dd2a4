"""Online fraud scoring alone: p50/p99 per claim with history read from SQLite and PostgreSQL.

Issue 12's figure "fraud scoring inside the gateway, p99 ≤ 2 ms" is measured by
`benchmarks/targets.py` (`in_process`) with a model trained by the CLI; this script measures
the same step quickly, with a small model trained in process, and prints beside it a baseline
measured in the same run: the frozen model's arithmetic alone (`score_vectors` on a feature
vector already computed), so that the database's share can be read whatever the machine's load.

The first half of the claims is submitted untimed (history for the scorer); the scorer's time
is taken for each claim of the second half, inside real submits. `--profile` prints where the
scorer's time goes (cProfile, cumulative); `--explain` the query plans of one claim's reads
(after ANALYZE).

Usage: python benchmarks/scoring.py [--claims 300] [--skip-postgres] [--profile] [--explain]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

# Run as a script, this folder would come first on sys.path and `fraud.py` would hide the
# `fraud` package: the repository root goes there instead.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import numpy as np  # noqa: E402
import orjson  # noqa: E402
from sqlalchemy import Engine, event  # noqa: E402

from benchmarks.intake import HCODE, make_bundles  # noqa: E402
from benchmarks.targets import ready_database  # noqa: E402
from fraud.facts import facts_from_bundle  # noqa: E402
from fraud.features import online_features  # noqa: E402
from fraud.history import MemoryHistory  # noqa: E402
from fraud.model import FraudModel, dump_model  # noqa: E402
from fraud.scoring import OnlineScorer, score_vectors  # noqa: E402
from fraud.synth import default_network, generate_history  # noqa: E402
from fraud.training import featurise, train_model  # noqa: E402
from gateway.db import make_engine  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.settings import Settings  # noqa: E402


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def small_model() -> FraudModel:
    items = generate_history(
        claims=3000, seed=41, hospitals=default_network(), end=date(2026, 10, 31), days=60
    )
    history = featurise(facts_from_bundle(i.bundle) for i in items)
    return train_model(history, mode="percentile", value=99.0, seed=1, version="bench-scoring")


def arithmetic_ms(model: FraudModel, bundles: list[bytes]) -> np.ndarray:
    """Per claim of the second half: `score_vectors` alone on its precomputed feature vector."""
    facts = [facts_from_bundle(orjson.loads(b)) for b in bundles]
    half = len(facts) // 2
    history = MemoryHistory()
    history.extend(facts[:half])
    scorer = OnlineScorer(model, history)
    out = []
    for f in facts[half:]:
        alerts, claims, recent = scorer.standing(f)
        x = online_features(f, history, norms=model.norms, standing=(alerts, claims), recent=recent)
        start = time.perf_counter()
        score_vectors(model, [f], x[None, :])
        out.append((time.perf_counter() - start) * 1000)
        history.add(f)
    return np.array(out)


def query_plans(engine: Engine, run: Any) -> str:
    """EXPLAIN (QUERY PLAN on SQLite) of every SELECT that `run()` sends, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    out = []
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")  # plans as with a production's statistics
        for statement, params in sent:
            plan = conn.exec_driver_sql(prefix + statement, params).all()
            out.append(" ".join(statement.split())[:160])
            out.extend("    " + " | ".join(str(v) for v in row) for row in plan)
    return "\n".join(out)


def scoring_ms(
    kind: str, workdir: Path, bundles: list[bytes], model: Path, profile: bool, explain: bool
) -> tuple[str, np.ndarray, np.ndarray, str]:
    """The scorer's wall and CPU time per claim of the second half, in real in-process submits.

    CPU time (this thread's) leaves out the time the process waited for a core, which on a
    shared machine is most of the tail; with SQLite it includes the database's work.
    """
    from gateway.auth.tokens import AccessGrant
    from gateway.claims.service import ClaimIntake
    from gateway.pipeline import build_pipeline

    with ready_database(kind, workdir, bundles, model) as (target, _key, _client):
        settings = Settings(database_url=target.url)
        engine = make_engine(settings)
        pipeline = build_pipeline(settings, engine)
        scored: list[float] = []
        cpu: list[float] = []
        profiler = cProfile.Profile()

        def timed_score(session: Any, claim: Any, adjudication: Any) -> Any:
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                if profile and timing[0]:
                    return profiler.runcall(pipeline.score, session, claim, adjudication)
                return pipeline.score(session, claim, adjudication)
            finally:
                if timing[0]:
                    scored.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.thread_time() - start_cpu) * 1000)

        timing = [False]
        intake = ClaimIntake(engine, settings, replace(pipeline, score=timed_score))
        grant = AccessGrant(client_id="bench", hcode=HCODE, scopes=frozenset())
        half = len(bundles) // 2
        for body in bundles[:half]:
            intake.submit(grant=grant, body=body, idempotency_key=None)
        timing[0] = True
        for body in bundles[half:-1]:
            intake.submit(grant=grant, body=body, idempotency_key=None)
        timing[0] = False
        last = bundles[-1]
        plans = query_plans(
            engine, lambda: intake.submit(grant=grant, body=last, idempotency_key=None)
        )
        engine.dispose()
    report = plans if explain else ""
    if profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        report += out.getvalue()
    return target.name, np.array(scored), np.array(cpu), report


def line(name: str, ms: np.ndarray, base: np.ndarray | None = None) -> str:
    p50, p99 = float(np.percentile(ms, 50)), float(np.percentile(ms, 99))
    text = f"{name:<40} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  max {ms.max():7.3f} ms"
    if base is not None:
        b50, b99 = float(np.percentile(base, 50)), float(np.percentile(base, 99))
        text += f"  (÷ arithmetic: p50 {p50 / b50:.1f}×, p99 {p99 / b99:.1f}×)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=300, help="timed claims (as many untimed)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile of the timed scorer")
    parser.add_argument("--explain", action="store_true", help="query plans of the last claim")
    options = parser.parse_args()
    configure_logging("warning")
    print(f"load average {load()}", flush=True)
    bundles = make_bundles(options.claims * 2, seed=202)
    model = small_model()
    kinds = ["sqlite"] if options.skip_postgres else ["sqlite", "postgres"]
    with tempfile.TemporaryDirectory(prefix="claimgw-scoring-") as folder:
        workdir = Path(folder)
        path = workdir / "model.bin"
        path.write_bytes(dump_model(model))
        for kind in kinds:
            base = arithmetic_ms(model, bundles)  # the baseline at the same moment
            print(line("frozen-model arithmetic alone", base), flush=True)
            name, ms, cpu, report = scoring_ms(
                kind, workdir, bundles, path, options.profile, options.explain
            )
            print(line(f"scorer in submit, history from {name}", ms, base), flush=True)
            print(line("  the same, CPU time of the thread", cpu, base), flush=True)
            print(f"load average {load()}", flush=True)
            if report:
                print(report)


if __name__ == "__main__":
    main()
