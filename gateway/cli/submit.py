"""`claimgw submit`: send claim bundles from files or folders to a gateway."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gateway.cli.output import errors, fail, print_json, print_table
from gateway.client import GatewayClient, SubmitAnswer


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


def _label(answer: SubmitAnswer) -> str:
    if answer.status == 201:
        return f"accepted:{answer.outcome}"
    if answer.status == 200:
        return f"replayed:{answer.outcome}"
    return f"refused:{answer.status}"


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
    """Submit claim bundles and summarise what the gateway answered."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    if not key.exists():
        fail(f"no key file at {key}")
    sources = list(read_bundles(paths))
    client = GatewayClient(url, client_id, key)
    try:
        client.token()
    except (httpx.HTTPError, RuntimeError) as exc:
        fail(f"cannot get a token from {url}: {exc}")
    results = _send_all(
        client, sources, concurrency, "$validate" if validate_only else "$submit", as_json
    )
    client.close()
    _report(results, as_json)
    if any(int(str(r["status"])) >= 500 or r["status"] == 0 for r in results):
        raise typer.Exit(2)


def _send_all(
    client: GatewayClient,
    sources: list[BundleSource],
    concurrency: int,
    operation: str,
    quiet: bool,
) -> list[dict[str, object]]:
    def send(source: BundleSource) -> dict[str, object]:
        try:
            answer = client.submit(source.body, operation=operation)
        except httpx.HTTPError as exc:
            return {
                "source": source.origin,
                "status": 0,
                "result": "network-error",
                "detail": str(exc),
            }
        return {
            "source": source.origin,
            "status": answer.status,
            "result": _label(answer),
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
    print_table("Submission summary", ["result", "bundles"], sorted(counts.items()))
    refused = [r for r in results if int(str(r["status"])) >= 400 or r["status"] == 0][:10]
    if refused:
        print_table(
            "First refusals",
            ["source", "status", "problem"],
            [[r["source"], r["status"], r["detail"]] for r in refused],
        )
