"""Real signing keys made in the test (gpg, ssh-keygen) and commits signed with them.

    keys = SigningKeyring(tmp_path)
    alice = keys.openpgp("Alice", "alice@example.com")   # public key file: alice.public
    bob = keys.ssh("bob@example.com")                    # allowed-signers line: bob.allowed
    sign_commit(repo, "message", alice)                   # git commit -S with that key
    keys.close()                                          # stops the gpg agents it started

Each OpenPGP key lives in its own short-named GNUPGHOME under /tmp (gpg's
agent socket path must stay short); `close()` stops their agents and
removes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OpenPgpKey:
    home: Path
    fingerprint: str
    public: Path
    """ASCII-armored public key file."""

    def revocation(self) -> str:
        """The revocation certificate gpg made with the key, ready to import."""
        text = (self.home / "openpgp-revocs.d" / f"{self.fingerprint}.rev").read_text()
        return text.replace(":-----BEGIN PGP PUBLIC KEY BLOCK", "-----BEGIN PGP PUBLIC KEY BLOCK")


@dataclass(frozen=True)
class SshKey:
    private: Path
    principal: str
    public_line: str

    @property
    def allowed(self) -> str:
        """Its line in an allowed-signers file."""
        return f"{self.principal} {self.public_line}"


class SigningKeyring:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._homes: list[Path] = []

    def openpgp(self, name: str, email: str) -> OpenPgpKey:
        home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
        home.chmod(0o700)
        self._homes.append(home)
        env = {**os.environ, "GNUPGHOME": str(home)}
        user = f"{name} <{email}>"
        algorithm = ["ed25519", "sign", "never"]
        run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", user, *algorithm], env=env)
        listing = run(["gpg", "--batch", "--with-colons", "--list-keys", email], env=env)
        fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        public = self.folder / f"{name.lower()}.asc"
        public.write_text(run(["gpg", "--batch", "--armor", "--export", fingerprint], env=env))
        return OpenPgpKey(home, fingerprint, public)

    def ssh(self, principal: str) -> SshKey:
        private = self.folder / f"{principal.split('@')[0]}_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(private)])
        public_line = Path(f"{private}.pub").read_text().strip()
        return SshKey(private, principal, public_line)

    def close(self) -> None:
        for home in self._homes:
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "all"],
                capture_output=True,
                check=False,
                timeout=30,
            )
            shutil.rmtree(home, ignore_errors=True)


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise AssertionError(f"{command[0]} failed: {done.stderr.strip()}")
    return done.stdout


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    clean = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        **(env or {}),
    }
    return run(["git", "-C", str(repo), *args], env=clean).strip()


def signing_args(key: OpenPgpKey | SshKey | None) -> tuple[list[str], dict[str, str]]:
    """git options and environment that make `commit -S` / `merge -S` use `key`."""
    if key is None:
        return [], {}
    if isinstance(key, OpenPgpKey):
        return ["-c", f"user.signingkey={key.fingerprint}"], {"GNUPGHOME": str(key.home)}
    return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key.private}"], {}


def init_repo(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Dave")
    git(repo, "config", "user.email", "dave@example.com")


def sign_commit(
    repo: Path, message: str, key: OpenPgpKey | SshKey | None, *, file: str = "change.txt"
) -> str:
    """Change `file` and commit it, signed with `key` (unsigned for None); the sha."""
    path = repo / "k8s" / "network-policies" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(message + "\n")
    git(repo, "add", "-A")
    options, env = signing_args(key)
    git(repo, *options, "commit", "-q", *(["-S"] if key else []), "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")
