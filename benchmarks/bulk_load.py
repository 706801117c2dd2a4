"""Bulk-load a claim history into a gateway database, for measuring `fraud train --from-db`.

Claims come from an NDJSON history (the generator's, `claimgw synth`), read once into columns
(`fraud.columnar.read_ndjson`) and written straight into `claims` and `claim_lines` with their
fraud fact columns: PostgreSQL by COPY, SQLite by executemany, in chunks, so a million claims
load in minutes instead of the hours the API would take.

What is NOT realistic, on purpose: `claims.bundle_json` and `claim_json` hold a placeholder
(`{}`), sealed once through the column's own `SealedText` type so that it decrypts like any
stored value; training never reads them. The person key is derived from the reader's 64-bit
person hash (64 hex characters), not `person_key(cid)`: the reader keeps no citizen ID, and
training only needs the grouping, which is the same. Eligible and benefit equal the submitted
amount; status and outcome are "accepted"/"complete".

    .venv/bin/python -m benchmarks.bulk_load --input h1m.ndjson \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/claimgw_bulk --fresh
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from fraud.columnar import ClaimColumns, read_ndjson
from gateway.claims.models import ClaimLineRecord, ClaimRecord
from gateway.db import make_engine, upgrade_database
from gateway.settings import Settings
from provider_registry.models import Hospital

CHUNK: Final = 50_000
CLAIMS: Final = str(ClaimRecord.__tablename__)
LINES: Final = str(ClaimLineRecord.__tablename__)
IDENTIFIER_SYSTEM: Final = "https://bulk.example/invoice"
CLAIM_FIELDS: Final = (
    "id",
    "hcode",
    "identifier_system",
    "identifier_value",
    "status",
    "claim_type",
    "setting",
    "patient_key",
    "service_date",
    "total_submitted",
    "total_eligible",
    "total_benefit",
    "outcome",
    "body_hash",
    "claim_json",
    "bundle_json",
    "fraud_flagged",
    "fact_day",
    "fact_hour",
    "fact_age",
    "fact_sex",
    "fact_total",
    "fact_drg",
    "fact_rw",
    "fact_adj_rw",
    "fact_stay_days",
    "expected_loss",
    "created_at",
    "updated_at",
)
LINE_FIELDS: Final = (
    "claim_id",
    "sequence",
    "product_code",
    "quantity",
    "submitted",
    "eligible",
    "benefit",
    "reasons",
    "fact_unit_price",
)


def fresh_database(url: str) -> None:
    """An empty, migrated database at `url` (a PostgreSQL database is dropped and recreated)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(str(parsed.database)).unlink(missing_ok=True)
    else:
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    upgrade_database(Settings(database_url=url))


def _placeholder(engine: Engine, column: str) -> str:
    """`{}` sealed through the column's SealedText type: decrypts like any stored value."""
    sealed: Any = ClaimRecord.__table__.c[column].type  # type: ignore[attr-defined]
    return str(sealed.process_bind_param("{}", engine.dialect))


def _nullable(value: float) -> float | None:
    return None if math.isnan(value) else value


def claim_rows(
    cols: ClaimColumns, start: int, end: int, sealed: tuple[str, str]
) -> Iterator[tuple[Any, ...]]:
    """The `claims` rows of claims start..end-1, arrival order kept by `created_at`."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    identifiers: Sequence[str] = cols.identifier or [f"BULK-{i}" for i in range(start, end)]
    offset = 0 if cols.identifier else start
    for i in range(start, end):
        day = date.fromordinal(int(cols.day[i]))
        total = round(float(cols.total[i]), 2)
        drg = cols.drg[i]
        sex = cols.sex[i]
        moment = base + timedelta(microseconds=i)
        age = cols.age[i]
        yield (
            str(uuid.UUID(int=i)),
            cols.hcodes[cols.hcode[i]],
            IDENTIFIER_SYSTEM,
            identifiers[i - offset],
            "accepted",
            "institutional" if cols.settings[cols.setting[i]] == "IPD" else "professional",
            cols.settings[cols.setting[i]],
            f"{int(cols.person[i]) & 0xFFFF_FFFF_FFFF_FFFF:016x}" * 4,
            day,
            total,
            total,
            total,
            "complete",
            f"{i:064x}",
            sealed[0],
            sealed[1],
            False,
            day,
            int(cols.hour[i]),
            None if math.isnan(age) else int(age),
            None if sex < 0 else cols.sexes[sex],
            float(cols.total[i]),
            None if drg < 0 else cols.drgs[drg],
            _nullable(float(cols.rw[i])),
            _nullable(float(cols.adj_rw[i])),
            _nullable(float(cols.stay_days[i])),
            0,
            moment,
            moment,
        )


def line_rows(cols: ClaimColumns, start: int, end: int) -> Iterator[tuple[Any, ...]]:
    """The `claim_lines` rows of claims start..end-1 (submitted = unit price × quantity)."""
    for i in range(start, end):
        claim_id = str(uuid.UUID(int=i))
        low, high = int(cols.offsets[i]), int(cols.offsets[i + 1])
        for sequence, j in enumerate(range(low, high), start=1):
            quantity, unit = float(cols.line_quantity[j]), float(cols.line_unit[j])
            money = round(quantity * unit, 2)
            yield (
                claim_id,
                sequence,
                cols.codes[cols.line_code[j]][:64],
                quantity,
                money,
                money,
                money,
                "",
                unit,
            )


def _hospitals(engine: Engine, hcodes: Sequence[str]) -> None:
    with engine.begin() as conn:
        present = {r[0] for r in conn.execute(text("SELECT hcode FROM hospitals"))}
        missing = [h for h in hcodes if h not in present]
        if missing:
            conn.execute(
                Hospital.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {"hcode": h, "name": f"Hospital {h}", "created_at": datetime.now(UTC)}
                    for h in missing
                ],
            )


def load(url: str, cols: ClaimColumns, *, progress: bool = True) -> float:
    """Write every claim of `cols` with its lines; returns the seconds it took."""
    started = time.perf_counter()
    engine = make_engine(Settings(database_url=url))
    _hospitals(engine, cols.hcodes)
    sealed = (_placeholder(engine, "claim_json"), _placeholder(engine, "bundle_json"))
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        indexes = _drop_sqlite_indexes(driver) if isinstance(driver, sqlite3.Connection) else []
        for start in range(0, len(cols), CHUNK):
            end = min(start + CHUNK, len(cols))
            claims, lines = claim_rows(cols, start, end, sealed), line_rows(cols, start, end)
            if isinstance(driver, sqlite3.Connection):
                _insert_sqlite(driver, claims, lines)
            else:
                _copy_postgres(driver, claims, lines)
            raw.commit()
            if progress:
                print(f"  {end:,} claims loaded, {time.perf_counter() - started:.0f} s", flush=True)
        for statement in indexes:  # built once over the loaded rows, as the migrations define them
            driver.execute(statement)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - started


def _drop_sqlite_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop the secondary indexes of claims and claim_lines; the statements that rebuild them.

    Maintained row by row, random keys made the load crawl (≈ 700 claims/s); built once at the
    end they cost seconds. The indexes backing a primary key or UNIQUE constraint (no `sql`)
    stay, so duplicates are still refused. A loader's durability is not the gateway's: the
    file is thrown away if the load fails, so it writes without syncing.
    """
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache, in KiB
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN (?, ?)",
        (CLAIMS, LINES),
    ).fetchall()
    for name, _sql in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _insert_sqlite(
    conn: sqlite3.Connection, claims: Iterator[tuple[Any, ...]], lines: Iterator[tuple[Any, ...]]
) -> None:
    def statement(table: str, fields: Sequence[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"

    def sqlite_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            v.isoformat(" ")
            if isinstance(v, datetime)
            else v.isoformat()
            if isinstance(v, date)
            else v
            for v in row
        )

    conn.executemany(statement(CLAIMS, CLAIM_FIELDS), map(sqlite_values, claims))
    conn.executemany(statement(LINES, LINE_FIELDS), lines)


def _copy_postgres(
    conn: Any, claims: Iterator[tuple[Any, ...]], lines: Iterator[tuple[Any, ...]]
) -> None:
    with conn.cursor() as cursor:
        for table, fields, rows in (
            (CLAIMS, CLAIM_FIELDS, claims),
            (LINES, LINE_FIELDS, lines),
        ):
            with cursor.copy(f"COPY {table} ({', '.join(fields)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="NDJSON history (claimgw synth)")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args(argv)
    if args.fresh:
        fresh_database(args.database_url)
    read_started = time.perf_counter()
    cols = read_ndjson(args.input, keep_identifiers=True).columns
    print(f"read {len(cols):,} claims in {time.perf_counter() - read_started:.0f} s", flush=True)
    seconds = load(args.database_url, cols)
    print(f"loaded {len(cols):,} claims and {len(cols.line_code):,} lines in {seconds:.0f} s")


if __name__ == "__main__":
    main()
