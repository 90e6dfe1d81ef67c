"""A database migrated by a newer netpol-rollout is left alone, with a clear message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from rollout.errors import StoreError
from rollout.store import Store
from rollout.store.database import create, head_revision, parse_url

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def test_schema_revision_unknown_to_this_code_is_refused(
    store_url: str, open_test_store: Callable[..., Store]
) -> None:
    open_test_store().close()
    engine = create(parse_url(store_url))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()

    with pytest.raises(StoreError) as caught:
        open_test_store()

    message = str(caught.value)
    assert "has schema revision 9999, newer than this netpol-rollout" in message
    assert f"(knows up to {head_revision()}); upgrade netpol-rollout" in message
    assert caught.value.exit_code == 9


def test_refusal_message_never_shows_the_password(
    store_url: str, open_test_store: Callable[..., Store]
) -> None:
    open_test_store().close()
    engine = create(parse_url(store_url))
    password = engine.url.password
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()

    with pytest.raises(StoreError) as caught:
        open_test_store()

    if password:
        assert str(password) not in str(caught.value)
        assert "***" in str(caught.value)
