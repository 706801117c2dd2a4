"""security: AuditEvent shape and hash chain of audit_events, client key rotation

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
AUDIT_COLUMNS = (
    ("agent_kind", 16),
    ("outcome", 8),
    ("source", 64),
    ("prev_hash", 64),
    ("hash", 64),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        for name, length in AUDIT_COLUMNS:
            batch.add_column(sa.Column(name, STR(length=length), nullable=True))
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("jwks_uri", STR(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("jwks_uri")
    with op.batch_alter_table("audit_events") as batch:
        for name, _length in reversed(AUDIT_COLUMNS):
            batch.drop_column(name)
