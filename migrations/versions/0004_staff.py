"""staff accounts and server-side staff sessions

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-30 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0002", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("username", STR(length=32), nullable=False),
        sa.Column("role", STR(length=16), nullable=False),
        sa.Column("password_hash", STR(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", WHEN(), nullable=True),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("last_login_at", WHEN(), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", STR(length=64), nullable=False),
        sa.Column("username", STR(length=32), nullable=False),
        sa.Column("csrf_token", STR(length=64), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("last_seen_at", WHEN(), nullable=False),
        sa.Column("expires_at", WHEN(), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["staff_users.username"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_sessions_username", "staff_sessions", ["username"])
    op.create_index("ix_staff_sessions_expires_at", "staff_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_sessions_expires_at", table_name="staff_sessions")
    op.drop_index("ix_staff_sessions_username", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
