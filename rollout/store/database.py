"""Connecting to the database and bringing its schema up to date.

SQLite (default) gets WAL, foreign keys and a busy timeout on every
connection, and real `BEGIN` statements (pysqlite's own transaction handling
skips them for DDL and reads). PostgreSQL goes through psycopg 3. Migrations
are the Alembic scripts shipped in `migrations/`, run in code: no alembic.ini.
URLs in messages and logs never show the password.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from rollout.errors import StoreError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any constant will do: it only has to be the same for every netpol-rollout process.
_PG_MIGRATION_LOCK = 0x6E65_7470_6F6C  # "netpol"


def parse_url(url: str) -> URL:
    """`sqlite:///path` or `postgresql[+psycopg]://...`; StoreError for anything else."""
    if url.startswith("postgres://"):  # Heroku-style alias SQLAlchemy does not know
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"state store URL {redact(url)!r} is not a database URL") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise StoreError(
                f"state store URL {display(parsed)!r}: use postgresql:// "
                f"(psycopg 3), not {parsed.drivername}://"
            )
    elif backend != "sqlite":
        raise StoreError(
            f"state store URL {display(parsed)!r}: expected sqlite:///PATH or postgresql://..."
        )
    return parsed


def display(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def redact(url: str) -> str:
    """The URL with any password masked, even when it does not parse."""
    try:
        return display(make_url(url))
    except Exception:  # anything unparseable: keep only what follows the credentials
        scheme, sep, rest = url.rpartition("://")
        if "@" in rest:
            rest = "***@" + rest.rsplit("@", 1)[1]
        elif "@" in url:
            return "***@" + url.rsplit("@", 1)[1]
        return f"{scheme}{sep}{rest}"


def create(url: URL) -> Engine:
    """An engine with the per-connection settings this store relies on."""
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write
        # transaction waits (busy_timeout) instead of failing on upgrade.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse a schema newer than the code."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    where = display(engine.url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Two processes starting at once must not both create tables.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and _unknown(script, current):
                raise StoreError(
                    f"state store at {where} has schema revision {current}, newer than this "
                    f"netpol-rollout (knows up to {head}); upgrade netpol-rollout"
                )
            if current != head:
                log.info("migrating state store at %s from %s to %s", where, current, head)
                command.upgrade(alembic_config(connection), "head")
    except SQLAlchemyError as exc:
        raise StoreError(
            f"state store at {where} cannot be opened or migrated: {first_line(exc)}"
        ) from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _unknown(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is None
    except Exception:  # alembic raises its own CommandError/ResolutionError here
        return True


def first_line(exc: SQLAlchemyError) -> str:
    """The driver's own message, without SQLAlchemy's echo of the SQL and parameters."""
    origin = getattr(exc, "orig", None) or exc
    return (str(origin).strip().splitlines() or [type(origin).__name__])[0]
