"""The SSO tariff schedule: effective-dated items, their limits, and hospitals' code mappings.

Pure data: CSV text in, typed items out. The gateway stores them in its database; every number
the pricing rules use comes from here, with the source it was taken from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from typing import TypeVar

from fhir_mappings.claim import CareSetting

TARIFF_COLUMNS = (
    "code",
    "name_th",
    "name_en",
    "fee_category",
    "price",
    "unit",
    "limit_amount",
    "limit_count",
    "limit_period",
    "limit_period_n",
    "limit_group",
    "sections",
    "settings",
    "valid_from",
    "valid_to",
    "source",
    "confidence",
    "illustrative",
)
MAPPING_COLUMNS = (
    "hcode",
    "local_system",
    "local_code",
    "tariff_code",
    "valid_from",
    "valid_to",
    "source",
)
UNITS = frozenset({"item", "visit", "day", "session", "case", "week", "month", "adjrw"})
SECTIONS = frozenset({33, 39, 40})
T = TypeVar("T")


class LimitPeriod(StrEnum):
    """The window an accumulator counts over."""

    VISIT = "visit"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    YEARS = "years"
    DAYS = "days"
    ENCOUNTER = "encounter"
    """The care episode (one delivery): every claim of the same Encounter counts together."""


@dataclass(frozen=True, slots=True)
class TariffLimit:
    """A cap shared by every item of `group`: an amount and/or a count per period."""

    group: str
    period: LimitPeriod
    period_n: int = 1
    amount: Decimal | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class TariffItem:
    """One SSO tariff item in force from valid_from to valid_to (inclusive)."""

    code: str
    name_th: str
    name_en: str
    fee_category: str
    price: Decimal | None
    unit: str
    sections: frozenset[int]
    settings: frozenset[CareSetting]
    valid_from: date
    valid_to: date | None
    source: str
    confidence: str = "L"
    illustrative: bool = False
    limit: TariffLimit | None = None

    def in_force_on(self, day: date) -> bool:
        """Whether the item applies to a service on `day`."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class TariffMapping:
    """A hospital's own code (local, TMT, TMLT) taken to an SSO tariff item."""

    hcode: str
    local_system: str
    local_code: str
    tariff_code: str
    valid_from: date
    valid_to: date | None
    source: str

    def in_force_on(self, day: date) -> bool:
        """Whether the mapping applies to a service on `day`."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class RowError:
    """A CSV row that could not be read: its 1-based data row number and why."""

    row: int
    reason: str


class TariffSchedule:
    """Tariff items by code; picks the version in force on a date."""

    def __init__(self, items: Iterable[TariffItem]) -> None:
        self._by_code: dict[str, list[TariffItem]] = {}
        for item in items:
            self._by_code.setdefault(item.code, []).append(item)

    def item_on(self, code: str, day: date) -> TariffItem | None:
        """The version of `code` in force on `day`, the latest-starting if several overlap."""
        versions = [i for i in self._by_code.get(code, ()) if i.in_force_on(day)]
        return max(versions, key=lambda i: i.valid_from) if versions else None

    def knows(self, code: str) -> bool:
        """Whether any version of `code` exists."""
        return code in self._by_code

    def items(self) -> Iterator[TariffItem]:
        """Every version of every item."""
        for versions in self._by_code.values():
            yield from versions


class RowProblem(ValueError):
    """Why one CSV row is unusable."""


def parse_tariff_csv(text: str) -> tuple[list[TariffItem], list[RowError]]:
    """Tariff items from CSV text with TARIFF_COLUMNS; bad rows are reported, not fatal."""
    return _parse(text, TARIFF_COLUMNS, _tariff_item)


def parse_mapping_csv(text: str) -> tuple[list[TariffMapping], list[RowError]]:
    """Code mappings from CSV text with MAPPING_COLUMNS; bad rows are reported, not fatal."""
    return _parse(text, MAPPING_COLUMNS, _mapping)


def default_schedule_text() -> str:
    """The shipped default schedule (every SSO-FACTS benefit plus illustrative items)."""
    return _data_file("sso_tariff.csv")


def default_mapping_text() -> str:
    """The shipped demo hospitals' code mappings (illustrative)."""
    return _data_file("demo_mappings.csv")


def _data_file(name: str) -> str:
    return resources.files("fhir_mappings").joinpath("data", name).read_text(encoding="utf-8")


def _parse(
    text: str, columns: Sequence[str], build: Callable[[dict[str, str]], T]
) -> tuple[list[T], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        return [], [RowError(0, f"header lacks columns: {', '.join(missing)}")]
    found: list[T] = []
    errors: list[RowError] = []
    for number, row in enumerate(reader, start=1):
        try:
            found.append(build({k: (v or "").strip() for k, v in row.items() if k}))
        except RowProblem as exc:
            errors.append(RowError(number, str(exc)))
    return found, errors


def _tariff_item(row: dict[str, str]) -> TariffItem:
    code = _required(row, "code")
    unit = _required(row, "unit")
    if unit not in UNITS:
        raise RowProblem(f"unit must be one of {sorted(UNITS)}")
    valid_from, valid_to = _validity(row)
    return TariffItem(
        code=code,
        name_th=_required(row, "name_th"),
        name_en=_required(row, "name_en"),
        fee_category=row.get("fee_category", ""),
        price=_money(row, "price"),
        unit=unit,
        sections=_sections(row.get("sections", "")),
        settings=_settings(row.get("settings", "")),
        valid_from=valid_from,
        valid_to=valid_to,
        source=_required(row, "source"),
        confidence=row.get("confidence") or "L",
        illustrative=row.get("illustrative", "").lower() in ("1", "true", "yes"),
        limit=_limit(row),
    )


def _limit(row: dict[str, str]) -> TariffLimit | None:
    amount, count = _money(row, "limit_amount"), row.get("limit_count", "")
    if amount is None and not count:
        return None
    try:
        period = LimitPeriod(row.get("limit_period", ""))
        period_n = int(row.get("limit_period_n") or 1)
        limit_count = int(count) if count else None
    except ValueError as exc:
        raise RowProblem(f"limit is unreadable: {exc}") from exc
    if period_n < 1 or (limit_count is not None and limit_count < 1):
        raise RowProblem("limit_period_n and limit_count must be positive")
    group = row.get("limit_group") or row["code"]
    return TariffLimit(
        group=group, period=period, period_n=period_n, amount=amount, count=limit_count
    )


def _mapping(row: dict[str, str]) -> TariffMapping:
    hcode = _required(row, "hcode")
    if not hcode.isdigit() or len(hcode) not in (5, 9):
        raise RowProblem("hcode must be 5 or 9 digits")
    valid_from, valid_to = _validity(row)
    return TariffMapping(
        hcode=hcode,
        local_system=row.get("local_system", ""),
        local_code=_required(row, "local_code"),
        tariff_code=_required(row, "tariff_code"),
        valid_from=valid_from,
        valid_to=valid_to,
        source=_required(row, "source"),
    )


def _required(row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise RowProblem(f"{column} is empty")
    return value


def _money(row: dict[str, str], column: str) -> Decimal | None:
    text = row.get(column, "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise RowProblem(f"{column} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise RowProblem(f"{column} must be a non-negative number")
    return value


def _validity(row: dict[str, str]) -> tuple[date, date | None]:
    try:
        valid_from = date.fromisoformat(_required(row, "valid_from"))
        valid_to = date.fromisoformat(row["valid_to"]) if row.get("valid_to") else None
    except ValueError as exc:
        raise RowProblem(f"dates must be ISO 8601: {exc}") from exc
    if valid_to is not None and valid_to < valid_from:
        raise RowProblem("valid_to is before valid_from")
    return valid_from, valid_to


def _sections(text: str) -> frozenset[int]:
    try:
        sections = frozenset(int(s) for s in text.split(";") if s.strip())
    except ValueError as exc:
        raise RowProblem("sections must be numbers separated by ';'") from exc
    if not sections or not sections <= SECTIONS:
        raise RowProblem("sections must be some of 33;39;40")
    return sections


def _settings(text: str) -> frozenset[CareSetting]:
    try:
        settings = frozenset(CareSetting(s.strip().upper()) for s in text.split(";") if s.strip())
    except ValueError as exc:
        raise RowProblem("settings must be some of OPD;IPD;EMERGENCY") from exc
    if not settings:
        raise RowProblem("settings is empty")
    return settings


PARAMETER_COLUMNS = ("name", "value", "valid_from", "valid_to", "source", "confidence")


@dataclass(frozen=True, slots=True)
class BenefitParameter:
    """A named number of the benefit rules (e.g. contribution months), effective-dated."""

    name: str
    value: Decimal
    valid_from: date
    valid_to: date | None
    source: str
    confidence: str = "L"

    def in_force_on(self, day: date) -> bool:
        """Whether the value applies on `day`."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class MissingParameter(LookupError):
    """A benefit rule needs a parameter that no data row provides for the date."""


class BenefitParameters:
    """The benefit rules' numbers, picked by name and date."""

    def __init__(self, rows: Iterable[BenefitParameter]) -> None:
        self._rows = list(rows)

    def rows(self) -> list[BenefitParameter]:
        """Every version of every parameter."""
        return list(self._rows)

    def on(self, name: str, day: date) -> Decimal:
        """The value of `name` in force on `day` (the latest-starting row wins)."""
        rows = [r for r in self._rows if r.name == name and r.in_force_on(day)]
        if not rows:
            raise MissingParameter(f"no value of {name} is in force on {day.isoformat()}")
        return max(rows, key=lambda r: r.valid_from).value


def parse_parameter_csv(text: str) -> tuple[list[BenefitParameter], list[RowError]]:
    """Benefit parameters from CSV text with PARAMETER_COLUMNS."""
    return _parse(text, PARAMETER_COLUMNS, _parameter)


def default_parameters() -> BenefitParameters:
    """The shipped benefit parameters (fhir_mappings/data/sso_parameters.csv)."""
    rows, _errors = parse_parameter_csv(default_parameter_text())
    return BenefitParameters(rows)


def default_parameter_text() -> str:
    """The shipped benefit parameters as CSV: loaded into an empty database on first use."""
    return _data_file("sso_parameters.csv")


def _parameter(row: dict[str, str]) -> BenefitParameter:
    value = _money(row, "value")
    if value is None:
        raise RowProblem("value is empty")
    valid_from, valid_to = _validity(row)
    return BenefitParameter(
        name=_required(row, "name"),
        value=value,
        valid_from=valid_from,
        valid_to=valid_to,
        source=_required(row, "source"),
        confidence=row.get("confidence") or "L",
    )
