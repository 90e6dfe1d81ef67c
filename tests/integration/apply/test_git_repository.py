"""GitRepository on real repositories: local path and a cached mirror of a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.errors import GitError
from rollout.gitwatch import GitRepository
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration


def test_local_repository_history_and_export(tmp_path: Path) -> None:
    repo = PolicyRepo(tmp_path / "src")
    repo.write("a.yaml", policy("a", "shop"))
    first = repo.commit("first policy\n\nwith a body")
    repo.write("b.yaml", policy("b", "shop"))
    second = repo.commit("second")
    git = GitRepository(path=repo.root)

    assert git.head("main") == second
    assert git.resolve("HEAD~1") == first
    info = git.commit_info(first)
    assert (info.author_name, info.author_email, info.summary) == (
        "Dev",
        "dev@example.com",
        "first policy",
    )
    assert git.changed_paths(first, second) == ["k8s/network-policies/overlays/staging/b.yaml"]
    assert [c.sha for c in git.commits_between(first, second)] == [second]
    assert [c.sha for c in git.commits_between(None, second)] == [first, second]

    out = git.export_tree(first, tmp_path / "out", subdirectory="k8s/network-policies")
    assert sorted(p.name for p in out.rglob("*.yaml")) == ["a.yaml"]

    with pytest.raises(GitError, match="unknown revision 'nope'"):
        git.resolve("nope")
    with pytest.raises(GitError, match="no branch 'release'"):
        git.head("release")
    with pytest.raises(GitError, match="does not exist at"):
        git.export_tree(first, tmp_path / "x", subdirectory="missing")


def test_remote_is_mirrored_and_fetched(tmp_path: Path) -> None:
    repo = PolicyRepo(tmp_path / "remote")
    repo.write("a.yaml", policy("a", "shop"))
    first = repo.commit()
    git = GitRepository(url=f"file://{repo.root}", cache_dir=tmp_path / "cache")
    assert git.head("main") == first
    repo.write("b.yaml", policy("b", "shop"))
    second = repo.commit()
    git.fetch()
    assert git.head("main") == second


def test_unreachable_remote_is_a_clear_git_error(tmp_path: Path) -> None:
    git = GitRepository(url=f"file://{tmp_path}/missing.git", cache_dir=tmp_path / "cache")
    with pytest.raises(GitError, match=r"missing\.git"):
        git.fetch()
