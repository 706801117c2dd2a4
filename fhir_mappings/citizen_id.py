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


def mask_citizen_id(value: str) -> str:
    """A citizen ID safe to show to staff: only the last four digits."""
    return "*" * max(len(value) - 4, 0) + value[-4:]
