"""The fraud facts of a stored claim: written at intake, read back as columns for training.

`claimgw fraud train --from-db` reads `claims.fact_*` and `claim_lines` (migration 0010)
instead of decrypting and re-parsing every stored bundle. The person is `claims.patient_key`
(a keyed hash), so training never sees a citizen ID.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any, Final

import numpy as np
from sqlalchemy import Select, select
from sqlmodel import Session, col

from fhir_mappings.claim import ClaimLine, SubmittedClaim
from fraud.columnar import NO_ID, ClaimColumns, Row, from_rows, person_hash, signature_number
from fraud.facts import facts_from_claim, unit_price
from gateway.claims.models import ClaimLineRecord, ClaimRecord

CHUNK: Final = 100_000
NAN: Final = float("nan")


def fact_columns(claim: SubmittedClaim) -> dict[str, Any]:
    """The `claims.fact_*` values of a claim the gateway has mapped (from its `ClaimFacts`)."""
    f = facts_from_claim(claim)
    return {
        "fact_day": f.day,
        "fact_hour": f.hour,
        "fact_age": f.age,
        "fact_sex": f.sex,
        "fact_total": f.total,
        "fact_drg": f.drg,
        "fact_rw": f.rw,
        "fact_adj_rw": f.adj_rw,
        "fact_stay_days": f.stay_days,
    }


def fact_unit_price(line: ClaimLine) -> float:
    """`claim_lines.fact_unit_price`: the line's unit price as `ClaimFacts.unit_prices` has it.

    Stored because the submitted amount over the quantity is rounded to money and differs in
    the last bits from the billed unit price, which the price norms are learned from.
    """
    return unit_price(line.unit_price, line.net, line.quantity)


class FraudFactsRepository:
    """Stored claims with their facts, in arrival order, for batch training."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def columns(self, *, keep_identifiers: bool = True) -> ClaimColumns:
        """Every claim with stored facts as columns (claims stored before 0010 are left out).

        Two streamed queries, one over claims and one over their lines, both in arrival order.
        A line's unit price is `claim_lines.fact_unit_price`; a line stored without one falls
        back to its submitted amount over its quantity.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            return self._copied_columns(keep_identifiers=keep_identifiers)
        return from_rows(self._rows(), keep_identifiers=keep_identifiers)

    def _rows(self) -> Iterator[Row]:
        """Builder rows, streamed: only the columns being built are held, not every row."""
        lines = self._lines()
        pending = next(lines, None)
        for claim in self._claims():
            codes: list[str] = []
            quantities: list[float] = []
            units: list[float] = []
            while pending is not None and pending[0] == claim[0]:
                _, code, quantity, submitted, unit = pending
                q, net = float(quantity), float(submitted)
                codes.append(code)
                quantities.append(q)
                units.append(unit if unit is not None else (net / q if q else net))
                pending = next(lines, None)
            yield _row(claim, codes, quantities, units)

    def _arrival(self) -> Any:
        return (col(ClaimRecord.created_at), col(ClaimRecord.id))

    def _claims_query(self) -> Select[*tuple[Any, ...]]:
        return (
            select(
                col(ClaimRecord.id),
                col(ClaimRecord.identifier_value),
                col(ClaimRecord.hcode),
                col(ClaimRecord.patient_key),
                col(ClaimRecord.setting),
                col(ClaimRecord.fact_day),
                col(ClaimRecord.fact_hour),
                col(ClaimRecord.fact_age),
                col(ClaimRecord.fact_sex),
                col(ClaimRecord.fact_total),
                col(ClaimRecord.fact_drg),
                col(ClaimRecord.fact_rw),
                col(ClaimRecord.fact_adj_rw),
                col(ClaimRecord.fact_stay_days),
            )
            .where(col(ClaimRecord.fact_day).is_not(None))
            .order_by(*self._arrival())
        )

    def _lines_query(self) -> Select[*tuple[Any, ...]]:
        return (
            select(
                col(ClaimLineRecord.claim_id),
                col(ClaimLineRecord.product_code),
                col(ClaimLineRecord.quantity),
                col(ClaimLineRecord.submitted),
                col(ClaimLineRecord.fact_unit_price),
            )
            .join(ClaimRecord, col(ClaimRecord.id) == col(ClaimLineRecord.claim_id))
            .where(col(ClaimRecord.fact_day).is_not(None))
            .order_by(*self._arrival(), col(ClaimLineRecord.sequence))
        )

    def _claims(self) -> Iterator[Any]:
        yield from self.session.execute(self._claims_query().execution_options(yield_per=CHUNK))

    def _lines(self) -> Iterator[tuple[str, str, Decimal, Decimal, float | None]]:
        query = self._lines_query().execution_options(yield_per=CHUNK)
        for row in self.session.execute(query):
            yield row[0], row[1], row[2], row[3], row[4]

    def _copied(self, query: Select[*tuple[Any, ...]], names: list[str]) -> Any:
        """A PostgreSQL query's rows as a polars frame, through COPY ... TO STDOUT (CSV).

        The rows never become Python objects: PostgreSQL writes CSV (floats in their shortest
        exact form) and polars parses it, so a million claims read in seconds.
        """
        import polars as pl

        sql = str(query.compile(dialect=self.session.get_bind().dialect))
        driver: Any = self.session.connection().connection.driver_connection
        buffer = io.BytesIO()
        with driver.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
        if not buffer.tell():
            return pl.DataFrame(schema={name: pl.String for name in names})  # as read below
        buffer.seek(0)
        return pl.read_csv(
            buffer,
            has_header=False,
            new_columns=names,
            infer_schema=False,  # every column a string: parsed below, exactly
        )

    def _copied_columns(self, *, keep_identifiers: bool) -> ClaimColumns:
        """`columns` on PostgreSQL: both queries copied out as CSV and turned into arrays."""
        claims = self._copied(self._claims_query(), CLAIM_NAMES)
        lines = self._copied(self._lines_query(), LINE_NAMES)
        return columns_of_frames(claims, lines, keep_identifiers=keep_identifiers)


CLAIM_NAMES: Final = [
    "id",
    "identifier",
    "hcode",
    "person",
    "setting",
    "day",
    "hour",
    "age",
    "sex",
    "total",
    "drg",
    "rw",
    "adj_rw",
    "stay_days",
]
LINE_NAMES: Final = ["claim_id", "code", "quantity", "submitted", "unit"]
EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def _floats(frame: Any, name: str) -> np.ndarray:
    """A CSV column as float64, NaN where NULL (PostgreSQL's shortest exact float text)."""
    import polars as pl

    return np.asarray(frame[name].cast(pl.Float64).fill_null(math.nan).to_numpy(), np.float64)


def _vocabulary(values: Any) -> tuple[np.ndarray, list[str]]:
    """Vocabulary ids in order of first appearance (as `fraud.columnar` builds them), NULL
    as `NO_ID`: an enum cast in polars, never a Python loop over the values."""
    import polars as pl

    words = values.unique(maintain_order=True).drop_nulls().to_list()
    ids = values.cast(pl.Enum(words)).to_physical().cast(pl.Int32).fill_null(NO_ID)
    return np.asarray(ids.to_numpy(), dtype=np.int32), words


def _mapped(values: Any, function: Callable[[str], int]) -> np.ndarray:
    """`function` of every value, computed once per distinct value (a person's hash)."""
    ids, words = _vocabulary(values)
    table = np.array([function(w) for w in words], dtype=np.int64)
    return np.asarray(table[ids])


def _signatures(offsets: np.ndarray, line_code: np.ndarray, codes: list[str]) -> np.ndarray:
    """`signature_number` of every claim's codes, hashed once per distinct code list."""
    ids, bounds = line_code.tolist(), offsets.tolist()
    known: dict[tuple[int, ...], int] = {}
    out = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        key = tuple(ids[low:high])
        signature = known.get(key)
        if signature is None:
            signature = known[key] = signature_number([codes[c] for c in key])
        out.append(signature)
    return np.array(out, dtype=np.int64)


def columns_of_frames(claims: Any, lines: Any, *, keep_identifiers: bool) -> ClaimColumns:
    """`ClaimColumns` of the copied claims and lines (both in arrival order), fact for fact
    what `from_rows` builds from the same rows."""
    import polars as pl

    n = claims.height
    rows = claims.select(pl.col("id").alias("claim_id")).with_row_index("row")
    line_claim = (
        lines.select("claim_id")
        .join(rows, on="claim_id", how="left", maintain_order="left")["row"]
        .to_numpy()
        .astype(np.int64)
    )
    counts = np.bincount(line_claim, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    quantity, submitted, unit = (_floats(lines, k) for k in ("quantity", "submitted", "unit"))
    fallback = np.where(
        quantity != 0, submitted / np.where(quantity != 0, quantity, 1.0), submitted
    )
    total = _floats(claims, "total")
    vocabularies = {k: _vocabulary(claims[k]) for k in ("hcode", "setting", "sex", "drg")}
    line_code, codes = _vocabulary(lines["code"])
    built = ClaimColumns(
        identifier=claims["identifier"].to_list() if keep_identifiers else None,
        hcode=vocabularies["hcode"][0],
        person=_mapped(claims["person"], person_hash),
        day=claims["day"].str.to_date("%Y-%m-%d").cast(pl.Int64).to_numpy() + EPOCH_ORDINAL,
        hour=claims["hour"].cast(pl.Int64).to_numpy(),
        setting=vocabularies["setting"][0],
        age=_floats(claims, "age"),
        sex=vocabularies["sex"][0],
        total=total,
        total2=np.array([round(t, 2) for t in total.tolist()], dtype=np.float64),
        drg=vocabularies["drg"][0],
        rw=_floats(claims, "rw"),
        adj_rw=_floats(claims, "adj_rw"),
        stay_days=_floats(claims, "stay_days"),
        signature=_signatures(offsets, line_code, codes),
        offsets=offsets,
        line_code=line_code,
        line_quantity=quantity,
        line_unit=np.where(np.isnan(unit), fallback, unit),
    )
    built.hcodes, built.settings = vocabularies["hcode"][1], vocabularies["setting"][1]
    built.sexes, built.drgs, built.codes = vocabularies["sex"][1], vocabularies["drg"][1], codes
    return built


def _row(claim: Any, codes: list[str], quantities: list[float], units: list[float]) -> Row:
    (_, identifier, hcode, person, setting, day, hour, age, sex, total, drg, rw, adj, stay) = claim
    total = float(total)
    served: date = day
    return (
        identifier,
        hcode,
        person,
        served.toordinal(),
        int(hour),
        setting,
        NAN if age is None else float(age),
        sex,
        total,
        round(total, 2),
        drg,
        NAN if rw is None else float(rw),
        NAN if adj is None else float(adj),
        NAN if stay is None else float(stay),
        signature_number(codes),
        codes,
        quantities,
        units,
    )
