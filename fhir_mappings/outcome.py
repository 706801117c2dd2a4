"""OperationOutcome resources built from problems."""

from __future__ import annotations

from typing import Any

from fhir_mappings.problems import Problem
from fhir_mappings.systems import VALIDATION_RULE_SYSTEM


def operation_outcome(problems: list[Problem]) -> dict[str, Any]:
    """One OperationOutcome listing every problem, each with its FHIRPath expression."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [_issue(p) for p in problems],
    }


def _issue(p: Problem) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "severity": p.severity,
        "code": p.code,
        "details": {
            "coding": [{"system": VALIDATION_RULE_SYSTEM, "code": p.rule, "display": p.message_en}],
            "text": p.message_th,
        },
        "diagnostics": p.message_en,
    }
    if p.expression:
        issue["expression"] = [p.expression]
    return issue


def informational_outcome(message_en: str, message_th: str) -> dict[str, Any]:
    """An OperationOutcome that reports success in words."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "information",
                "code": "informational",
                "details": {"text": message_th},
                "diagnostics": message_en,
            }
        ],
    }
