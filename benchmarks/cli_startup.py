"""How fast `claimgw` starts: CPU and wall time of real commands, as ratios to baselines.

Every figure is measured in this run: `python -c pass` (the interpreter alone) and
`python -c "import typer"` (the CLI framework alone) are the baselines, so the ratios hold on
a busy machine too. Commands run as a user runs them, in a fresh process each time:

- `claimgw --help`
- `claimgw token` against a port where nothing listens (start, sign, fail in one line)
- `claimgw hospital list --json` on a migrated, empty SQLite database
- `claimgw submit FILE` against a port where nothing listens

Usage: python benchmarks/cli_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLAIMGW = [sys.executable, "-m", "gateway.cli.main"]


@dataclass(frozen=True)
class Timing:
    """Median CPU (user + system of the child) and wall seconds of one command."""

    name: str
    cpu: float
    wall: float


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """CPU and wall seconds of one run of argv in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(name: str, argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> Timing:
    """The median of `repeat` runs, after one warm-up run (file-system cache)."""
    run_once(argv, env, cwd)
    runs = [run_once(argv, env, cwd) for _ in range(repeat)]
    return Timing(
        name, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    )


def closed_port() -> int:
    """A port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(folder: Path) -> dict[str, str]:
    """A migrated empty SQLite database, a key and a claim file; the environment to use them."""
    from gateway.db import upgrade_database
    from gateway.settings import Settings
    from provider_registry.keys import generate_client_key

    url = f"sqlite:///{folder / 'claimgw.db'}"
    upgrade_database(Settings(database_url=url))
    (folder / "key.pem").write_bytes(generate_client_key().private_pem)
    (folder / "claim.json").write_text('{"resourceType": "Bundle"}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMGW_")}
    env["CLAIMGW_DATABASE_URL"] = url
    env["PYTHONPATH"] = str(ROOT)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="claimgw-startup-") as tmp:
        folder = Path(tmp)
        env = prepare(folder)
        url = f"http://127.0.0.1:{closed_port()}"
        key = str(folder / "key.pem")
        commands = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ('python -c "import typer"', [sys.executable, "-c", "import typer"]),
            ("claimgw --help", [*CLAIMGW, "--help"]),
            ("claimgw token (no server)", [*CLAIMGW, "token", "--url", url, "--key", key]),
            ("claimgw hospital list --json", [*CLAIMGW, "hospital", "list", "--json"]),
            (
                "claimgw submit (no server)",
                [*CLAIMGW, "submit", "claim.json", "--url", url, "--key", key],
            ),
        ]
        timings = [measure(name, argv, env, folder, args.repeat) for name, argv in commands]
    report(timings, args.repeat)


def report(timings: list[Timing], repeat: int) -> None:
    """A table of medians and ratios to both baselines."""
    python, typer_only = timings[0], timings[1]
    print(f"median of {repeat} runs; load average {os.getloadavg()[0]:.2f}")
    header = f"{'command':34} {'CPU s':>7} {'wall s':>7} {'÷ python':>9} {'÷ typer':>8}"
    print(header)
    print("-" * len(header))
    for t in timings:
        print(
            f"{t.name:34} {t.cpu:7.3f} {t.wall:7.3f} "
            f"{t.cpu / python.cpu:9.1f} {t.cpu / typer_only.cpu:8.1f}"
        )


if __name__ == "__main__":
    main()
