"""Fixtures for the state store: the same tests on SQLite and on PostgreSQL.

PostgreSQL runs when NETPOL_TEST_POSTGRES_URL is set (CI sets it; locally
`eval "$(hack/ci-postgres.sh start)"`); each test gets its own database.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from rollout.store import Store, open_store

POSTGRES_URL_ENV = "NETPOL_TEST_POSTGRES_URL"
T = TypeVar("T")


class FakeClock:
    """A clock the test moves by hand; starts at a fixed, aware UTC instant."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _postgres_database() -> Iterator[str]:
    admin_url = os.environ.get(POSTGRES_URL_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set (hack/ci-postgres.sh starts one)")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"netpol_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'netpol-rollout.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def open_test_store(store_url: str, clock: FakeClock) -> Iterator[Callable[..., Store]]:
    """`open_test_store(**kwargs)` opens (and later closes) a Store on `store_url`."""
    opened: list[Store] = []

    def open_(**kwargs: object) -> Store:
        kwargs.setdefault("clock", clock)
        store = open_store(store_url, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_test_store: Callable[..., Store]) -> Store:
    return open_test_store()


def new_rollout(store: Store, state: str = "pending", environment: str = "staging") -> str:
    record = store.create_rollout(
        environment=environment,
        commit_sha="0123456789abcdef0123456789abcdef01234567",
        previous_sha=None,
        author="Ada",
        author_email="ada@example.com",
        message="allow frontend to backend on 8080",
        state=state,
    )
    return record.id


def run_at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together; results in order, errors re-raised."""
    barrier = threading.Barrier(len(calls))

    def start(call: Callable[[], T]) -> T:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(start, call) for call in calls]
        return [future.result(timeout=60) for future in futures]
