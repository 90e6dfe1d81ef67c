"""The git watcher: fetch the branch, turn new commits under the policy path into rollouts.

`GitPoller.poll_once()` fetches, compares the branch head with the last
seen sha (persisted as a `git.seen` event in the state store, so a restart
or a new leader continues where the last one stopped) and calls
`on_commit(commit, previous_sha)` for every new commit that changes
`repository.subdirectory`, oldest first; the engine's `detect` makes the
newest supersede the others. Commits elsewhere are ignored.

- First start (nothing seen yet): the current head is the baseline; no rollout.
- Force-push (the last seen sha is not an ancestor of the head): reported
  (`git.force_push` event) and the new head is taken; it becomes a rollout
  if its policy tree differs from the one last seen.
- Errors (unreachable remote, bad credentials): reported (`git.error`
  event once per streak, counted through `on_error`) and retried with
  exponential backoff; the loop never dies.

`run()` polls every `poll_interval`, or at once when `trigger()` is called
(the GitHub push webhook calls `on_push`). A push that reaches a replica which
does not lead (its fence is down) is recorded as a `git.push` event instead;
the leader's loop looks for new ones every `push_check` seconds (one small
indexed query) and polls when it finds one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from rollout.config.schema import Repository
from rollout.core.identities import Person, commit_people
from rollout.errors import GitError, RolloutError
from rollout.ports import Commit

log = logging.getLogger(__name__)

SEEN = "git.seen"
FORCE_PUSH = "git.force_push"
ERROR = "git.error"
PUSH = "git.push"
MAX_BACKOFF = timedelta(minutes=10)
PUSH_CHECK = 1.0  # seconds between the leader's looks for pushes relayed by followers
# Pushes recorded this long before the leader's now still count: the replicas'
# clocks may disagree (the newest id, not the time, tells what is new).
PUSH_LOOKBACK = timedelta(minutes=10)


class CommitLike(Protocol):
    @property
    def sha(self) -> str: ...
    @property
    def author_name(self) -> str: ...
    @property
    def author_email(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def authored_at(self) -> datetime: ...
    @property
    def committer_name(self) -> str: ...
    @property
    def committer_email(self) -> str: ...


class WatchedRepository(Protocol):
    """The part of `rollout.gitwatch.GitRepository` the poller uses."""

    def fetch(self) -> None: ...
    def head(self, branch: str) -> str: ...
    def commits_between(self, old: str | None, new: str) -> Sequence[CommitLike]: ...
    def changed_paths(self, old: str, new: str, *, under: str | None = None) -> list[str]: ...


class EventLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def details(self) -> Mapping[str, Any]: ...


class SeenStore(Protocol):
    """Where the last seen sha is kept (the state store's audit log)."""

    def events(
        self,
        *,
        rollout_id: str | None = None,
        environment: str | None = None,
        kinds: Collection[str] | None = None,
        limit: int = 200,
        since: datetime | None = None,
    ) -> Sequence[EventLike]: ...

    def record_event(
        self, kind: str, *, actor: str, channel: str, details: Mapping[str, Any] | None = None
    ) -> object: ...


OnCommit = Callable[[Commit, str | None], object]


@dataclass(frozen=True)
class PollResult:
    head: str | None
    detected: tuple[str, ...] = ()
    force_push: bool = False
    error: str | None = None


class GitPoller:
    """Watches one branch of the policy repository; start with `start()` or `run()`."""

    def __init__(
        self,
        git: WatchedRepository,
        repository: Repository,
        store: SeenStore,
        on_commit: OnCommit,
        *,
        on_error: Callable[[str], None] = lambda _msg: None,
        fence: Callable[[], bool] = lambda: True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        push_check: float = PUSH_CHECK,
    ) -> None:
        self._git = git
        self._branch = repository.branch
        self._subdirectory = repository.subdirectory.strip("/")
        self._interval = repository.poll_interval.total_seconds()
        self._store = store
        self._on_commit = on_commit
        self._on_error = on_error
        self._fence = fence
        self._clock = clock
        self._push_check = push_check
        self._last_push: int | None = None  # id of the newest `git.push` event acted on
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._poll_lock = threading.Lock()

    # --- triggering ---------------------------------------------------------------

    def trigger(self) -> None:
        """Poll now instead of at the next interval."""
        self._wake.set()

    def on_push(self, payload: Mapping[str, Any]) -> None:
        """A verified GitHub `push` delivery: poll now if it is our branch.

        Where the fence is down (a follower), the push is recorded as a
        `git.push` event for the leader to pick up; if the store cannot take
        it, the leader's next regular poll still does (logged, not raised).
        """
        ref = payload.get("ref")
        if ref not in (None, f"refs/heads/{self._branch}"):
            return
        if self._fence():
            self.trigger()
            return
        try:
            self._record(PUSH, {"sha": payload.get("after"), "ref": ref})
        except RolloutError as exc:
            log.warning("push not relayed to the leader (its next poll takes it): %s", exc.message)

    def _newest_push(self) -> int | None:
        since = self._clock() - PUSH_LOOKBACK
        found = self._store.events(kinds=[PUSH], since=since, limit=1)
        return found[-1].id if found else None

    def _pushed_elsewhere(self) -> bool:
        """True once per `git.push` event recorded since the last look (by a follower)."""
        try:
            newest = self._newest_push()
        except RolloutError as exc:  # the store is away: the regular poll still comes
            log.debug("looking for relayed pushes failed: %s", exc.message)
            return False
        except Exception:  # a bug must not kill the watcher
            log.exception("looking for relayed pushes crashed")
            return False
        if newest is None or newest == self._last_push:
            return False
        self._last_push = newest
        return True

    # --- one poll -------------------------------------------------------------------

    def last_seen(self) -> str | None:
        found = self._store.events(kinds=[SEEN], limit=1)
        sha = found[-1].details.get("sha") if found else None
        return str(sha) if sha else None

    def poll_once(self) -> PollResult:
        """Fetch and detect; never raises for git trouble (the result says what failed)."""
        with self._poll_lock:
            try:
                result = self._poll()
            except RolloutError as exc:
                self._failures += 1
                message = exc.message
                log.warning("git poll failed (%d in a row): %s", self._failures, message)
                self._on_error(message)
                if self._failures == 1:
                    self._record(ERROR, {"error": message})
                return PollResult(None, error=message)
            if self._failures:
                log.info("git poll recovered after %d failure(s)", self._failures)
            self._failures = 0
            return result

    def _poll(self) -> PollResult:
        self._git.fetch()
        head = self._git.head(self._branch)
        last = self.last_seen()
        if last == head:
            return PollResult(head)
        if last is None:
            log.info("watching %s from %s (baseline, no rollout)", self._branch, head[:12])
            self._record(SEEN, {"sha": head, "baseline": True})
            return PollResult(head)
        if not self._is_ancestor(last, head):
            return self._force_pushed(last, head)
        detected: list[str] = []
        previous = last
        # Everyone who wrote a commit since the previous rollout: a commit that
        # touches no policy still counts towards the next rollout's authors.
        authors: list[str] = []
        committers: list[str] = []
        for commit in self._git.commits_between(last, head):
            authors += [p.text() for p in commit_people(_author(commit), None, commit.message)]
            committers.append(Person(commit.committer_name, commit.committer_email).text())
            if not self._touches_policies(commit.sha):
                continue
            self._on_commit(
                _commit(commit, tuple(dict.fromkeys(authors)), tuple(dict.fromkeys(committers))),
                previous,
            )
            detected.append(commit.sha)
            previous, authors, committers = commit.sha, [], []
        self._record(SEEN, {"sha": head, "previous": last, "detected": detected})
        return PollResult(head, tuple(detected))

    def _force_pushed(self, last: str, head: str) -> PollResult:
        log.warning(
            "branch %s was force-pushed: %s is not an ancestor of %s; taking the new head",
            self._branch,
            last[:12],
            head[:12],
        )
        self._record(FORCE_PUSH, {"old": last, "new": head})
        try:
            changed = bool(self._git.changed_paths(last, head, under=self._subdirectory))
        except GitError:
            changed = True  # the old commit is gone: we cannot prove nothing changed
        detected: tuple[str, ...] = ()
        if changed:
            commits = self._git.commits_between(None, head)
            info = next((c for c in reversed(commits) if c.sha == head), None)
            if info is not None:
                people = tuple(p.text() for p in commit_people(_author(info), None, info.message))
                committer = (Person(info.committer_name, info.committer_email).text(),)
                self._on_commit(_commit(info, people, committer), last)
                detected = (head,)
        self._record(SEEN, {"sha": head, "previous": last, "force_push": True})
        return PollResult(head, detected, force_push=True)

    def _is_ancestor(self, old: str, new: str) -> bool:
        try:
            # Nothing reachable from `old` that `new` lacks <=> old is an ancestor.
            return not self._git.commits_between(new, old)
        except GitError:
            return False

    def _touches_policies(self, sha: str) -> bool:
        try:
            return bool(self._git.changed_paths(f"{sha}^", sha, under=self._subdirectory))
        except GitError:
            return True  # a root commit: everything in it is new

    def _record(self, kind: str, details: Mapping[str, Any]) -> None:
        self._store.record_event(kind, actor="netpol-rollout", channel="system", details=details)

    # --- the loop -------------------------------------------------------------------

    def next_delay(self) -> float:
        """Seconds until the next poll: the interval, or a growing backoff after errors."""
        if not self._failures:
            return self._interval
        backoff = min(2.0 ** (self._failures - 1), MAX_BACKOFF.total_seconds())
        return min(max(self._interval, 1.0) * backoff, MAX_BACKOFF.total_seconds())

    def run(self) -> None:
        # Pushes relayed before this start are covered by the first poll.
        self._pushed_elsewhere()
        while not self._stop.is_set():
            if self._fence():
                try:
                    self.poll_once()
                except Exception:  # the watcher must never die; the engine's errors included
                    log.exception("git poll crashed; retrying at the next interval")
                    self._failures += 1
                    self._on_error("internal error")
            self._wait(self.next_delay())
            self._wake.clear()

    def _wait(self, delay: float) -> None:
        """Sleep `delay` seconds, less if triggered, stopped, or a follower relayed a push."""
        deadline = time.monotonic() + delay
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._wake.wait(min(left, self._push_check)):
                return
            if self._fence() and self._pushed_elsewhere():
                log.info("a push relayed by another replica: polling now")
                return

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="git-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def _author(info: CommitLike) -> Person:
    return Person(info.author_name, info.author_email)


def _commit(info: CommitLike, authors: tuple[str, ...], committers: tuple[str, ...]) -> Commit:
    return Commit(
        sha=info.sha,
        author=info.author_name,
        author_email=info.author_email,
        message=info.message,
        committed_at=info.authored_at,
        authors=authors,
        committers=committers,
    )
