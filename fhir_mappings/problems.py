"""Problems found in a submission: values, never exceptions, until the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ProblemKind(IntEnum):
    """What kind of failure a problem is; the highest kind decides the HTTP status."""

    BUSINESS = 422
    FORBIDDEN = 403
    STRUCTURE = 400
    TOO_LARGE = 413


@dataclass(frozen=True, slots=True)
class Problem:
    """One issue in an OperationOutcome: a rule broken at a FHIRPath location."""

    rule: str
    code: str
    expression: str
    message_en: str
    message_th: str
    kind: ProblemKind = ProblemKind.BUSINESS
    severity: str = "error"
    details: dict[str, str] = field(default_factory=dict)


def http_status(problems: list[Problem]) -> int:
    """The status for a list of problems: structure 400 over forbidden 403 over 422."""
    kinds = {p.kind for p in problems if p.severity in ("error", "fatal")}
    for kind in (ProblemKind.TOO_LARGE, ProblemKind.STRUCTURE, ProblemKind.FORBIDDEN):
        if kind in kinds:
            return int(kind)
    return int(ProblemKind.BUSINESS)
