"""open_store builds the schema from nothing, and the migrations match the models."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from rollout.store import Store
from rollout.store.database import create, current_revision, head_revision, parse_url
from rollout.store.tables import FOREIGN_TABLES, Base

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


EXPECTED_TABLES = {
    "alembic_version",
    "rollouts",
    "stage_events",
    "approvals",
    "outbox",
    "deployments",
    "fleet_clusters",
    "holds",
    "api_tokens",
    "seen_requests",
}


def test_empty_database_gets_every_table_at_head(
    store_url: str, open_test_store: Callable[..., Store]
) -> None:
    open_test_store()
    engine = create(parse_url(store_url))
    try:
        assert set(sa.inspect(engine).get_table_names()) == EXPECTED_TABLES
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_models(
    store_url: str, open_test_store: Callable[..., Store]
) -> None:
    open_test_store()
    engine = create(parse_url(store_url))
    try:
        with engine.connect() as connection:
            # APScheduler's job table lives in the same database; it is not ours to compare.
            connection.execute(
                sa.text("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY)")
            )
            connection.commit()
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": lambda obj, name, type_, reflected, other: (
                        not (type_ == "table" and name in FOREIGN_TABLES)
                    ),
                },
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_reopening_an_upgraded_store_keeps_its_data(open_test_store: Callable[..., Store]) -> None:
    first = open_test_store()
    created = first.create_rollout(
        environment="staging",
        commit_sha="abc",
        author="Ada",
        author_email="ada@example.com",
        message="m",
        state="pending",
    )
    first.close()
    second = open_test_store()
    assert second.get_rollout(created.id) == created


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: object) -> None:
    engine = create(parse_url(f"sqlite:///{tmp_path}/pragmas.db"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        engine.dispose()
