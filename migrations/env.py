"""Alembic environment: the gateway's SQLModel metadata, batch mode for SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

# Every module with tables, so that autogenerate sees the whole schema.
import gateway.auth.models  # noqa: F401
import gateway.claims.models  # noqa: F401
import gateway.notify.models  # noqa: F401
import gateway.payments.models  # noqa: F401
import gateway.pricing.models  # noqa: F401
import gateway.review.models  # noqa: F401
import gateway.scoring.models  # noqa: F401
import gateway.staff.models  # noqa: F401
import provider_registry.models  # noqa: F401
import provider_registry.staff  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run migrations against a live connection."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
