"""`repository`: where the policies live and how to fetch them."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator

from rollout.config.schema.types import Duration, SecretRef, Strict


class RepositoryCredentials(Strict):
    """HTTPS token or SSH key for a private repository.

    Handed to git through its environment, never written into the URL.

    ```yaml
    credentials:
      token: {env: ROLLOUT_GIT_TOKEN}
    ```
    """

    token: SecretRef | None = Field(
        default=None,
        description="HTTPS access token, sent as HTTP basic auth together with `username` "
        "(a GitHub fine-grained token with read access to contents is enough).",
    )
    ssh_key: SecretRef | None = Field(
        default=None,
        description="SSH private key for `ssh://` and `git@host:path` URLs, used with "
        "`ssh -i`. An `{env: ...}` key is written to a private (0600) temporary file that is "
        "removed when the process exits.",
    )
    username: str = Field(
        default="x-access-token",
        description="User name sent with `token`. The default suits GitHub; "
        "set what your git host expects for token access.",
    )


class SigningKeys(Strict):
    """Whose commit signatures count: OpenPGP public keys and SSH allowed signers.

    Verified by git itself (`git verify-commit`) against these keys only, in a
    private keyring; see `environments[].require_signed_commits`. Paths are
    relative to the configuration file's folder; the files are read at each
    verification, so adding or revoking a key needs no restart.

    ```yaml
    signing_keys:
      openpgp: [keys/alice.asc, keys/bob.asc]
      ssh_allowed_signers: keys/allowed_signers
    ```
    """

    openpgp: tuple[Path, ...] = Field(
        default=(),
        description="Files holding OpenPGP public keys (`gpg --armor --export KEY`); a "
        "revocation imported with a key (its certificate in the same file) revokes it.",
    )
    ssh_allowed_signers: Path | None = Field(
        default=None,
        description="An allowed-signers file (git's `gpg.ssh.allowedSignersFile`, see "
        "ssh-keygen(1) ALLOWED SIGNERS): one `PRINCIPAL [valid-after=...,valid-before=...] "
        "KEY` per line.",
    )
    ssh_revoked_keys: Path | None = Field(
        default=None,
        description="Revoked SSH keys (git's `gpg.ssh.revocationFile`: public keys or a KRL).",
    )

    @model_validator(mode="after")
    def _some_key(self) -> SigningKeys:
        if not self.openpgp and self.ssh_allowed_signers is None:
            raise ValueError(
                "name at least one key: 'openpgp' (public key files) or "
                "'ssh_allowed_signers' (an allowed-signers file)"
            )
        return self


class Repository(Strict):
    """Where the policies live. Give `url` (remote) or `path` (local clone).

    Every new commit on `branch` that changes something under `subdirectory`
    becomes a rollout; other commits are ignored.

    ```yaml
    repository:
      url: https://github.com/example-org/network-policies.git
      branch: main
      subdirectory: k8s/network-policies
      poll_interval: 60s
      credentials:
        token: {env: ROLLOUT_GIT_TOKEN}
    ```
    """

    url: str | None = Field(
        default=None,
        description="Remote git URL: `https://`, `ssh://`, `git://`, `file://` or "
        "`git@host:org/repo.git`; mirrored under `~/.cache/netpol-rollout/repos`. "
        "A password in the URL is refused: use `credentials.token`. Exactly one of "
        "`url` and `path`.",
    )
    path: Path | None = Field(
        default=None,
        description="A local clone instead of `url`, relative to the configuration file's "
        "folder. It is never fetched: its own `branch` is read as it is.",
    )
    branch: str = Field(default="main", description="The branch to follow.")
    subdirectory: str = Field(
        default="k8s/network-policies",
        description="Folder in the repository holding the kustomize base and one overlay "
        "per environment; only commits that change it start rollouts.",
    )
    poll_interval: Duration = Field(
        default=timedelta(seconds=60),
        description="How often to fetch `branch`. A GitHub push webhook (needs "
        "`notifications.github.webhook_secret`) triggers a fetch at once; failed fetches "
        "back off exponentially, up to 10m.",
    )
    credentials: RepositoryCredentials | None = Field(
        default=None,
        description="For a private repository; none: git's own defaults (anonymous "
        "HTTPS, or the service user's SSH setup).",
    )
    signing_keys: SigningKeys | None = Field(
        default=None,
        description="Keys whose commit signatures are trusted. With keys, every rollout "
        "records who signed its commit; environments with `require_signed_commits` accept "
        "only commits these keys signed.",
    )
    smoke_tests_file: str = Field(
        default="smoke-tests.yaml",
        description="The smoke-test spec (docs/smoke-tests.md), relative to `subdirectory`, "
        "read from the commit being rolled out. A revision without it has nothing to test: "
        "the smoke stage passes.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Repository:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' (a remote) or 'path' (a local clone)")
        return self

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https", "ssh", "git", "file") and (
            parsed.netloc or parsed.scheme == "file"
        ):
            if parsed.password:
                raise ValueError("must not embed a password; use credentials.token")
            return url
        if re.match(r"^[\w.-]+@[\w.-]+:[\w./-]+$", url):  # scp-like git@host:org/repo.git
            return url
        raise ValueError(
            f"expected a git URL (https://, ssh://, file:// or git@host:path), got {url!r}"
        )
