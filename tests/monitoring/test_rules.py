"""Prometheus rules and config pass promtool's checks and its unit tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.monitoring.promql import MONITORING, RULE_FILES, rules

pytestmark = [pytest.mark.prometheus]

RULE_TESTS = sorted((MONITORING / "tests").glob("*.yml"))
OPERATIONS = MONITORING.parent / "docs" / "operations.md"


def _promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, cwd=MONITORING, check=False
    )


def test_rule_files_pass_promtool_check(promtool: str) -> None:
    result = _promtool(promtool, "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_passes_promtool_check(promtool: str) -> None:
    result = _promtool(promtool, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(promtool: str, test_file: Path) -> None:
    result = _promtool(promtool, "test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested() -> None:
    tested = set(re.findall(r"alertname:\s*(\w+)", "".join(p.read_text() for p in RULE_TESTS)))
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts - tested == set()


def test_every_alert_has_a_runbook_section_in_the_operations_guide() -> None:
    anchors = {
        _anchor(line)
        for line in OPERATIONS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in rules():
        if "alert" not in rule:
            continue
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == "docs/operations.md"
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in {OPERATIONS}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
