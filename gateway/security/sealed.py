"""`SealedText`: a text column stored encrypted (AES-256-GCM, gateway/security/data_key.py).

Reads and writes through the ORM or Core see plaintext; the database sees only
`gcm1:<key id>:<base64>`. A sealed column cannot be searched or compared in SQL, which is the
point: nothing queries inside a stored bundle.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

from gateway.security import data_key


class SealedText(TypeDecorator[str]):
    """Text encrypted under the process's data keyring; `column` is bound in as associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else data_key.current().seal(value, self.column.encode())

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else data_key.current().open(value, self.column.encode())
