"""Real keys for each test: OpenPGP (gpg) and SSH (ssh-keygen), and a real repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.signing import SigningKeyring, init_repo


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[SigningKeyring]:
    folder = tmp_path / "keys"
    folder.mkdir()
    keyring = SigningKeyring(folder)
    yield keyring
    keyring.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "policies"
    init_repo(path)
    return path
