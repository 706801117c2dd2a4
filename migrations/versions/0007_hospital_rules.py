"""hospital ownership and effective-dated benefit parameters

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("hospitals") as batch:
        batch.add_column(
            sa.Column("ownership", STR(length=16), nullable=False, server_default="private")
        )
    with op.batch_alter_table("benefit_uses") as batch:
        batch.add_column(sa.Column("encounter_key", STR(length=300), nullable=True))
    op.create_table(
        "benefit_parameters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", STR(length=64), nullable=False),
        sa.Column("value", sa.Numeric(14, 4), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("confidence", STR(length=4), nullable=False),
        sa.Column("imported_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "valid_from", name="uq_benefit_parameter_version"),
    )
    op.create_index("ix_benefit_parameters_name", "benefit_parameters", ["name"])
    # Childbirth: one lump sum per delivery encounter, no longer "once per 180 days".
    op.execute(
        "UPDATE tariff_items SET limit_period = 'encounter', limit_period_n = 1 "
        "WHERE code = 'BIRTH-LUMPSUM' AND limit_period = 'days'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE tariff_items SET limit_period = 'days', limit_period_n = 180 "
        "WHERE code = 'BIRTH-LUMPSUM' AND limit_period = 'encounter'"
    )
    op.drop_index("ix_benefit_parameters_name", table_name="benefit_parameters")
    op.drop_table("benefit_parameters")
    with op.batch_alter_table("benefit_uses") as batch:
        batch.drop_column("encounter_key")
    with op.batch_alter_table("hospitals") as batch:
        batch.drop_column("ownership")
