"""A relative `sqlite:///PATH` in `store.url` is relative to the configuration
file, like `repository.path`, not to the directory a command runs in."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.config import load_config

MINIMAL = """
repository: {path: .}
environments:
  - name: staging
    cluster: {kubeconfig: kubeconfig}
    namespaces: [shop]
    overlay: staging
"""


def _config(folder: Path, store: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rollout.yaml"
    path.write_text(MINIMAL + store)
    return path


def test_the_default_database_sits_next_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "repo", "")
    monkeypatch.chdir(tmp_path)
    url = load_config(config).store.url
    assert url == f"sqlite:///{(tmp_path / 'repo' / 'netpol-rollout.db').as_posix()}"


def test_a_relative_path_and_its_query_are_kept(tmp_path: Path) -> None:
    config = _config(tmp_path, "store: {url: 'sqlite+pysqlite:///state/db.sqlite?timeout=5'}\n")
    url = load_config(config).store.url
    assert url == f"sqlite+pysqlite:///{tmp_path.resolve().as_posix()}/state/db.sqlite?timeout=5"


@pytest.mark.parametrize(
    "url",
    ["sqlite:////var/lib/netpol/state.db", "sqlite:///:memory:", "postgresql://db/netpol"],
)
def test_absolute_memory_and_server_urls_are_left_alone(tmp_path: Path, url: str) -> None:
    assert load_config(_config(tmp_path, f"store: {{url: '{url}'}}\n")).store.url == url
