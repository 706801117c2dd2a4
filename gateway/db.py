"""Database engine, sessions and schema migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

import migrations
from gateway.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(migrations.__file__).parent


def install_keyring(settings: Settings) -> None:
    """Seal and open patient data with the keys of these settings (gateway/security/data_key)."""
    from gateway.security import data_key

    data_key.install(data_key.keyring_from_settings(settings))


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database: SQLite in WAL mode, or PostgreSQL.

    It also installs the settings' data keyring, which the engine's sealed columns use.
    """
    install_keyring(settings)
    url = settings.database_url
    if settings.is_sqlite:
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, settings.sqlite_synchronous)
        return engine
    return create_engine(
        url, pool_size=settings.db_pool_size, max_overflow=settings.db_pool_size, pool_pre_ping=True
    )


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


WRITER_OPTION = "claimgw_writer"


def writer(engine: Engine) -> Engine:
    """The same engine for sessions that write: on SQLite they take the write lock at BEGIN.

    Readers keep plain (deferred) transactions, so in WAL mode they never wait for a writer.
    """
    return engine.execution_options(**{WRITER_OPTION: True})


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    """WAL, durable commits, foreign keys; writers lock at BEGIN, so no lock-upgrade deadlocks."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITER_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A writing session whose work is committed on success and rolled back on error."""
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config  # alembic is imported only when migrations are touched

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(settings: Settings) -> None:
    """Bring the schema up to the newest migration (0009 hashes CIDs under the lookup key)."""
    install_keyring(settings)
    from alembic import command

    if settings.is_sqlite:
        _ensure_sqlite_folder(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "heads")


def migrations_current(engine: Engine) -> bool:
    """Whether the database is at every migration head."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())
