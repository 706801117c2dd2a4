"""FHIR `date` search parameters (`created=ge2026-11-01`) as ranges of instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
DATE_VALUE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class SearchError(ValueError):
    """A search parameter the server cannot read."""


@dataclass(frozen=True, slots=True)
class DateRange:
    """A FHIR date search value: a prefix and the instants [low, high) its value covers."""

    prefix: str
    low: datetime
    high: datetime


def parse_date_param(raw: str) -> DateRange:
    """`ge2026-11-01`, `2026-11`, `lt2026-11-15T10:00:00+07:00`; a zoneless date is Bangkok's."""
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    value = raw[2:] if raw[:2] in PREFIXES else raw
    low, high = _span(value.strip())
    return DateRange(prefix, low, high)


def _span(value: str) -> tuple[datetime, datetime]:
    found = DATE_VALUE.match(value)
    if found:
        year, month, day = found.groups()
        try:
            low = datetime(int(year), int(month or 1), int(day or 1), tzinfo=BANGKOK)
        except ValueError as exc:
            raise SearchError(f"{value!r} is not a calendar date") from exc
        if day:
            return low, low + timedelta(days=1)
        if month:
            return low, (low + timedelta(days=32)).replace(day=1)
        return low, low.replace(year=low.year + 1)
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"{value[:40]!r} is not a FHIR date or dateTime") from exc
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=BANGKOK)
    return instant, instant + timedelta(seconds=1)
