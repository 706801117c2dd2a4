"""Finding the database for a command: read commands never create one.

A read command (`hospital list`, `tariff list`, `member network list`, `fraud list`…) that
finds no database says where it looked and how to point `CLAIMGW_DATABASE_URL` at the right
one, instead of silently creating an empty `./var/claimgw.db`. Write commands create and
migrate the database, and say so when it is new.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.output import errors, fail

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gateway.settings import Settings

NO_DATABASE_EXIT = 3
"""Exit code of a read command that finds no usable database."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def shown_url(url: str) -> str:
    """A database URL fit to print: no password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.rsplit("@", 1)[-1]
        return f"{scheme}{sep}…@{rest}"
    return url


def _how_to_choose(settings: Settings) -> str:
    where = (
        f"CLAIMGW_DATABASE_URL is {shown_url(settings.database_url)}"
        if os.environ.get("CLAIMGW_DATABASE_URL")
        else f"CLAIMGW_DATABASE_URL is not set, so the default {settings.database_url} was used"
    )
    return (
        f"{where}. Run the command from the "
        "project folder that holds var/claimgw.db (where `make demo` put it), or set "
        "CLAIMGW_DATABASE_URL, e.g. "
        "`export CLAIMGW_DATABASE_URL=sqlite:////path/to/var/claimgw.db` "
        "or `postgresql+psycopg://user@host:5432/claimgw`."
    )


REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision[^=]*= (.+)$", re.MULTILINE)


def migration_heads() -> set[str]:
    """The newest revisions of the packaged migrations, read from their files.

    Reading the revision lines is enough for a read command's check and keeps alembic (about a
    second of start-up) out of it.
    """
    import migrations

    revisions, parents = set(), set()
    for path in Path(migrations.__file__).parent.glob("versions/*.py"):
        text = path.read_text(encoding="utf-8")
        if found := REVISION.search(text):
            revisions.add(found.group(1))
        if down := DOWN_REVISION.search(text):
            parents.update(re.findall(r'"([^"]+)"', down.group(1)))
    return revisions - parents


def migrations_current(engine: Engine) -> bool:
    """Whether the database's alembic_version rows are the packaged heads."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        stored = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    return stored == migration_heads()


def engine_for_reading(settings: Settings | None = None) -> Engine:
    """An engine on an existing, migrated database; stops with a clear message otherwise."""
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.db import make_engine
    from gateway.settings import get_settings

    settings = settings or get_settings()
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        fail(f"no database at {path.resolve()}. {_how_to_choose(settings)}", NO_DATABASE_EXIT)
    engine = make_engine(settings)
    try:
        current = migrations_current(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"cannot open the database: {first}. {_how_to_choose(settings)}", NO_DATABASE_EXIT)
    if not current:
        engine.dispose()
        fail(
            f"the database {shown_url(settings.database_url)} is not at the current schema; "
            "run `claimgw db upgrade` (or `claimgw serve`, which migrates) first.",
            NO_DATABASE_EXIT,
        )
    return engine


def engine_for_writing(settings: Settings | None = None) -> Engine:
    """An engine on a migrated database, created if missing (and said so on stderr)."""
    from gateway.db import make_engine, upgrade_database
    from gateway.settings import get_settings

    settings = settings or get_settings()
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        errors.print(f"creating a new database at {path.resolve()}")
    upgrade_database(settings)
    return make_engine(settings)
