"""The policy repository, read with GitPython.

`GitRepository` opens a local clone (`path`) or keeps a bare mirror of a remote
(`url`) in a cache folder, refreshed by `fetch()`. Every operation opens a
short-lived `git.Repo` and closes it (GitPython leaks file handles and
subprocesses in long-running processes otherwise). GitPython errors become
GitError with a message saying what to check.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import git

from rollout.errors import GitError

_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    message: str
    authored_at: datetime
    committer_name: str = ""
    committer_email: str = ""

    @property
    def summary(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


class GitRepository:
    """A local clone, or a cached mirror of `url`. Give exactly one of `path`, `url`."""

    def __init__(
        self,
        *,
        path: Path | None = None,
        url: str | None = None,
        cache_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if (path is None) == (url is None):
            raise GitError("give exactly one of a local path or a remote url")
        self.url = url
        self._env = dict(env or {})
        if path is not None:
            self.path = Path(path)
        else:
            assert url is not None
            digest = hashlib.sha256(url.encode()).hexdigest()[:16]
            base = cache_dir or Path.home() / ".cache" / "netpol-rollout" / "repos"
            self.path = base / f"{digest}.git"

    def describe(self) -> str:
        return _redact(self.url) if self.url else str(self.path)

    @contextmanager
    def _repo(self) -> Iterator[git.Repo]:
        if self.url is not None and not self.path.exists():
            self.fetch()
        try:
            repo = git.Repo(self.path)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as exc:
            raise GitError(f"{self.describe()} is not a git repository") from exc
        try:
            with repo.git.custom_environment(**self._env):
                yield repo
        finally:
            repo.close()

    def fetch(self) -> None:
        """Clone (first time) or fetch the remote into the cache; no-op for a local path."""
        if self.url is None:
            return
        try:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                repo = git.Repo.clone_from(self.url, self.path, mirror=True, env=self._env)
                repo.close()
                return
            repo = git.Repo(self.path)
            try:
                with repo.git.custom_environment(**self._env):
                    repo.git.fetch("--prune", "origin", "+refs/heads/*:refs/heads/*")
            finally:
                repo.close()
        except git.GitCommandError as exc:
            raise GitError(_explain_remote(self.describe(), exc)) from exc

    def resolve(self, rev: str) -> str:
        """The full commit sha of `rev` (sha, branch, tag, HEAD~1 ...)."""
        with self._repo() as repo:
            try:
                return str(repo.commit(rev).hexsha)
            except (git.BadName, ValueError, git.GitCommandError) as exc:
                raise GitError(f"unknown revision {rev!r} in {self.describe()}") from exc

    def head(self, branch: str) -> str:
        """The sha at the tip of `branch` (remote-tracking branch as fallback)."""
        for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
            try:
                return self.resolve(ref)
            except GitError:
                continue
        raise GitError(f"no branch {branch!r} in {self.describe()}")

    def commit_info(self, sha: str) -> CommitInfo:
        with self._repo() as repo:
            try:
                commit = repo.commit(sha)
            except (git.BadName, ValueError) as exc:
                raise GitError(f"unknown revision {sha!r} in {self.describe()}") from exc
            message = commit.message
            return CommitInfo(
                sha=str(commit.hexsha),
                author_name=str(commit.author.name),
                author_email=str(commit.author.email),
                message=message if isinstance(message, str) else message.decode(),
                authored_at=datetime.fromtimestamp(commit.authored_date, tz=UTC),
                committer_name=str(commit.committer.name),
                committer_email=str(commit.committer.email),
            )

    def changed_paths(self, old: str, new: str, *, under: str | None = None) -> list[str]:
        """Paths changed between two commits (optionally only below `under`)."""
        args = ["--name-only", "--no-renames", old, new]
        if under:
            args += ["--", under]
        with self._repo() as repo:
            try:
                out = repo.git.diff(*args)
            except git.GitCommandError as exc:
                raise GitError(f"cannot diff {old[:12]}..{new[:12]}: {_stderr(exc)}") from exc
        return sorted(p for p in out.splitlines() if p)

    def commits_between(self, old: str | None, new: str) -> list[CommitInfo]:
        """Commits reachable from `new` but not `old`, oldest first."""
        rev_range = f"{old}..{new}" if old else new
        with self._repo() as repo:
            try:
                shas = repo.git.rev_list("--reverse", rev_range).split()
            except git.GitCommandError as exc:
                raise GitError(f"cannot list commits {rev_range}: {_stderr(exc)}") from exc
        return [self.commit_info(s) for s in shas]

    def uncommitted(self, *, under: str | None = None) -> list[str]:
        """Paths (under `under`) whose working-tree content differs from HEAD, untracked too."""
        args = ["--porcelain", "--untracked-files=all"]
        if under:
            args += ["--", under.strip("/") or "."]
        with self._repo() as repo:
            try:
                out = repo.git.status(*args)
            except git.GitCommandError as exc:
                raise GitError(f"cannot read the working tree: {_stderr(exc)}") from exc
        return [line[3:] for line in out.splitlines() if len(line) > 3]

    def export_tree(self, sha: str, dest: Path, *, subdirectory: str | None = None) -> Path:
        """Write the files of `sha` (optionally only `subdirectory`) under `dest`."""
        dest.mkdir(parents=True, exist_ok=True)
        args = ["--format=tar", sha]
        if subdirectory:
            args += ["--", subdirectory.strip("/")]
        with self._repo() as repo:
            try:
                data = repo.git.archive(*args, stdout_as_string=False)
            except git.GitCommandError as exc:
                msg = _stderr(exc)
                if subdirectory and "did not match" in msg:
                    raise GitError(
                        f"{subdirectory} does not exist at {sha[:12]} in {self.describe()}"
                    ) from exc
                raise GitError(f"cannot export {sha[:12]}: {msg}") from exc
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
        return dest


def _stderr(exc: git.GitCommandError) -> str:
    text = str(exc.stderr or exc).strip()
    text = text.removeprefix("stderr:").strip().strip("'").strip()
    # git's own diagnosis, without progress lines and advice paragraphs
    fatal = [ln.strip() for ln in text.splitlines() if ln.startswith(("fatal:", "error:"))]
    return "; ".join(fatal[:2]) if fatal else text


def _redact(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", url)


def _explain_remote(where: str, exc: git.GitCommandError) -> str:
    msg = _stderr(exc)
    lowered = msg.lower()
    if "authentication" in lowered or "permission denied" in lowered or "403" in lowered:
        return f"{where}: access denied; check the repository credentials ({msg})"
    if "could not resolve" in lowered or "unable to access" in lowered or "timed out" in lowered:
        return f"{where} is unreachable ({msg})"
    if "not found" in lowered or "does not appear to be a git repository" in lowered:
        return f"{where} does not exist or is not a git repository ({msg})"
    return f"{where}: git failed ({msg})"
