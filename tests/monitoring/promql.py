"""Metric names used in PromQL expressions, and the expressions of our rules and dashboard."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
RULE_FILES = sorted((MONITORING / "rules").glob("*.yml"))
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))

_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
        "nan",
        "atan2",
    }
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()")


def metric_names(expr: str) -> set[str]:
    """Metric (and recording-rule) names an expression selects; functions and labels left out."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    return {
        name
        for name in _IDENT.findall(text)
        if name.lower() not in _KEYWORDS and not re.fullmatch(r"\d.*", name)
    }


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> Iterator[dict[str, Any]]:
    """Every rule of every rule file."""
    for path in RULE_FILES:
        for group in _load(path)["groups"]:
            yield from group["rules"]


def recorded_names() -> set[str]:
    """Names defined by recording rules."""
    return {rule["record"] for rule in rules() if "record" in rule}


def rule_expressions() -> dict[str, str]:
    """Each rule's expression, keyed by its record or alert name."""
    return {rule.get("record") or rule["alert"]: rule["expr"] for rule in rules()}


def dashboard_expressions() -> dict[str, str]:
    """Each dashboard query, keyed by panel title and refId."""
    found: dict[str, str] = {}
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                found[f"{path.name}: {panel['title']} [{target['refId']}]"] = target["expr"]
    return found


_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def label_matchers(expr: str) -> Iterator[tuple[str, str, str, str]]:
    """(metric, label, operator, value) of every label matcher in an expression."""
    for metric, body in _SELECTOR.findall(expr):
        for label, operator, value in _MATCHER.findall(body):
            yield metric, label, operator, value
