"""fraud model registry: trained versions, frozen artefacts, the active version

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "fraud_models",
        sa.Column("version", STR(length=64), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("promoted_at", WHEN(), nullable=True),
        sa.Column("promoted_by", STR(length=100), nullable=True),
        sa.Column("threshold_mode", STR(length=32), nullable=False),
        sa.Column("threshold_value", sa.Float(), nullable=False),
        sa.Column("threshold_risk", sa.Float(), nullable=False),
        sa.Column("training_first_day", sa.Date(), nullable=True),
        sa.Column("training_last_day", sa.Date(), nullable=True),
        sa.Column("training_claims", sa.Integer(), nullable=False),
        sa.Column("rules_version", STR(length=32), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("artefact_sha256", STR(length=64), nullable=False),
        sa.Column("artefact_bytes", sa.Integer(), nullable=False),
        sa.Column("artefact", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index("ix_fraud_models_created_at", "fraud_models", ["created_at"])
    op.create_index("ix_fraud_models_active", "fraud_models", ["active"])


def downgrade() -> None:
    op.drop_index("ix_fraud_models_active", table_name="fraud_models")
    op.drop_index("ix_fraud_models_created_at", table_name="fraud_models")
    op.drop_table("fraud_models")
