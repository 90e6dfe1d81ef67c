"""Commit signatures, verified by git itself against the keys the configuration names.

    verifier = CommitVerifier(settings.repository.signing_keys, base_dir=config_dir)
    signature = verifier.verify(git_dir, sha)    # a `CommitSignature`, never raises for
                                                 # an unsigned or badly signed commit

git verifies (`git log --format=%G?...` and `git verify-commit`, as Argo CD
and Flux do), in an environment of our own making, so nothing else is
trusted: OpenPGP keys are imported into a private, temporary GNUPGHOME
(marked trusted: the configuration is the trust anchor; no agent is
started), SSH signatures are checked against the configured
`gpg.ssh.allowedSignersFile` (and `gpg.ssh.revocationFile`), and the user's,
the system's and the repository's git settings for the signing programs
are overridden. Only git's `G` verdict (a good signature from a trusted,
valid key) passes: an unknown key, an expired or revoked key, a bad or
missing signature each fail with their own reason. Only the commit rolled
out is checked (its signature covers its tree, whatever its parents are),
as Argo CD and Flux check the revision they deploy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout.config.schema import SigningKeys
from rollout.errors import ConfigError, GitError

__all__ = ["CommitSignature", "CommitVerifier"]

_TIMEOUT = 60
_FORMAT = "%G?%x00%GS%x00%GK%x00%GF"

# git's %G? letters (git-log(1), "Placeholders that expand to information
# extracted from a single commit"): what each means for the person reading.
_VERDICTS = {
    "G": "signed",
    "B": "the signature does not match the commit (bad signature)",
    "U": "signed by a key that is not trusted (not in repository.signing_keys)",
    "X": "the signature has expired",
    "Y": "signed by a key that has expired",
    "R": "signed by a key that has been revoked",
    "E": "signed by a key that is not trusted (not in repository.signing_keys)",
    "N": "not signed",
}


@dataclass(frozen=True)
class CommitSignature:
    """git's verdict on one commit's signature, with who signed when it can tell."""

    sha: str
    status: str
    """git's `%G?` letter: G (good), B, U, X, Y, R, E or N."""
    signer: str | None = None
    """OpenPGP user id or SSH principal (`%GS`), when git could name one."""
    key: str | None = None
    """Key fingerprint (`%GF`), or key id (`%GK`) when that is all git has."""

    @property
    def verified(self) -> bool:
        return self.status == "G"

    @property
    def kind(self) -> str | None:
        if self.key is None:
            return None
        return "ssh" if self.key.startswith("SHA256:") else "openpgp"

    def describe(self) -> str:
        """`signed by Alice <a@x> (openpgp key 9A95…)` or why it is not acceptable."""
        verdict = _VERDICTS.get(self.status, f"signature status {self.status!r}")
        who = f" by {self.signer}" if self.signer else ""
        key = f" ({self.kind} key {self.key})" if self.key else ""
        if self.verified:
            return f"signed{who}{key}"
        return (
            f"commit {self.sha[:12]} is {verdict}{key}"
            if self.status == "N"
            else (f"commit {self.sha[:12]}: {verdict}{who}{key}")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "status": self.status,
            "signer": self.signer,
            "key": self.key,
            "kind": self.kind,
            "summary": self.describe(),
        }


class CommitVerifier:
    """Verifies commits against the configured OpenPGP keys and SSH allowed signers.

    Key files are read at each verification (relative paths from `base_dir`,
    the configuration file's folder), so a key added or revoked in them
    counts from the next rollout on. A key file that cannot be read or
    imported raises ConfigError naming it.
    """

    def __init__(self, keys: SigningKeys, *, base_dir: Path | None = None) -> None:
        self._keys = keys
        self._base = base_dir

    def _path(self, path: Path) -> Path:
        return path if path.is_absolute() or self._base is None else self._base / path

    def verify(self, git_dir: Path, sha: str) -> CommitSignature:
        """git's verdict on `sha` in the repository at `git_dir`; GitError if git fails."""
        with self._trust(git_dir) as env:
            shown = _git(env, git_dir, "log", "-1", f"--format={_FORMAT}", sha, "--")
            status, signer, key_id, fingerprint = (
                shown.stdout.rstrip("\n").split("\0") + [""] * 4
            )[:4]
            status = status.strip() or "N"
            if status == "G":
                # The verdict itself, as `git verify-commit` gives it (exit status).
                checked = _git(env, git_dir, "verify-commit", sha, check=False)
                if checked.returncode != 0:
                    status = "B"
        return CommitSignature(
            sha=sha,
            status=status,
            signer=signer.strip() or None,
            key=(fingerprint or key_id).strip() or None,
        )

    @contextmanager
    def _trust(self, git_dir: Path) -> Iterator[Mapping[str, str]]:
        home = Path(tempfile.mkdtemp(prefix="nr-gpg-"))
        try:
            home.chmod(0o700)
            # Verification needs no secret keys: never start an agent.
            (home / "gpg.conf").write_text("no-autostart\n")
            allowed = home / "allowed_signers"
            revoked = home / "revoked_keys"
            allowed.write_text(self._read(self._keys.ssh_allowed_signers, "ssh_allowed_signers"))
            revoked.write_text(self._read(self._keys.ssh_revoked_keys, "ssh_revoked_keys"))
            env = {
                "GNUPGHOME": str(home),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_CONFIG_COUNT": "5",
                "GIT_CONFIG_KEY_0": "gpg.openpgp.program",
                "GIT_CONFIG_VALUE_0": "gpg",
                "GIT_CONFIG_KEY_1": "gpg.ssh.program",
                "GIT_CONFIG_VALUE_1": "ssh-keygen",
                "GIT_CONFIG_KEY_2": "gpg.ssh.allowedSignersFile",
                "GIT_CONFIG_VALUE_2": str(allowed),
                "GIT_CONFIG_KEY_3": "gpg.ssh.revocationFile",
                "GIT_CONFIG_VALUE_3": str(revoked),
                "GIT_CONFIG_KEY_4": "gpg.x509.program",
                "GIT_CONFIG_VALUE_4": "false",  # X.509 (gpgsm) signatures are not accepted
            }
            for index, path in enumerate(self._keys.openpgp):
                self._import(env, self._path(path), f"openpgp[{index}]")
            yield env
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def _read(self, path: Path | None, field: str) -> str:
        if path is None:
            return ""
        full = self._path(path)
        try:
            return full.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"repository.signing_keys.{field}: cannot read {full}: "
                f"{getattr(exc, 'strerror', None) or type(exc).__name__}"
            ) from exc

    def _import(self, env: Mapping[str, str], path: Path, field: str) -> None:
        where = f"repository.signing_keys.{field}"
        if not path.is_file():
            raise ConfigError(f"{where}: no such file {path}")
        imported = _gpg(env, "--import", "--import-options", "import-show", "--with-colons", path)
        if imported.returncode != 0:
            raise ConfigError(f"{where}: {path} holds no OpenPGP public key gpg can import")
        fingerprints = _primary_fingerprints(imported.stdout)
        if not fingerprints:
            raise ConfigError(f"{where}: {path} holds no OpenPGP public key")
        trust = "".join(f"{fpr}:6:\n" for fpr in fingerprints)
        set_trust = _gpg(env, "--import-ownertrust", stdin=trust)
        if set_trust.returncode != 0:
            raise ConfigError(f"{where}: gpg could not trust the key in {path}")


def _primary_fingerprints(colons: str) -> list[str]:
    """The primary keys' fingerprints in gpg's `--with-colons` listing (not subkeys')."""
    found: list[str] = []
    record = ""
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "fpr" and record == "pub" and len(fields) > 9:
            found.append(fields[9])
        record = fields[0]
    return found


def _git(
    env: Mapping[str, str], git_dir: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = ["git", "-C", str(git_dir), *args]
    try:
        done = subprocess.run(
            command,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed in {git_dir}: {type(exc).__name__}") from exc
    if check and done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise GitError(f"git {args[0]} failed in {git_dir}: {why[0]}")
    return done


def _gpg(
    env: Mapping[str, str], *args: str | Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["gpg", "--batch", "--no-tty", "--no-autostart", *map(str, args)],
            env={**os.environ, **env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"gpg is needed to verify OpenPGP signatures: {exc}") from exc
