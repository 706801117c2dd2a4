"""coverage and tariffs: insured roster, hospital networks, tariff schedule, mappings, benefit use

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime
MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "insured_persons",
        sa.Column("cid", STR(length=13), nullable=False),
        sa.Column("section", sa.Integer(), nullable=False),
        sa.Column("main_hcode", STR(length=9), nullable=False),
        sa.Column("coverage_start", sa.Date(), nullable=False),
        sa.Column("coverage_end", sa.Date(), nullable=True),
        sa.Column("contribution_months", sa.Integer(), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("updated_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("cid"),
    )
    op.create_index("ix_insured_persons_main_hcode", "insured_persons", ["main_hcode"])
    op.create_table(
        "hospital_networks",
        sa.Column("main_hcode", STR(length=9), nullable=False),
        sa.Column("network_hcode", STR(length=9), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("main_hcode", "network_hcode"),
    )
    _tariff_tables()
    op.create_table(
        "benefit_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_cid", STR(length=13), nullable=False),
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("identifier_system", STR(length=200), nullable=False),
        sa.Column("identifier_value", STR(length=100), nullable=False),
        sa.Column("limit_group", STR(length=64), nullable=False),
        sa.Column("tariff_code", STR(length=64), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_benefit_uses_patient_cid", "benefit_uses", ["patient_cid"])


def _tariff_tables() -> None:
    op.create_table(
        "tariff_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", STR(length=64), nullable=False),
        sa.Column("name_th", STR(length=300), nullable=False),
        sa.Column("name_en", STR(length=300), nullable=False),
        sa.Column("fee_category", STR(length=16), nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("unit", STR(length=16), nullable=False),
        sa.Column("limit_amount", MONEY, nullable=True),
        sa.Column("limit_count", sa.Integer(), nullable=True),
        sa.Column("limit_period", STR(length=16), nullable=True),
        sa.Column("limit_period_n", sa.Integer(), nullable=False),
        sa.Column("limit_group", STR(length=64), nullable=True),
        sa.Column("sections", STR(length=32), nullable=False),
        sa.Column("settings", STR(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("confidence", STR(length=4), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("imported_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "valid_from", name="uq_tariff_item_version"),
    )
    op.create_index("ix_tariff_items_code", "tariff_items", ["code"])
    op.create_table(
        "tariff_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("local_system", STR(length=200), nullable=False),
        sa.Column("local_code", STR(length=64), nullable=False),
        sa.Column("tariff_code", STR(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "hcode", "local_system", "local_code", "valid_from", name="uq_tariff_mapping"
        ),
    )
    op.create_index("ix_tariff_mappings_hcode", "tariff_mappings", ["hcode"])


def downgrade() -> None:
    op.drop_table("benefit_uses")
    op.drop_table("tariff_mappings")
    op.drop_table("tariff_items")
    op.drop_table("hospital_networks")
    op.drop_table("insured_persons")
