"""One source of truth for what a stored claim may hold: column lengths, numeric ranges, depth.

The gateway's table models take their `max_length` and `Numeric` precision from here, and the
profile layer checks every submitted value against the same numbers, so a value that passes the
profile always fits the column on SQLite and on PostgreSQL (where a longer string or a larger
number is a DataError, not a silent truncation).

Hospital identifiers (invoice, HN, AN, VN) are normalised with Unicode NFKC and must then use
only IDENTIFIER_CHARACTERS: ASCII letters and digits and `- _ . /`. Look-alike letters from other
scripts, zero-width and control characters are refused with the character named, so that
`S7-0000008` and a Cyrillic `Ѕ7-0000008` can never be two claims.
"""

from __future__ import annotations

import string
import unicodedata
from decimal import Decimal
from typing import Final

INVOICE_MAX: Final = 100  # claims.identifier_value
IDENTIFIER_SYSTEM_MAX: Final = 200  # claims.identifier_system, claim_lines.product_system
CID_LENGTH: Final = 13  # a citizen ID as written in a bundle (never stored: see PERSON_KEY_LENGTH)
PERSON_KEY_LENGTH: Final = 64  # claims.patient_key, benefit_uses.patient_key: HMAC-SHA256 hex
PRODUCT_CODE_MAX: Final = 64  # claim_lines.product_code
CATEGORY_CODE_MAX: Final = 16  # claim_lines.category_code
CLAIM_TYPE_MAX: Final = 32  # claims.claim_type
HOSPITAL_NUMBER_MAX: Final = 64  # HN, AN, VN values

MONEY_PRECISION: Final = 14  # Numeric(14, 2): every amount column
MONEY_SCALE: Final = 2
QUANTITY_PRECISION: Final = 12  # Numeric(12, 3): claim_lines.quantity
QUANTITY_SCALE: Final = 3
MONEY_MAX: Final = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE) - Decimal("0.01")
QUANTITY_MAX: Final = Decimal(10) ** (QUANTITY_PRECISION - QUANTITY_SCALE) - Decimal("0.001")

MAX_JSON_DEPTH: Final = 32  # FHIR claim bundles nest about 10 deep
MAX_CLAIM_ITEMS: Final = 1000  # Claim.item lines per claim
MAX_STRING_CHARS: Final = 100_000  # any one JSON string in a bundle

IDENTIFIER_CHARACTERS: Final = frozenset(string.ascii_letters + string.digits + "-_./")
IDENTIFIER_CHARACTERS_TEXT: Final = "A-Z a-z 0-9 - _ . /"


def normalise_identifier(value: str) -> str:
    """NFKC and trimmed: full-width `Ｓ７` becomes `S7`; other scripts stay what they are."""
    return unicodedata.normalize("NFKC", value).strip()


def identifier_refusal(value: str) -> str | None:
    """The first character outside IDENTIFIER_CHARACTERS, named (`U+0405 CYRILLIC ...`), or None."""
    for char in value:
        if char not in IDENTIFIER_CHARACTERS:
            return describe_character(char)
    return None


def describe_character(char: str) -> str:
    """`U+200B ZERO WIDTH SPACE`: a character as a reader can look it up."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"


def normalise_citizen_id(value: str) -> str:
    """A citizen ID written with dashes or spaces (`1-2345-67890-12-1`) as its 13 digits."""
    compact = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in compact if ch not in "- \t")


def money_fits(value: Decimal) -> bool:
    """Whether an amount fits Numeric(14, 2) (after rounding to cents)."""
    return value.is_finite() and abs(value) <= MONEY_MAX


def quantity_fits(value: Decimal) -> bool:
    """Whether a quantity fits Numeric(12, 3)."""
    return value.is_finite() and abs(value) <= QUANTITY_MAX
