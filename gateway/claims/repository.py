"""Claim queries, always narrowed to the acting hospital first."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.audit.chain import chain_values
from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    IdempotencyKey,
    OutboxMessage,
    ReimbursementQueueEntry,
)

MAX_SEARCH_RESULTS = 100
_CLAIMS = ClaimRecord.__table__  # type: ignore[attr-defined]
STORED_INVOICE = select_columns(_CLAIMS.c.id, _CLAIMS.c.body_hash, _CLAIMS.c.outcome).where(
    _CLAIMS.c.hcode == bindparam("hcode"),
    _CLAIMS.c.identifier_system == bindparam("system"),
    _CLAIMS.c.identifier_value == bindparam("value"),
)
"""Built once, in Core: intake runs it for every claim (issue 12)."""


class ClaimRepository:
    """A hospital's claims and responses; another hospital's rows are invisible here."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def _claims(self) -> SelectOfScalar[ClaimRecord]:
        return select(ClaimRecord).where(col(ClaimRecord.hcode) == self.hcode)

    def _responses(self) -> SelectOfScalar[ClaimResponseRecord]:
        return select(ClaimResponseRecord).where(col(ClaimResponseRecord.hcode) == self.hcode)

    def get(self, claim_id: str) -> ClaimRecord | None:
        """A claim of this hospital by id."""
        return self.session.exec(self._claims().where(col(ClaimRecord.id) == claim_id)).first()

    def by_invoice(self, system: str, value: str) -> ClaimRecord | None:
        """A claim of this hospital by its invoice identifier."""
        query = self._claims().where(
            col(ClaimRecord.identifier_system) == system, col(ClaimRecord.identifier_value) == value
        )
        return self.session.exec(query).first()

    def search(self, system: str | None, value: str) -> Sequence[ClaimRecord]:
        """Claims of this hospital whose identifier value (and system, when given) match."""
        query = self._claims().where(col(ClaimRecord.identifier_value) == value)
        if system:
            query = query.where(col(ClaimRecord.identifier_system) == system)
        return self.session.exec(
            query.order_by(col(ClaimRecord.created_at)).limit(MAX_SEARCH_RESULTS)
        ).all()

    def response(self, response_id: str) -> ClaimResponseRecord | None:
        """A ClaimResponse of this hospital by id."""
        query = self._responses().where(col(ClaimResponseRecord.id) == response_id)
        return self.session.exec(query).first()

    def response_for_claim(self, claim_id: str) -> ClaimResponseRecord | None:
        """The ClaimResponse sent for one of this hospital's claims."""
        query = self._responses().where(col(ClaimResponseRecord.claim_id) == claim_id)
        return self.session.exec(query).first()

    def stored_invoice(self, system: str, value: str) -> StoredInvoice | None:
        """What replaying a claim of this hospital needs, found by its invoice identifier.

        Four columns, not the record: the stored bundle and claim are large (and sealed).
        """
        found = self.session.connection().execute(
            STORED_INVOICE, {"hcode": self.hcode, "system": system, "value": value}
        )
        row = found.first()
        return StoredInvoice(*row) if row is not None else None

    def add_intake(
        self,
        *,
        claim: RowValues,
        lines: list[RowValues],
        response: RowValues,
        audit: list[RowValues],
        outbox: RowValues,
        payment: RowValues | None,
    ) -> None:
        """Write everything one accepted submission stores; the caller commits once.

        Core inserts rather than the ORM unit of work: intake writes a dozen rows per claim,
        and building and flushing ORM objects cost more than the database did. The audit rows
        are chained here (the ORM's before_flush hook never sees Core inserts); on PostgreSQL
        that takes the chain's lock, held to commit.
        """
        self.session.flush()  # what the ORM staged (a withdrawn original) is chained first
        batches = [
            (_table(model), rows)
            for model, rows in (
                (ClaimRecord, [claim]),
                (ClaimLineRecord, lines),
                (ClaimResponseRecord, [response]),
                (OutboxMessage, [outbox]),
                (ReimbursementQueueEntry, [payment] if payment is not None else []),
            )
            if rows
        ]
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(*_one_statement(batches))
        else:  # SQLite: one statement per table, no network to cross
            for table, rows in batches:
                connection.execute(insert(table), rows)
        if audit:  # last, and in order: ids must follow the chain; its lock is held to commit
            connection.execute(insert(_table(AuditEvent)), chain_values(self.session, audit))


def _one_statement(batches: list[tuple[Table, list[RowValues]]]) -> tuple[Insert, RowValues]:
    """Every row as one PostgreSQL statement: each row an INSERT in a WITH clause.

    One round trip instead of one per table (issue 12). Each row gets its own single-row
    INSERT with named parameters, so the statement's shape (rows per table) is what SQLAlchemy
    caches and compiles once; a multi-row VALUES would be compiled anew for every claim.
    PostgreSQL runs the INSERTs in no promised order, which only rows whose order does not
    matter may accept (foreign keys are checked at the end of the statement): not the audit
    chain's.
    """
    shape = tuple((table.name, tuple(row)) for table, values in batches for row in values)
    params = {
        f"r{r}_{column}": value
        for r, row in enumerate(row for _, values in batches for row in values)
        for column, value in row.items()
    }
    return _statement_of(shape), params


@functools.lru_cache(maxsize=256)
def _statement_of(shape: tuple[tuple[str, tuple[str, ...]], ...]) -> Insert:
    """The one-statement insert of rows of these tables and columns, built once per shape."""
    rows = []
    for r, (name, columns) in enumerate(shape):
        table = SQLModel.metadata.tables[name]
        named = {c: bindparam(f"r{r}_{c}", type_=table.c[c].type) for c in columns}
        rows.append(insert(table).values(named))
    *others, statement = rows
    for n, other in enumerate(others):
        statement = statement.add_cte(other.cte(f"intake_row_{n}"))
    return statement


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


RowValues = dict[str, Any]
"""The column values of one row to insert."""


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    """A stored claim as a replay sees it."""

    id: str
    body_hash: str
    outcome: str


class IdempotencyRepository:
    """A hospital's Idempotency-Key rows."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def get(self, key: str) -> IdempotencyKey | None:
        """The row for a key of this hospital."""
        return self.session.get(IdempotencyKey, (self.hcode, key))

    def add(self, row: IdempotencyKey) -> None:
        """Stage a new in-flight key."""
        self.session.add(row)

    def take_over(self, key: str, *, expired_before: datetime, until: datetime) -> bool:
        """Claim an abandoned in-flight key whose lease ran out; False if someone else holds it."""
        result = self.session.execute(
            update(IdempotencyKey)
            .where(
                col(IdempotencyKey.hcode) == self.hcode,
                col(IdempotencyKey.key) == key,
                col(IdempotencyKey.state) == "in_flight",
                col(IdempotencyKey.locked_until) < expired_before,
            )
            .values(locked_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish(self, key: str, *, status: int, body: str) -> None:
        """Record the answer an in-flight key got."""
        self.session.execute(
            update(IdempotencyKey)
            .where(col(IdempotencyKey.hcode) == self.hcode, col(IdempotencyKey.key) == key)
            .values(state="done", response_status=status, response_body=body)
        )

    def release(self, key: str) -> None:
        """Forget an in-flight key whose request failed for a reason not worth replaying."""
        row = self.get(key)
        if row is not None and row.state == "in_flight":
            self.session.delete(row)


class ClaimLifecycleRepository(ClaimRepository):
    """A hospital's claims for lifecycle moves: rows locked until the transaction ends."""

    def get_for_update(self, claim_id: str) -> ClaimRecord | None:
        """A claim of this hospital by id, row-locked (PostgreSQL; SQLite serializes writers)."""
        query = self._claims().where(col(ClaimRecord.id) == claim_id).with_for_update()
        return self.session.exec(query).first()

    def by_invoice_for_update(self, system: str, value: str) -> ClaimRecord | None:
        """A claim of this hospital by invoice identifier, row-locked."""
        query = (
            self._claims()
            .where(
                col(ClaimRecord.identifier_system) == system,
                col(ClaimRecord.identifier_value) == value,
            )
            .with_for_update()
        )
        return self.session.exec(query).first()

    def payment_entry(self, claim_id: str) -> ReimbursementQueueEntry | None:
        """The reimbursement queue entry of a claim of this hospital, row-locked."""
        query = (
            select(ReimbursementQueueEntry)
            .where(
                col(ReimbursementQueueEntry.claim_id) == claim_id,
                col(ReimbursementQueueEntry.hcode) == self.hcode,
            )
            .with_for_update()
        )
        return self.session.exec(query).first()

    def remove_payment(self, entry: ReimbursementQueueEntry) -> None:
        """Take a not yet batched claim off the reimbursement queue."""
        self.session.delete(entry)

    def record_transition(self, claim: ClaimRecord, event: AuditEvent) -> None:
        """Stage a claim's new status with its audit event."""
        self.session.add(claim)
        self.session.add(event)
