"""`CommitVerifier`: git's verdict with real gpg and ssh keys made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.config.schema import SigningKeys
from rollout.errors import ConfigError
from rollout.signatures import CommitVerifier
from tests.support.signing import SigningKeyring, git, sign_commit, signing_args

pytestmark = pytest.mark.integration


def verifier(tmp_path: Path, **keys: object) -> CommitVerifier:
    return CommitVerifier(SigningKeys.model_validate(keys), base_dir=tmp_path)


def test_openpgp_signature_by_a_configured_key_verifies(
    tmp_path: Path, keys: SigningKeyring, repo: Path
) -> None:
    alice = keys.openpgp("Alice", "alice@example.com")
    sha = sign_commit(repo, "allow web -> api", alice)
    signature = verifier(tmp_path, openpgp=["keys/alice.asc"]).verify(repo, sha)
    assert signature.verified
    assert (signature.signer, signature.key, signature.kind) == (
        "Alice <alice@example.com>",
        alice.fingerprint,
        "openpgp",
    )
    assert (
        signature.describe()
        == f"signed by Alice <alice@example.com> (openpgp key {alice.fingerprint})"
    )


def test_ssh_signature_by_an_allowed_signer_verifies(
    tmp_path: Path, keys: SigningKeyring, repo: Path
) -> None:
    bob = keys.ssh("bob@example.com")
    (tmp_path / "allowed_signers").write_text(bob.allowed + "\n")
    sha = sign_commit(repo, "allow web -> api", bob)
    signature = verifier(tmp_path, ssh_allowed_signers="allowed_signers").verify(repo, sha)
    assert signature.verified
    assert signature.signer == "bob@example.com"
    assert signature.kind == "ssh" and signature.key is not None
    assert signature.key.startswith("SHA256:")


def test_unsigned_commit_is_not_verified(tmp_path: Path, keys: SigningKeyring, repo: Path) -> None:
    keys.openpgp("Alice", "alice@example.com")
    sha = sign_commit(repo, "unsigned", None)
    signature = verifier(tmp_path, openpgp=["keys/alice.asc"]).verify(repo, sha)
    assert (signature.verified, signature.status) == (False, "N")
    assert signature.describe() == f"commit {sha[:12]} is not signed"


def test_openpgp_key_that_is_not_configured_is_not_trusted(
    tmp_path: Path, keys: SigningKeyring, repo: Path
) -> None:
    keys.openpgp("Alice", "alice@example.com")
    mallory = keys.openpgp("Mallory", "mallory@example.com")
    sha = sign_commit(repo, "signed by someone else", mallory)
    signature = verifier(tmp_path, openpgp=["keys/alice.asc"]).verify(repo, sha)
    assert (signature.verified, signature.status) == (False, "E")
    assert "not trusted (not in repository.signing_keys)" in signature.describe()


def test_ssh_key_that_is_not_an_allowed_signer_is_not_trusted(
    tmp_path: Path, keys: SigningKeyring, repo: Path
) -> None:
    bob, mallory = keys.ssh("bob@example.com"), keys.ssh("mallory@example.com")
    (tmp_path / "allowed_signers").write_text(bob.allowed + "\n")
    sha = sign_commit(repo, "signed by someone else", mallory)
    signature = verifier(tmp_path, ssh_allowed_signers="allowed_signers").verify(repo, sha)
    assert (signature.verified, signature.status) == (False, "U")
    assert "not trusted" in signature.describe()


def test_revoked_openpgp_key_is_refused(tmp_path: Path, keys: SigningKeyring, repo: Path) -> None:
    alice = keys.openpgp("Alice", "alice@example.com")
    sha = sign_commit(repo, "signed before the key was revoked", alice)
    check = verifier(tmp_path, openpgp=["keys/alice.asc"])
    assert check.verify(repo, sha).verified
    # The key file now carries the key's revocation, as a published key would.
    alice.public.write_text(alice.public.read_text() + alice.revocation())
    signature = check.verify(repo, sha)
    assert (signature.verified, signature.status) == (False, "R")
    assert "revoked" in signature.describe()


def test_expired_ssh_key_is_refused(tmp_path: Path, keys: SigningKeyring, repo: Path) -> None:
    bob = keys.ssh("bob@example.com")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'{bob.principal} valid-before="20200101" {bob.public_line}\n')
    sha = sign_commit(repo, "signed after the key's validity", bob)
    signature = verifier(tmp_path, ssh_allowed_signers="allowed_signers").verify(repo, sha)
    assert signature.verified is False


def test_merge_commit_is_judged_by_its_own_signature(
    tmp_path: Path, keys: SigningKeyring, repo: Path
) -> None:
    alice = keys.openpgp("Alice", "alice@example.com")
    check = verifier(tmp_path, openpgp=["keys/alice.asc"])
    sign_commit(repo, "base", alice)
    git(repo, "checkout", "-q", "-b", "feature")
    sign_commit(repo, "unsigned work on a branch", None, file="feature.txt")
    git(repo, "checkout", "-q", "main")
    sign_commit(repo, "signed work on main", alice)
    options, env = signing_args(alice)
    git(repo, *options, "merge", "-q", "--no-ff", "-S", "-m", "merge feature", "feature", env=env)
    signed_merge = git(repo, "rev-parse", "HEAD")
    assert len(git(repo, "rev-parse", "HEAD^@").split()) == 2
    assert check.verify(repo, signed_merge).verified  # its signature covers the merged tree

    git(repo, "reset", "-q", "--hard", "HEAD^1")
    git(repo, "merge", "-q", "--no-ff", "-m", "unsigned merge of signed parents", "feature")
    unsigned_merge = git(repo, "rev-parse", "HEAD")
    assert check.verify(repo, unsigned_merge).status == "N"


def test_missing_or_unusable_key_files_are_config_errors(
    tmp_path: Path, keys: SigningKeyring, repo: Path
) -> None:
    sha = sign_commit(repo, "unsigned", None)
    with pytest.raises(ConfigError, match=r"signing_keys.openpgp\[0\]: no such file"):
        verifier(tmp_path, openpgp=["keys/nobody.asc"]).verify(repo, sha)
    (tmp_path / "not-a-key.asc").write_text("hello\n")
    with pytest.raises(ConfigError, match=r"openpgp\[0\]: .*not-a-key.asc holds no OpenPGP"):
        verifier(tmp_path, openpgp=["not-a-key.asc"]).verify(repo, sha)
    with pytest.raises(ConfigError, match=r"signing_keys.ssh_allowed_signers: cannot read"):
        verifier(tmp_path, ssh_allowed_signers="missing").verify(repo, sha)
