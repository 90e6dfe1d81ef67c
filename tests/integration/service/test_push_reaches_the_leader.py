"""A push webhook that reaches a follower makes the leader poll within about a second:
the follower records a `git.push` event in the shared store and never polls itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rollout.config.schema import Repository
from rollout.gitpoll import PUSH, CommitLike, GitPoller
from rollout.store import Store, open_store

pytestmark = pytest.mark.integration

HEAD = "a" * 40
PROMPTLY = 3.0  # seconds; the leader looks every second


class CountingRepository:
    """A remote whose head never moves; counts the fetches (one per poll)."""

    def __init__(self) -> None:
        self.fetches = 0
        self._fetched = threading.Condition()

    def fetch(self) -> None:
        with self._fetched:
            self.fetches += 1
            self._fetched.notify_all()

    def wait_for_fetches(self, count: int, timeout: float) -> bool:
        with self._fetched:
            return self._fetched.wait_for(lambda: self.fetches >= count, timeout)

    def head(self, branch: str) -> str:
        return HEAD

    def commits_between(self, old: str | None, new: str) -> Sequence[CommitLike]:
        return []

    def changed_paths(self, old: str, new: str, *, under: str | None = None) -> list[str]:
        return []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: datetime.now(UTC))
    yield store
    store.close()


@pytest.fixture
def replicas(store: Store) -> Iterator[Callable[[bool], tuple[GitPoller, CountingRepository]]]:
    """`replica(leading)`: a started poller on the shared store, fenced like the service's."""
    started: list[GitPoller] = []
    # An hour between regular polls: only a push can explain a second one.
    repository = Repository(url="file:///remote.git", poll_interval=timedelta(hours=1))

    def replica(leading: bool) -> tuple[GitPoller, CountingRepository]:
        git = CountingRepository()
        poller = GitPoller(git, repository, store, lambda *_: None, fence=lambda: leading)
        poller.start()
        started.append(poller)
        return poller, git

    yield replica
    for poller in started:
        poller.stop(timeout=5)


def _push(branch: str = "main") -> dict[str, str]:
    return {"ref": f"refs/heads/{branch}", "after": "b" * 40}


def test_a_push_to_a_follower_makes_the_leader_poll_promptly(
    store: Store, replicas: Callable[[bool], tuple[GitPoller, CountingRepository]]
) -> None:
    _, leader_git = replicas(True)
    follower, follower_git = replicas(False)
    assert leader_git.wait_for_fetches(1, PROMPTLY)  # the first poll on start

    received = time.monotonic()
    follower.on_push(_push())

    assert leader_git.wait_for_fetches(2, PROMPTLY)
    assert time.monotonic() - received < PROMPTLY
    [event] = store.events(kinds=[PUSH])
    assert event.details == {"sha": "b" * 40, "ref": "refs/heads/main"}
    # The same push is acted on once, and the follower never polls.
    time.sleep(1.5)
    assert leader_git.fetches == 2
    assert follower_git.fetches == 0


def test_a_push_to_the_leader_polls_at_once_without_an_event(
    store: Store, replicas: Callable[[bool], tuple[GitPoller, CountingRepository]]
) -> None:
    leader, leader_git = replicas(True)
    assert leader_git.wait_for_fetches(1, PROMPTLY)

    leader.on_push(_push())

    assert leader_git.wait_for_fetches(2, PROMPTLY)
    assert store.events(kinds=[PUSH]) == []


def test_a_push_to_another_branch_is_ignored_everywhere(
    store: Store, replicas: Callable[[bool], tuple[GitPoller, CountingRepository]]
) -> None:
    leader, leader_git = replicas(True)
    follower, _ = replicas(False)
    assert leader_git.wait_for_fetches(1, PROMPTLY)

    follower.on_push(_push("feature"))
    leader.on_push(_push("feature"))

    assert not leader_git.wait_for_fetches(2, 1.5)
    assert store.events(kinds=[PUSH]) == []


def test_pushes_relayed_before_the_leader_started_are_covered_by_its_first_poll(
    store: Store, replicas: Callable[[bool], tuple[GitPoller, CountingRepository]]
) -> None:
    follower, _ = replicas(False)
    follower.on_push(_push())

    _, leader_git = replicas(True)

    assert leader_git.wait_for_fetches(1, PROMPTLY)
    assert not leader_git.wait_for_fetches(2, 1.5)
