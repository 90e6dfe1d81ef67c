"""`rollout policy replay` on the example repository: Hubble JSON and neutral CSV, files and URLs.

The change (commit B) reaches three flows three ways: a namespaceSelector that
no longer matches the ingress controller's namespace, a named port (`https`)
that the backend's containers do not declare, and an ipBlock `except` that
now excludes 203.0.113.0/24. It also opens one flow that was dropped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.standins import serving

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parents[3] / "examples" / "policy-repo"
PATHS = ["--path", "k8s/network-policies/production", "--path", "workloads"]

CUT = [
    (
        "ingress-nginx/ingress-nginx-controller",
        "frontend/web",
        8080,
        "denied after the change by the ingress of frontend/web",
    ),
    ("frontend/web", "backend/api", 8080, "denied after the change by the ingress of backend/api"),
    ("backend/api", "203.0.113.9", 443, "denied after the change by the egress of backend/api"),
]
OPENED = [("backend/sensitive-workload", "198.51.100.7", 443)]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer contains {old!r}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("flows") / "policy-repo"
    shutil.copytree(EXAMPLE, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "A")
    prod = repo / "k8s" / "network-policies" / "production"
    edit(prod / "frontend-to-backend.yaml", "port: http", "port: https")
    edit(
        prod / "frontend-to-backend.yaml",
        "metadata.name: ingress-nginx",
        "metadata.name: ingress-public",
    )
    edit(
        repo / "k8s" / "network-policies" / "base" / "allow-essentials.yaml",
        "- 192.168.0.0/16\n",
        "- 192.168.0.0/16\n              - 203.0.113.0/24\n",
    )
    with (prod / "restrict-egress.yaml").open("a") as fh:
        fh.write(
            "    - to:\n        - ipBlock:\n            cidr: 198.51.100.0/24\n"
            "      ports:\n        - protocol: TCP\n          port: 443\n"
        )
    git(repo, "commit", "-q", "-am", "B")
    return repo


def run_replay(repo: Path, *flows: str, extra: tuple[str, ...] = ()) -> dict[str, object]:
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "replay",
            *flows,
            "--repo",
            str(repo),
            "--rev",
            "HEAD~1",
            "--rev",
            "HEAD",
            *PATHS,
            "-o",
            "json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def cut_of(summary: dict[str, object]) -> list[tuple[object, ...]]:
    return [(c["source"], c["destination"], c["port"], c["reason"]) for c in summary["cut"]]  # type: ignore[attr-defined]


def opened_of(summary: dict[str, object]) -> list[tuple[object, ...]]:
    return [(c["source"], c["destination"], c["port"]) for c in summary["opened"]]  # type: ignore[attr-defined]


def test_hubble_observe_json_through_replay(repo: Path) -> None:
    summary = run_replay(repo, str(DATA / "hubble-observe.jsonl"))
    assert sorted(cut_of(summary)) == sorted(CUT)
    assert opened_of(summary) == OPENED
    counts = {(c["source"], c["destination"]): c["count"] for c in summary["cut"]}  # type: ignore[attr-defined]
    # Three SYNs; the receiver's copy, the reply, the ACK and the policy-verdict event are not.
    assert counts[("ingress-nginx/ingress-nginx-controller", "frontend/web")] == 3
    assert summary["unchanged_allowed"] == 2  # api -> postgres, api -> DNS
    assert [u["endpoint"] for u in summary["unresolved"]] == ["10.0.0.11"]  # type: ignore[attr-defined]


def test_neutral_csv_through_replay_with_the_window(repo: Path) -> None:
    summary = run_replay(
        repo, str(DATA / "neutral-flows.csv"), extra=("--cluster-cidr", "10.244.0.0/16")
    )
    assert sorted(cut_of(summary)) == sorted(CUT)
    assert opened_of(summary) == OPENED
    first = summary["cut"][0]  # type: ignore[index]
    assert (first["source"], first["count"]) == ("ingress-nginx/ingress-nginx-controller", 1204)
    assert [u["endpoint"] for u in summary["unresolved"]] == ["10.244.9.9"]  # type: ignore[attr-defined]


def test_the_table_says_it_in_words(repo: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "replay",
            str(DATA / "neutral-flows.csv"),
            "--repo",
            str(repo),
            "--rev",
            "HEAD~1",
            "--rev",
            "HEAD",
            *PATHS,
            "--fail-on-cut",
        ],
    )
    assert result.exit_code == 1
    assert (
        "ingress-nginx/ingress-nginx-controller -> frontend/web 8080/TCP, "
        "last seen 2026-12-02 02:14 UTC, 1,204 times"
    ) in result.output


@pytest.fixture
def served() -> Iterator[str]:
    with serving(partial(SimpleHTTPRequestHandler, directory=str(DATA))) as origin:
        yield origin


def test_flow_files_served_over_http_and_a_missing_one_is_a_clear_error(
    repo: Path, served: str
) -> None:
    summary = run_replay(repo, f"{served}/hubble-observe.jsonl", f"{served}/neutral-flows.csv")
    assert sorted(cut_of(summary)) == sorted(CUT)
    counts = {c["source"]: c["count"] for c in summary["cut"]}  # type: ignore[attr-defined]
    assert counts["ingress-nginx/ingress-nginx-controller"] == 1204 + 3
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "replay",
            f"{served}/gone.csv",
            "--repo",
            str(repo),
            "--rev",
            "HEAD~1",
            "--rev",
            "HEAD",
            *PATHS,
        ],
    )
    assert result.exit_code == 2
    assert "gone.csv answered HTTP 404" in result.output
