"""The engine with real keys and a real repository: an unsigned or badly signed commit
stops before staging (`invalid`, announced), a signed one goes on and records who signed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.ports import Commit
from rollout.store import Store, open_store
from rollout.wiring import git_for, signature_check
from tests.support.signing import SigningKeyring, sign_commit
from tests.unit.engine.conftest import (
    Approvals,
    FakeClock,
    Gate,
    RecordingOps,
    RecordingScheduler,
    announce,
)

pytestmark = pytest.mark.integration


def settings_for(repo: Path, *, required: bool = True) -> Settings:
    return Settings.model_validate(
        {
            "repository": {
                "path": str(repo),
                "signing_keys": {
                    "openpgp": ["keys/alice.asc"],
                    "ssh_allowed_signers": "keys/allowed_signers",
                },
            },
            "environments": [
                {"name": "staging", "namespaces": ["apps"], "overlay": "staging"},
                {
                    "name": "production",
                    "namespaces": ["apps"],
                    "overlay": "production",
                    "require_signed_commits": required,
                },
            ],
        }
    )


@dataclass
class Rig:
    repo: Path
    store: Store
    ops: RecordingOps
    clock: FakeClock
    settings: Settings
    base_dir: Path

    def engine(self) -> RolloutEngine:
        check = signature_check(
            self.settings, git_for(self.settings.repository), base_dir=self.base_dir
        )
        return RolloutEngine(
            self.settings,
            self.store,
            self.ops,
            Gate(),
            Approvals(True),
            RecordingScheduler(),
            announce,
            self.clock,
            commit_check=check,
        )

    def roll(self, sha: str) -> Any:
        engine = self.engine()
        self.clock.advance(seconds=1)
        rollout = engine.detect(Commit(sha, "Dave", "dave@example.com", "change"), None)
        engine.advance(rollout.id)
        record = self.store.get_rollout(rollout.id)
        assert record is not None
        return record


@pytest.fixture
def rig(tmp_path: Path, repo: Path, keys: SigningKeyring) -> Iterator[Rig]:
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    try:
        yield Rig(repo, store, RecordingOps(), clock, settings_for(repo), tmp_path)
    finally:
        store.close()


@pytest.fixture
def alice(keys: SigningKeyring, tmp_path: Path) -> Any:
    key = keys.openpgp("Alice", "alice@example.com")
    bob = keys.ssh("bob@example.com")
    (tmp_path / "keys" / "allowed_signers").write_text(bob.allowed + "\n")
    return key


def test_unsigned_commit_stops_before_staging_and_is_announced(rig: Rig, alice: Any) -> None:
    sha = sign_commit(rig.repo, "unsigned change", None)
    rollout = rig.roll(sha)
    assert rollout.state == "invalid"
    assert rollout.reason == (
        f"commit {sha[:12]} is not signed; production accepts only commits signed by a key "
        "in repository.signing_keys"
    )
    assert rig.ops.calls == []  # not even validated, let alone applied
    announced = [i.event for i in rig.store.outbox_items(rollout_id=rollout.id)]
    assert announced == ["rollout.detected", "rollout.validated"]


def test_commit_signed_by_an_unknown_key_stops_before_staging(
    rig: Rig, alice: Any, keys: SigningKeyring
) -> None:
    mallory = keys.openpgp("Mallory", "mallory@example.com")
    sha = sign_commit(rig.repo, "signed by a stranger", mallory)
    rollout = rig.roll(sha)
    assert rollout.state == "invalid"
    assert "signed by a key that is not trusted" in rollout.reason
    assert rig.ops.calls == []


def test_signed_commit_goes_on_and_records_who_signed(rig: Rig, alice: Any) -> None:
    sha = sign_commit(rig.repo, "signed change", alice)
    rollout = rig.roll(sha)
    assert rollout.state == "validated"
    assert rig.ops.calls == [("validate", "staging", sha)]
    signature = rollout.plan["signature"]
    assert signature["verified"] is True
    assert signature["signer"] == "Alice <alice@example.com>"
    assert signature["key"] == alice.fingerprint


def test_without_the_requirement_an_unsigned_commit_goes_on_marked_unsigned(
    rig: Rig, alice: Any
) -> None:
    rig.settings = settings_for(rig.repo, required=False)
    sha = sign_commit(rig.repo, "unsigned change", None)
    rollout = rig.roll(sha)
    assert rollout.state == "validated"
    assert rollout.plan["signature"]["verified"] is False
    assert rollout.plan["signature"]["summary"] == f"commit {sha[:12]} is not signed"
