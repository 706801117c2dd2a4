"""scoring index: a hospital's claims per service day, read from the index alone

The online scorer reads, per claim, the hospital's claim count and latest arrival per service
day over 36 days (surge counts and the standing cache's day stamps). With only `hcode` indexed
that read visited every stored claim of the hospital; this index serves it as a range scan
without touching the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["hcode", "service_date", "status", "created_at"]


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.create_index("ix_claims_hcode_service_date", COLUMNS)
        # The new index starts with hcode and serves every hcode lookup; one index fewer to
        # maintain on each intake insert.
        batch.drop_index("ix_claims_hcode")


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.create_index("ix_claims_hcode", ["hcode"])
        batch.drop_index("ix_claims_hcode_service_date")
