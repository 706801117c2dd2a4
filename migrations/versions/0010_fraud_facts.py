"""fraud facts: the few facts batch training reads, stored as columns of claims

`claimgw fraud train --from-db` reads these columns and `claim_lines` (with each line's
unit price as billed, `claim_lines.fact_unit_price`) instead of decrypting
and re-parsing every stored bundle. Filled at intake from the claim's `ClaimFacts`; claims
stored before this revision have NULL facts and are left out of training.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
FACT_COLUMNS = (
    ("fact_day", sa.Date()),
    ("fact_hour", sa.Integer()),
    ("fact_age", sa.Integer()),
    ("fact_sex", STR(length=16)),
    ("fact_total", sa.Float()),
    ("fact_drg", STR(length=16)),
    ("fact_rw", sa.Float()),
    ("fact_adj_rw", sa.Float()),
    ("fact_stay_days", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        for name, kind in FACT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("claim_lines") as batch:
        batch.add_column(sa.Column("fact_unit_price", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_lines") as batch:
        batch.drop_column("fact_unit_price")
    with op.batch_alter_table("claims") as batch:
        for name, _ in reversed(FACT_COLUMNS):
            batch.drop_column(name)
