"""The insured-person roster: reading roster CSV files and upserting them.

Columns: cid,section,main_hcode,coverage_start,coverage_end,contribution_months,death_date.
`contribution_months` counts the months contributed in the last 15, so it is 0 to 15. A bad
row is reported with its row number and every problem it has; the CID never appears in full.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlmodel import Session

from fhir_mappings.citizen_id import citizen_id_problem, mask_citizen_id
from fhir_mappings.systems import is_valid_hcode
from provider_registry.models import InsuredPerson, utcnow
from provider_registry.repository import InsuredPersonRepository

ROSTER_COLUMNS = (
    "cid",
    "section",
    "main_hcode",
    "coverage_start",
    "coverage_end",
    "contribution_months",
    "death_date",
)
T = TypeVar("T")
SECTIONS = (33, 39, 40)
CONTRIBUTION_WINDOW_MONTHS = 15


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One valid roster row."""

    cid: str
    section: int
    main_hcode: str
    coverage_start: date
    coverage_end: date | None
    contribution_months: int
    death_date: date | None


@dataclass(frozen=True, slots=True)
class RosterError:
    """A roster row that was not imported: its data row number (1 = first after the header)."""

    row: int
    reason: str
    problems: tuple[str, ...] = ()
    """Every problem of the row (`reason` joins them)."""


class BadRow(ValueError):
    """Why one roster row is unusable; the messages never hold a full CID."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_roster(text: str) -> Iterator[RosterRow | RosterError]:
    """Each data row of a roster CSV, as a row or as the reason it is refused."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        yield RosterError(0, f"header lacks columns: {', '.join(missing)}")
        return
    for number, raw in enumerate(reader, start=1):
        try:
            yield roster_row({k: (v or "").strip() for k, v in raw.items() if k})
        except BadRow as exc:
            yield RosterError(number, str(exc), exc.problems)


def roster_row(raw: dict[str, str]) -> RosterRow:
    """A validated roster row from CSV cells; BadRow lists every problem at once."""
    problems: list[str] = []
    cid = raw.get("cid", "")
    problem = citizen_id_problem(cid)
    if problem:
        problems.append(f"citizen ID {_masked(cid)} is invalid ({problem})")
    section = _checked(problems, lambda: _int(raw, "section"))
    if section is not None and section not in SECTIONS:
        problems.append(f"section must be 33, 39 or 40, not {section}")
    hcode = raw.get("main_hcode", "")
    if not is_valid_hcode(hcode):
        problems.append("main_hcode must be 5 or 9 digits")
    months = _checked(problems, lambda: _int(raw, "contribution_months"))
    if months is not None and not 0 <= months <= CONTRIBUTION_WINDOW_MONTHS:
        problems.append(
            f"contribution_months must be 0 to {CONTRIBUTION_WINDOW_MONTHS} "
            f"(months contributed in the last {CONTRIBUTION_WINDOW_MONTHS}), not {months}"
        )
    start = _checked(problems, lambda: _date(raw, "coverage_start"))
    end = _checked(problems, lambda: _date(raw, "coverage_end"))
    death = _checked(problems, lambda: _date(raw, "death_date"))
    if start is None and raw.get("coverage_start", "") == "":
        problems.append("coverage_start is empty")
    if start is not None and end is not None and end < start:
        problems.append("coverage_end is before coverage_start")
    if problems:
        raise BadRow(*problems)
    assert section is not None
    assert months is not None
    assert start is not None
    return RosterRow(
        cid=cid,
        section=section,
        main_hcode=hcode,
        coverage_start=start,
        coverage_end=end,
        contribution_months=months,
        death_date=death,
    )


def _checked(problems: list[str], read: Callable[[], T]) -> T | None:
    """A cell read by `read`, or None with its problem noted."""
    try:
        return read()
    except BadRow as exc:
        problems.extend(exc.problems)
        return None


def _masked(cid: str) -> str:
    """A CID for error reports: the last four digits at most, never a short value whole."""
    return mask_citizen_id(cid) if len(cid) > 8 else "*" * len(cid)


def _int(raw: dict[str, str], column: str) -> int:
    try:
        return int(raw.get(column, ""))
    except ValueError as exc:
        raise BadRow(f"{column} is not a whole number") from exc


def _date(raw: dict[str, str], column: str) -> date | None:
    text = raw.get(column, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadRow(f"{column} is not an ISO 8601 date") from exc


@dataclass(frozen=True, slots=True)
class Upserted:
    """Whether an upsert added, changed or left a roster entry as it was."""

    added: bool
    changed: bool


KeyOf = Callable[[str], str]
"""The keyed hash that stands for a CID (the gateway's `person_key`): the roster stores no CID."""


def upsert_member(session: Session, row: RosterRow, key_of: KeyOf) -> Upserted:
    """Add or update one roster entry, keyed by the CID's hash; re-importing changes nothing."""
    repo = InsuredPersonRepository(session)
    key = key_of(row.cid)
    person = repo.get(key)
    values = {
        "section": row.section,
        "main_hcode": row.main_hcode,
        "coverage_start": row.coverage_start,
        "coverage_end": row.coverage_end,
        "contribution_months": row.contribution_months,
        "death_date": row.death_date,
    }
    if person is None:
        repo.add(InsuredPerson(person_key=key, **values))  # type: ignore[arg-type]
        return Upserted(added=True, changed=False)
    if all(getattr(person, name) == value for name, value in values.items()):
        return Upserted(added=False, changed=False)
    for name, value in values.items():
        setattr(person, name, value)
    person.updated_at = utcnow()
    repo.add(person)
    return Upserted(added=False, changed=True)


def roster_csv(rows: Iterable[RosterRow]) -> str:
    """Roster rows as CSV text with the standard header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.cid,
                r.section,
                r.main_hcode,
                r.coverage_start.isoformat(),
                r.coverage_end.isoformat() if r.coverage_end else "",
                r.contribution_months,
                r.death_date.isoformat() if r.death_date else "",
            ]
        )
    return out.getvalue()


@dataclass(slots=True)
class RosterImportReport:
    """What a roster import did, and every row it refused."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RosterError] | None = None

    def count(self, result: Upserted) -> None:
        if result.added:
            self.added += 1
        elif result.changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def refuse(self, error: RosterError) -> None:
        self.errors = [*(self.errors or []), error]


def import_roster(
    session: Session,
    entries: Iterable[RosterRow | RosterError],
    *,
    key_of: KeyOf,
    on_row: Callable[[], None] | None = None,
) -> RosterImportReport:
    """Upsert every valid row and report the others; the caller commits."""
    report = RosterImportReport()
    for entry in entries:
        if isinstance(entry, RosterError):
            report.refuse(entry)
        else:
            report.count(upsert_member(session, entry, key_of))
            session.flush()
        if on_row is not None:
            on_row()
    return report
