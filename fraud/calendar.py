"""Thai public holidays and the weekly and seasonal rhythm of hospital visits."""

from __future__ import annotations

from datetime import date
from typing import Final

FIXED_HOLIDAYS: Final = {
    (1, 1),
    (4, 6),
    (4, 13),
    (4, 14),
    (4, 15),
    (5, 1),
    (5, 4),
    (6, 3),
    (7, 28),
    (8, 12),
    (10, 13),
    (10, 23),
    (12, 5),
    (12, 10),
    (12, 31),
}
# Buddhist holidays follow the lunar calendar (Makha, Visakha, Asanha Bucha, Khao Phansa).
LUNAR_HOLIDAYS: Final = {
    date(2024, 2, 24),
    date(2024, 5, 22),
    date(2024, 7, 20),
    date(2024, 7, 21),
    date(2025, 2, 12),
    date(2025, 5, 11),
    date(2025, 7, 10),
    date(2025, 7, 11),
    date(2026, 3, 3),
    date(2026, 5, 31),
    date(2026, 7, 29),
    date(2026, 7, 30),
    date(2027, 2, 20),
    date(2027, 5, 20),
    date(2027, 7, 18),
    date(2027, 7, 19),
}
WEEKDAY_WEIGHT: Final = (1.1, 1.0, 1.0, 1.0, 0.95, 0.55, 0.3)
RAINY_MONTHS: Final = frozenset({6, 7, 8, 9, 10})


def is_thai_holiday(day: date) -> bool:
    """A Thai public holiday (fixed-date or lunar, 2024–2027)."""
    return (day.month, day.day) in FIXED_HOLIDAYS or day in LUNAR_HOLIDAYS


def day_weight(day: date) -> float:
    """Relative visit volume of a day: weekday rhythm, rainy-season peak, holidays low."""
    weight = WEEKDAY_WEIGHT[day.weekday()]
    if day.month in RAINY_MONTHS:
        weight *= 1.15
    if is_thai_holiday(day):
        weight *= 0.35
    return weight
