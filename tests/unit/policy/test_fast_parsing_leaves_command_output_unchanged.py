"""The fast paths change no command's output: `policy diff` parsing what both
revisions share once says what it says parsing each side alone, and `policy
matrix` of a cluster given as `kubectl get -o json` says what the same
objects in YAML say."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli import policy_diff_cmd
from rollout.cli.main import cli
from rollout.manifests import ParseCache

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from cluster_generator import generate


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["policy", *args])
    assert result.exit_code == 0, result.output
    return result.output


def write(folder: Path, name: str, text: str) -> str:
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    return str(folder)


class CountingCache(ParseCache):
    made: ClassVar[list[CountingCache]] = []

    def __init__(self) -> None:
        super().__init__()
        CountingCache.made.append(self)


class ForgetfulCache(ParseCache):
    def put(self, key: bytes, documents: list[tuple[object, int]]) -> None:
        pass


@pytest.mark.parametrize("output", ["json", "text", "markdown"])
def test_diff_with_shared_parsing_says_what_it_says_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    old = write(tmp_path / "old", "c.yaml", yaml.safe_dump_all(generate(150)))
    new = write(tmp_path / "new", "c.yaml", yaml.safe_dump_all(generate(150, revision=1)))
    monkeypatch.setattr(policy_diff_cmd, "ParseCache", ForgetfulCache)
    alone = run("diff", old, new, "-o", output)
    monkeypatch.setattr(policy_diff_cmd, "ParseCache", CountingCache)
    shared = run("diff", old, new, "-o", output)
    assert shared == alone
    assert CountingCache.made[-1].hits > 100  # the new side's unchanged documents
    assert "opened" in alone.lower() or "closed" in alone.lower()


@pytest.mark.parametrize("output", ["json", "csv", "dot"])
def test_matrix_of_kubectl_json_says_what_the_yaml_says(tmp_path: Path, output: str) -> None:
    objects = generate(150)
    listed = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2)
    as_json = run("matrix", write(tmp_path / "j", "c.json", listed), "-o", output)
    as_yaml = run(
        "matrix", write(tmp_path / "y", "c.yaml", yaml.safe_dump_all(objects)), "-o", output
    )
    assert as_json.replace(str(tmp_path / "j"), "X") == as_yaml.replace(str(tmp_path / "y"), "X")
    assert as_json.count("\n") > 20
