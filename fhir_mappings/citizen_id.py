"""Thai citizen ID (th-cid): 13 digits with a mod-11 check digit."""

from __future__ import annotations

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.th import pin


def citizen_id_problem(value: str) -> str | None:
    """Why a citizen ID is not acceptable, or None when it is valid."""
    try:
        pin.validate(value)
    except InvalidChecksum:
        return "checksum"
    except InvalidLength:
        return "length"
    except (InvalidFormat, ValidationError):
        return "format"
    return None


CID_PROBLEM_WORDS = {
    "checksum": (
        "its check digit does not match (checksum)",
        "เลขหลักสุดท้าย (เลขตรวจสอบ) ไม่ตรงกับเลข 12 หลักแรก",
    ),
    "length": ("it must have 13 digits", "ต้องมีตัวเลข 13 หลัก"),
    "format": ("it must be 13 digits and nothing else", "ต้องเป็นตัวเลข 13 หลักเท่านั้น"),
}
"""Each citizen_id_problem in English and in Thai, for messages to hospitals."""


def mask_citizen_id(value: str) -> str:
    """A citizen ID safe to show to staff: the first digit (the kind of person) and the last 4."""
    if len(value) <= 5:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 5) + value[-4:]
