"""fraud review: assignments, decisions, ClaimResponse versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime
MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fraud_flagged", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("expected_loss", MONEY, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("review_source", STR(length=16), nullable=True))
        batch_op.add_column(sa.Column("assignee", STR(length=64), nullable=True))
        batch_op.add_column(sa.Column("lock_expires_at", WHEN(), nullable=True))
        # The queue reads pended claims riskiest first; this index serves it and its cursor.
        batch_op.create_index(
            "ix_claims_review_queue", ["status", "expected_loss", "id"], unique=False
        )
        batch_op.create_index("ix_claims_patient_cid_service_date", ["patient_cid", "service_date"])
    with op.batch_alter_table("claim_responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version_id", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("updated_at", WHEN(), nullable=True))
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", STR(length=36), nullable=False),
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("reviewer", STR(length=64), nullable=False),
        sa.Column("decision", STR(length=16), nullable=False),
        sa.Column("state", STR(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("message_to_hospital", sa.Text(), nullable=True),
        sa.Column("lines_json", sa.Text(), nullable=False),
        sa.Column("benefit_before", MONEY, nullable=False),
        sa.Column("benefit_after", MONEY, nullable=False),
        sa.Column("review_source", STR(length=16), nullable=False),
        sa.Column("decided_at", WHEN(), nullable=False),
        sa.Column("second_reviewer", STR(length=64), nullable=True),
        sa.Column("second_approved", sa.Boolean(), nullable=True),
        sa.Column("second_note", sa.Text(), nullable=True),
        sa.Column("second_at", WHEN(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decisions_claim_id"), ["claim_id"])
        batch_op.create_index(batch_op.f("ix_review_decisions_hcode"), ["hcode"])
        batch_op.create_index(batch_op.f("ix_review_decisions_reviewer"), ["reviewer"])
        batch_op.create_index(batch_op.f("ix_review_decisions_decided_at"), ["decided_at"])


def downgrade() -> None:
    op.drop_table("review_decisions")
    with op.batch_alter_table("claim_responses", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("version_id")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_patient_cid_service_date")
        batch_op.drop_index("ix_claims_review_queue")
        batch_op.drop_column("lock_expires_at")
        batch_op.drop_column("assignee")
        batch_op.drop_column("review_source")
        batch_op.drop_column("expected_loss")
        batch_op.drop_column("fraud_flagged")
