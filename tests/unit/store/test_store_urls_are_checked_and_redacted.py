"""URLs: postgresql:// means psycopg 3, other backends are refused, passwords never shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollout.errors import StoreError
from rollout.store import open_store
from rollout.store.database import parse_url, redact

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "given",
    ["postgresql://u:pw@db/x", "postgres://u:pw@db/x", "postgresql+psycopg2://u:pw@db/x"],
)
def test_postgres_urls_are_rewritten_to_psycopg3(given: str) -> None:
    assert parse_url(given).drivername == "postgresql+psycopg"


def test_other_databases_are_refused_without_showing_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        parse_url("mysql://root:hunter2@db/rollout")
    assert "hunter2" not in str(caught.value)
    assert "expected sqlite:///PATH or postgresql://" in str(caught.value)


def test_unparseable_url_is_redacted() -> None:
    assert "hunter2" not in redact("::not a url:hunter2@host")
    assert redact("postgresql://u:hunter2@db:5432/x") == "postgresql://u:***@db:5432/x"


def test_unreachable_postgres_is_a_store_error_without_the_password() -> None:
    # Port 1 on localhost refuses at once; nothing listens there.
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://u:hunter2@127.0.0.1:1/x", clock=lambda: datetime.now(UTC))
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
