"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import gateway.auth.models  # noqa: F401  (every module with tables registers them)
import gateway.claims.models  # noqa: F401
import gateway.notify.models  # noqa: F401
import gateway.payments.models  # noqa: F401
import gateway.pricing.models  # noqa: F401
import gateway.review.models  # noqa: F401
import gateway.scoring.models  # noqa: F401
import provider_registry.models  # noqa: F401
from gateway.db import migrations_current


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert differences == []


def test_migrations_are_current_after_upgrade(engine: Engine) -> None:
    assert migrations_current(engine)
