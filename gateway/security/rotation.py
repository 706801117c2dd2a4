"""Re-encrypt stored patient data under the active data key, in batches (`claimgw keys`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import writer
from gateway.security.data_key import Keyring
from gateway.security.repository import SEALED_COLUMNS, SealedColumn, SealedColumnRepository


@dataclass(frozen=True, slots=True)
class Rotated:
    """What one column's rotation did."""

    column: str
    resealed: int
    skipped: int  # rewritten by the gateway meanwhile (already under the active key)


def key_status(session: Session, keyring: Keyring) -> dict[str, dict[str, int]]:
    """Rows per data key id, per sealed column."""
    repo = SealedColumnRepository(session)
    key_ids = list(keyring.keys)
    return {f"{c.table}.{c.column}": repo.rows_per_key(c, key_ids) for c in SEALED_COLUMNS}


def rotate_data_key(
    engine: Engine,
    keyring: Keyring,
    *,
    batch: int = 500,
    progress: Callable[[str, int], None] | None = None,
) -> list[Rotated]:
    """Seal every row not under the active key with it; each batch is its own transaction.

    Short transactions keep the gateway writing while a large table is rotated, and a stopped
    run resumes where it stopped: the rows already done are under the active key and are not
    selected again.
    """
    return [_rotate_column(engine, keyring, c, batch, progress) for c in SEALED_COLUMNS]


def _rotate_column(
    engine: Engine,
    keyring: Keyring,
    sealed: SealedColumn,
    batch: int,
    progress: Callable[[str, int], None] | None,
) -> Rotated:
    name = f"{sealed.table}.{sealed.column}"
    resealed = skipped = 0
    seen: set[tuple[object, ...]] = set()
    while True:
        with Session(writer(engine)) as session:
            repo = SealedColumnRepository(session)
            found = repo.not_under(sealed, keyring.active_id, batch)
            rows = [r for r in found if r[:-1] not in seen]
            for row in rows:
                key, stored = row[:-1], str(row[-1])
                fresh = keyring.seal(keyring.open(stored, sealed.context), sealed.context)
                if repo.replace(sealed, key, stored, fresh):
                    resealed += 1
                else:
                    skipped += 1
                seen.add(key)  # never loop on a row another writer keeps changing
            session.commit()
        if progress is not None:
            progress(name, resealed)
        if len(rows) < batch:
            return Rotated(name, resealed, skipped)
