"""Two replicas configured with the same `server.session_key` accept each other's
session cookies; without it each process signs with its own random key (and a
short key is refused with a message naming the field)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollout.config.schema import Settings
from rollout.errors import ConfigError
from rollout.server.dashboard.session import Session, SessionCodec
from rollout.service import session_extras

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
BASE = {
    "repository": {"path": "."},
    "environments": [{"name": "staging", "namespaces": ["shop"], "overlay": "staging"}],
}


def _settings(session_key: dict[str, str] | None) -> Settings:
    server = {"session_key": session_key} if session_key else {}
    return Settings.model_validate({**BASE, "server": server})


def _codec(settings: Settings) -> SessionCodec:
    import secrets

    key = session_extras(settings).get("dashboard_session_key")
    return SessionCodec(key or secrets.token_bytes(32))  # what SignIn does


def test_a_cookie_from_one_replica_is_accepted_by_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_SESSION_KEY", "k" * 64)
    settings = _settings({"env": "TEST_SESSION_KEY"})
    one, two = _codec(settings), _codec(settings)
    session = Session(csrf="c", expires=int(NOW.timestamp()) + 60, member="ada")
    assert two.decode(one.encode(session), NOW) == session


def test_without_a_shared_key_the_other_replica_refuses_the_cookie() -> None:
    settings = _settings(None)
    one, two = _codec(settings), _codec(settings)
    session = Session(csrf="c", expires=int(NOW.timestamp()) + 60, member="ada")
    assert two.decode(one.encode(session), NOW) is None


def test_a_short_session_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SESSION_KEY", "short")
    with pytest.raises(ConfigError, match=r"server.session_key: expected at least 32"):
        session_extras(_settings({"env": "TEST_SESSION_KEY"}))
