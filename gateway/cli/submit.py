"""`claimgw submit`: send claim bundles from files or folders to a gateway."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.output import errors, fail, print_json, print_rows

if TYPE_CHECKING:
    from gateway.client import GatewayClient, SubmitAnswer

OUTCOME_WORDS = {
    "complete": "paid in full",
    "partial": "partly paid",
    "error": "not paid",
    "queued": "pended for review",
}
"""ClaimResponse.outcome in the words a hospital's claims office uses."""


@dataclass(frozen=True, slots=True)
class BundleSource:
    """One bundle to send and where it came from (file, or file:line for NDJSON)."""

    origin: str
    body: bytes


def read_bundles(paths: list[Path]) -> Iterator[BundleSource]:
    """Bundles from .json files (one each), .ndjson files (one per line) and folders of both."""
    for path in paths:
        if path.is_dir():
            yield from read_bundles(
                sorted(p for p in path.iterdir() if p.suffix in (".json", ".ndjson"))
            )
        elif path.suffix == ".ndjson":
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield BundleSource(f"{path}:{number}", line.strip())
        else:
            yield BundleSource(str(path), path.read_bytes())


def answer_kind(status: int, dry_run: bool) -> str:
    """What happened to one bundle: accepted, replayed, validated, refused or failed."""
    if status == 0 or status >= 500:
        return "failed"
    if status >= 400:
        return "refused"
    if dry_run:
        return "validated"
    return "accepted" if status == 201 else "replayed"


def label(answer: SubmitAnswer, dry_run: bool) -> str:
    """The answer in a hospital's words: paid in full, partly paid, not paid, pended, refused."""
    kind = answer_kind(answer.status, dry_run)
    if kind == "failed":
        return f"server error (HTTP {answer.status})"
    if kind == "refused":
        return f"refused (HTTP {answer.status})"
    words = OUTCOME_WORDS.get(answer.outcome or "", f"outcome {answer.outcome}")
    if kind == "validated":
        return f"would be {words}"
    return f"{words} (sent before)" if kind == "replayed" else words


def submit(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundle files (.json), NDJSON files or folders")
    ],
    url: Annotated[str, typer.Option(help="Gateway base URL")] = "http://127.0.0.1:8000",
    client_id: Annotated[str, typer.Option(help="Your API client id")] = "demo-10661",
    key: Annotated[Path, typer.Option(help="Your private key (PEM)")] = Path(
        "var/demo-keys/10661.pem"
    ),
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 4,
    validate_only: Annotated[
        bool, typer.Option("--validate", help="Use $validate; store nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Submit claim bundles and summarise what the gateway answered.

    Each bundle is counted as paid in full, partly paid, not paid, pended for review or
    refused (with --validate: what it would be). Exit code 2 if any answer was a 5xx or a
    network error, 1 if no token could be had.
    """
    from gateway.client import GatewayClient, GatewayError

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    if not key.exists():
        fail(f"no key file at {key}")
    sources = list(read_bundles(paths))
    client = GatewayClient(url, client_id, key)
    try:
        client.token()
    except GatewayError as exc:
        client.close()
        fail(str(exc))
    results = _send_all(client, sources, concurrency, validate_only, as_json)
    client.close()
    _report(results, as_json)
    if any(r["answer"] == "failed" for r in results):
        raise typer.Exit(2)


def _send_all(
    client: GatewayClient,
    sources: list[BundleSource],
    concurrency: int,
    dry_run: bool,
    quiet: bool,
) -> list[dict[str, object]]:
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    operation = "$validate" if dry_run else "$submit"

    def send(source: BundleSource) -> dict[str, object]:
        try:
            answer = client.submit(source.body, operation=operation)
        except (httpx.HTTPError, RuntimeError) as exc:
            return {
                "source": source.origin,
                "status": 0,
                "answer": "failed",
                "result": "network error",
                "outcome": None,
                "detail": " ".join(str(exc).split()),
            }
        return {
            "source": source.origin,
            "status": answer.status,
            "answer": answer_kind(answer.status, dry_run),
            "result": label(answer, dry_run),
            "outcome": answer.outcome,
            "claim_response": answer.response_id,
            "detail": answer.first_problem,
        }

    columns = (TextColumn("submitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        Progress(*columns, console=errors, disable=quiet) as progress,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        task = progress.add_task("submit", total=len(sources))
        results = []
        for result in pool.map(send, sources):
            results.append(result)
            progress.advance(task)
    return results


def _report(results: list[dict[str, object]], as_json: bool) -> None:
    counts = Counter(str(r["result"]) for r in results)
    if as_json:
        print_json({"total": len(results), "counts": dict(counts), "results": results})
        return
    print_rows("Submission summary", ["result", "bundles"], sorted(counts.items()))
    refused = [r for r in results if r["answer"] in ("refused", "failed")][:10]
    if refused:
        print_rows(
            "First refusals",
            ["source", "status", "problem"],
            [[r["source"], r["status"], r["detail"]] for r in refused],
        )
