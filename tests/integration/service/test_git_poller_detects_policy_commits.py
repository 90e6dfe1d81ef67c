"""The git watcher against a real bare remote: only policy commits become rollouts,
force-pushes are taken, an unreachable remote is reported and retried."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rollout.config.schema import Repository
from rollout.gitpoll import GitPoller
from rollout.gitwatch import GitRepository
from rollout.ports import Commit
from rollout.store import Store, open_store

pytestmark = pytest.mark.integration


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Bob",
        "GIT_AUTHOR_EMAIL": "bob@example.com",
        "GIT_COMMITTER_NAME": "Bob",
        "GIT_COMMITTER_EMAIL": "bob@example.com",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


class Remote:
    def __init__(self, root: Path) -> None:
        self.bare = root / "remote.git"
        self.work = root / "work"
        self.work.mkdir()
        git(root, "init", "--bare", "-b", "main", str(self.bare))
        git(self.work, "init", "-b", "main")
        git(self.work, "remote", "add", "origin", str(self.bare))

    def commit(self, path: str, text: str, message: str) -> str:
        file = self.work / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-m", message)
        git(self.work, "push", "-f", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: datetime.now(UTC))


def _poller(
    remote_url: str,
    tmp_path: Path,
    store: Store,
    seen: list[tuple[str, str | None]],
    errors: list[str],
) -> GitPoller:
    repository = Repository(url=remote_url, subdirectory="policies")
    repo = GitRepository(url=remote_url, cache_dir=tmp_path / "cache")

    def on_commit(commit: Commit, previous: str | None) -> None:
        seen.append((commit.sha, previous))

    return GitPoller(repo, repository, store, on_commit, on_error=errors.append)


def test_only_commits_under_the_policy_path_are_detected(tmp_path: Path, store: Store) -> None:
    remote = Remote(tmp_path)
    base = remote.commit("policies/a.yaml", "a: 1\n", "initial")
    seen: list[tuple[str, str | None]] = []
    poller = _poller(f"file://{remote.bare}", tmp_path, store, seen, [])
    assert poller.poll_once().head == base and seen == []  # the baseline

    remote.commit("README.md", "docs\n", "docs only")
    one = remote.commit("policies/a.yaml", "a: 2\n", "policy one")
    remote.commit("other/x.txt", "x\n", "elsewhere")
    two = remote.commit("policies/b.yaml", "b: 1\n", "policy two")
    result = poller.poll_once()
    assert result.detected == (one, two)
    assert seen == [(one, base), (two, one)]
    assert poller.poll_once().detected == ()

    # A restarted poller continues from the persisted sha.
    again: list[tuple[str, str | None]] = []
    assert _poller(f"file://{remote.bare}", tmp_path, store, again, []).poll_once().detected == ()


def test_force_push_is_reported_and_the_new_head_taken(tmp_path: Path, store: Store) -> None:
    remote = Remote(tmp_path)
    remote.commit("policies/a.yaml", "a: 1\n", "initial")
    seen: list[tuple[str, str | None]] = []
    poller = _poller(f"file://{remote.bare}", tmp_path, store, seen, [])
    poller.poll_once()
    old = remote.commit("policies/a.yaml", "a: 2\n", "to be rewritten")
    assert poller.poll_once().detected == (old,)
    git(remote.work, "reset", "--hard", "HEAD~1")
    new = remote.commit("policies/a.yaml", "a: 3\n", "rewritten")
    result = poller.poll_once()
    assert result.force_push and result.detected == (new,)
    assert seen[-1] == (new, old)
    assert [e.kind for e in store.events(kinds=["git.force_push"])] == ["git.force_push"]


def test_unreachable_remote_is_reported_and_retried_with_backoff(
    tmp_path: Path, store: Store
) -> None:
    errors: list[str] = []
    poller = _poller(f"file://{tmp_path / 'missing.git'}", tmp_path, store, [], errors)
    first = poller.poll_once()
    second = poller.poll_once()
    assert first.error and second.error and len(errors) == 2
    assert "missing.git" in errors[0]
    assert poller.next_delay() == 2 * 60.0  # interval 60 s, doubled after two failures
    assert [e.kind for e in store.events(kinds=["git.error"])] == ["git.error"]  # once per streak
