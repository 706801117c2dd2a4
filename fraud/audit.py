"""Retrospective audit of a file of claim bundles: score every claim in file (arrival) order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fhir_mappings.bundle import parse_claim_bundle
from fraud.batch import RosterColumns, featurise_columns, score_batch, scored_claims
from fraud.columnar import from_facts
from fraud.facts import ClaimFacts, facts_from_bundle
from fraud.model import FraudModel
from fraud.rules import InsuredRoster
from fraud.scoring import ScoredClaim

MAX_ENTRIES = 10_000


@dataclass(slots=True)
class AuditInput:
    """The structurally valid claims of a file, and the lines that were not."""

    facts: list[ClaimFacts] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


def read_claims(path: Path, *, check_structure: bool = True) -> AuditInput:
    """Facts of every structurally valid claim bundle; unknown codes are just categories."""
    found = AuditInput()
    for number, line in _lines(path):
        parsed = _facts(line, check_structure)
        if parsed is None:
            found.refused.append(number)
            continue
        facts, name = parsed
        found.facts.append(facts)
        if name and facts.hcode not in found.names:
            found.names[facts.hcode] = name
    return found


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _facts(line: bytes, check_structure: bool) -> tuple[ClaimFacts, str] | None:
    if check_structure:
        parsed = parse_claim_bundle(line, max_entries=MAX_ENTRIES)
        if isinstance(parsed, list):
            return None
        raw = parsed.raw
    else:
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
    try:
        return facts_from_bundle(raw), _organisation_name(raw)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None


def _organisation_name(bundle: dict[str, Any]) -> str:
    """The billing hospital's name as the bundle gives it (for reports), else empty."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Organization" and resource.get("name"):
            return str(resource["name"])
    return ""


def score_claims(
    model: FraudModel, facts: list[ClaimFacts], roster: InsuredRoster | None = None
) -> list[ScoredClaim]:
    """Scores with batch features over the file, in file order (earlier lines are history).

    Vectorised over the whole list (`fraud.batch`); every claim gets the score and reasons the
    online scorer gives it (tested).
    """
    cols = from_facts(facts)
    features = featurise_columns(cols, model.norms)
    people = None if roster is None else RosterColumns.from_roster(roster, (f.cid for f in facts))
    scores = score_batch(model, cols, features, people)
    return scored_claims(model, cols, features, scores)
