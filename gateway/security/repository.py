"""Queries over the sealed columns as stored: key ids and raw values, for rotation and status.

These read the columns as plain text (not through `SealedText`), because rotation must see
which key sealed each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, TableClause, Text, and_, case, column, func, select, table
from sqlmodel import Session

from gateway.security.data_key import FORMAT


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A sealed column, its table's primary key, and the associated data it is sealed with."""

    table: str
    column: str
    key: tuple[str, ...]

    @property
    def context(self) -> bytes:
        return f"{self.table}.{self.column}".encode()

    def raw(self) -> TableClause:
        return table(self.table, *(column(k) for k in self.key), column(self.column, Text))


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("claims", "bundle_json", ("id",)),
    SealedColumn("claims", "claim_json", ("id",)),
    SealedColumn("claim_responses", "resource_json", ("id",)),
    SealedColumn("idempotency_keys", "response_body", ("hcode", "key")),
    SealedColumn("notification_deliveries", "body", ("id",)),
    SealedColumn("subscriptions", "headers_json", ("id",)),
    SealedColumn("subscriptions", "secret", ("id",)),
)
"""Every column `SealedText` guards (tests check this list against the models)."""


class SealedColumnRepository:
    """Raw stored values of the sealed columns."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rows_per_key(self, sealed: SealedColumn, key_ids: list[str]) -> dict[str, int]:
        """Rows per known data key id, "plaintext" (written before encryption) and "unknown"."""
        value = sealed.raw().c[sealed.column]
        label = case(
            *((value.like(f"{FORMAT}:{k}:%"), k) for k in key_ids),
            (value.like(f"{FORMAT}:%"), "unknown"),
            else_="plaintext",
        )
        return {
            str(name): int(count)
            for name, count in self.session.execute(
                select(label, func.count()).where(value.is_not(None)).group_by(label)
            ).all()
        }

    def not_under(self, sealed: SealedColumn, key_id: str, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` (primary key..., stored value) rows not sealed with `key_id`."""
        raw = sealed.raw()
        value = raw.c[sealed.column]
        return [
            tuple(row)
            for row in self.session.execute(
                select(*(raw.c[k] for k in sealed.key), value)
                .where(value.is_not(None), value.not_like(f"{FORMAT}:{key_id}:%"))
                .order_by(*(raw.c[k] for k in sealed.key))
                .limit(limit)
            ).all()
        ]

    def replace(self, sealed: SealedColumn, key: tuple[Any, ...], old: str, new: str) -> bool:
        """Store `new` where the row still holds `old`; False when a writer got there first.

        Compare-and-set: the gateway may rewrite the row (a review decision, a cancellation)
        between our read and this write; its value is sealed with the active key already, so
        losing the race is fine and overwriting it would undo a real change.
        """
        raw = sealed.raw()
        match: list[ColumnElement[bool]] = [
            raw.c[k] == v for k, v in zip(sealed.key, key, strict=True)
        ]
        done = self.session.execute(
            raw.update()
            .where(and_(*match, raw.c[sealed.column] == old))
            .values({sealed.column: new})
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]
