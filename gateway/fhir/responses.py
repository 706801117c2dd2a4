"""FHIR JSON responses and the exception that carries problems to the edge."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from fhir_mappings.outcome import operation_outcome
from fhir_mappings.problems import Problem, http_status

FHIR_JSON = "application/fhir+json"


class FHIRResponse(JSONResponse):
    """A FHIR resource as application/fhir+json."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ProblemError(Exception):
    """Problems that end a request; rendered as one OperationOutcome."""

    def __init__(
        self,
        problems: list[Problem],
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(problems[0].message_en if problems else "error")
        self.problems = problems
        self.status = status or http_status(problems)
        self.headers = headers or {}


def outcome_response(
    problems: list[Problem], status: int | None = None, headers: dict[str, str] | None = None
) -> FHIRResponse:
    """One OperationOutcome with every problem, under the status they call for."""
    return FHIRResponse(
        operation_outcome(problems), status_code=status or http_status(problems), headers=headers
    )


def http_problem(
    status: int,
    code: str,
    en: str,
    th: str,
    expression: str = "",
    headers: dict[str, str] | None = None,
) -> ProblemError:
    """A ProblemError for protocol failures (auth, media type, limits) outside the catalogue."""
    found = Problem(
        rule=f"http-{status}", code=code, expression=expression, message_en=en, message_th=th
    )
    return ProblemError([found], status=status, headers=headers)
