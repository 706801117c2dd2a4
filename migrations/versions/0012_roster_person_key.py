"""roster person key: the insured roster keyed by the CID's keyed hash, holding no CID

Each stored `insured_persons.cid` becomes `person_key` = HMAC-SHA256 under CLAIMGW_LOOKUP_KEY
(gateway/security/data_key.py), the same key `claims.patient_key` uses since 0009.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
BATCH = 1000


COLUMNS = (
    ("section", sa.Integer(), False),
    ("main_hcode", STR(length=9), False),
    ("coverage_start", sa.Date(), False),
    ("coverage_end", sa.Date(), True),
    ("contribution_months", sa.Integer(), False),
    ("death_date", sa.Date(), True),
    ("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), False),
)


def _roster_table(name: str, key: str, key_length: int) -> None:
    op.create_table(
        name,
        sa.Column(key, STR(length=key_length), nullable=False),
        *(sa.Column(column, kind, nullable=nullable) for column, kind, nullable in COLUMNS),
        sa.PrimaryKeyConstraint(key),
    )


def _replace(old: str, new: str) -> None:
    op.drop_index("ix_insured_persons_main_hcode", table_name=old)
    op.drop_table(old)
    op.rename_table(new, "insured_persons")
    op.create_index("ix_insured_persons_main_hcode", "insured_persons", ["main_hcode"])


def upgrade() -> None:
    """Copy the roster into a table keyed by person_key, then put it in the old one's place."""
    from gateway.security.data_key import person_key

    _roster_table("insured_persons_keyed", "person_key", 64)
    names = [column for column, _, _ in COLUMNS]
    old = sa.table("insured_persons", sa.column("cid"), *(sa.column(n) for n in names))
    new = sa.table("insured_persons_keyed", sa.column("person_key"), *(sa.column(n) for n in names))
    bind = op.get_bind()
    last = ""
    while True:  # in batches, by primary key: a national roster does not fit in memory
        rows = bind.execute(
            sa.select(old).where(old.c.cid > last).order_by(old.c.cid).limit(BATCH)
        ).all()
        if rows:
            bind.execute(
                sa.insert(new),
                [
                    {"person_key": person_key(r.cid), **{n: getattr(r, n) for n in names}}
                    for r in rows
                ],
            )
            last = rows[-1].cid
        if len(rows) < BATCH:
            break
    _replace("insured_persons", "insured_persons_keyed")


def downgrade() -> None:
    # A keyed hash cannot be turned back into a citizen ID: downgrading empties the roster.
    _roster_table("insured_persons_cid", "cid", 13)
    _replace("insured_persons", "insured_persons_cid")
