"""payment runs and batches, subscriptions, outbox delivery

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime
MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    _payment_tables()
    _notification_tables()
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanned_out_at", WHEN(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", WHEN(), nullable=True))
        batch_op.add_column(sa.Column("dead_at", WHEN(), nullable=True))
        batch_op.add_column(sa.Column("last_error", STR(length=500), nullable=True))
        batch_op.create_index("ix_outbox_dead_at", ["dead_at"], unique=False)


def _payment_tables() -> None:
    op.create_table(
        "payment_batches",
        sa.Column("id", STR(length=36), nullable=False),
        sa.Column("run_id", STR(length=36), nullable=False),
        sa.Column("period", STR(length=7), nullable=False),
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("category_totals", sa.Text(), nullable=False),
        sa.Column("created_by", STR(length=100), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("bank_reference", STR(length=100), nullable=True),
        sa.Column("confirmed_by", STR(length=100), nullable=True),
        sa.Column("confirmed_at", WHEN(), nullable=True),
        sa.ForeignKeyConstraint(["hcode"], ["hospitals.hcode"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("run_id", "period", "hcode", "status", "created_at"):
        op.create_index(f"ix_payment_batches_{column}", "payment_batches", [column])
    op.create_table(
        "payment_batch_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", STR(length=36), nullable=False),
        sa.Column("claim_id", STR(length=36), nullable=False),
        sa.Column("response_id", STR(length=36), nullable=True),
        sa.Column("invoice_system", STR(length=200), nullable=False),
        sa.Column("invoice", STR(length=100), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["payment_batches.id"]),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_batch_claims_batch_id", "payment_batch_claims", ["batch_id"])
    # The guarantee that no claim is paid twice: one batch row per claim, ever.
    op.create_index(
        "ix_payment_batch_claims_claim_id", "payment_batch_claims", ["claim_id"], unique=True
    )


def _notification_tables() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", STR(length=36), nullable=False),
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("criteria", STR(length=64), nullable=False),
        sa.Column("endpoint", STR(length=2000), nullable=False),
        sa.Column("headers_json", sa.Text(), nullable=False),
        sa.Column("secret", STR(length=100), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("error", STR(length=500), nullable=True),
        sa.Column("reason", STR(length=500), nullable=True),
        sa.Column("events_since_start", sa.Integer(), nullable=False),
        sa.Column("created_by", STR(length=100), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("deleted_at", WHEN(), nullable=True),
        sa.ForeignKeyConstraint(["hcode"], ["hospitals.hcode"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscriptions_hcode", "subscriptions", ["hcode"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", STR(length=36), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", STR(length=36), nullable=False),
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("event_number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", STR(length=500), nullable=True),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("delivered_at", WHEN(), nullable=True),
        sa.Column("dead_at", WHEN(), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_id", "subscription_id", name="uq_delivery_event_subscription"),
    )
    for column in ("outbox_id", "subscription_id", "status"):
        op.create_index(f"ix_notification_deliveries_{column}", "notification_deliveries", [column])
    op.create_table(
        "hospital_endpoint_hosts",
        sa.Column("hcode", STR(length=9), nullable=False),
        sa.Column("host", STR(length=253), nullable=False),
        sa.Column("added_at", WHEN(), nullable=False),
        sa.ForeignKeyConstraint(["hcode"], ["hospitals.hcode"]),
        sa.PrimaryKeyConstraint("hcode", "host"),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_dead_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("dead_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("fanned_out_at")
    op.drop_table("hospital_endpoint_hosts")
    op.drop_table("notification_deliveries")
    op.drop_table("subscriptions")
    op.drop_table("payment_batch_claims")
    op.drop_table("payment_batches")
