"""Golden: the example's good and bad commit read the same in every channel.

The demo's two commits on the example repository (the frontend may scrape the
API's metrics port; a `backnd` typo in staging), in a cluster running the
example's workloads. For each, `rollout policy lint` and `rollout policy
diff` (the CLI) say what the service records for the rollout, and the API,
the Slack message, the PR comment, the dashboard page (in Debian's chromium,
screenshotted to artifacts/screenshots/golden-*.png) and the review digest say
the same: the same lint findings, the same opened and closed connections and
counts, the same verdict. The digest counts only what reached production.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from rollout.announce import announcer
from rollout.cli.main import cli
from rollout.cluster_ops import ClusterOps
from rollout.config import load_config
from rollout.core.events import event_from_json
from rollout.demo.scenario import BAD, GOOD, SUBDIRECTORY
from rollout.digest_job import ReviewDigestJob
from rollout.findings import findings_from_json
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from rollout.notify.digest import digest_markdown
from rollout.notify.github import comment_body
from rollout.notify.slack import rollout_blocks
from rollout.render import Renderer
from rollout.revision import apply_revision, render_revision
from rollout.server.app import create_app
from rollout.server.auth import hash_token
from rollout.server.dashboard import dashboard_router
from rollout.store import open_store
from rollout.wiring import git_for, state_for
from tests.e2e.dashboard.conftest import screenshot
from tests.harness import ApiServer, KubeBinaries
from tests.integration.test_example_findings_agree_in_every_channel import (
    NOW,
    _example_cluster,
    _example_repo,
    _key,
)
from tests.support.serving import serving

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.e2e]

TOKEN = "nrt_golden_" + "g" * 32


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Dana", "-c", "user.email=dana@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _pairs(diff: dict[str, Any], which: str) -> list[tuple[str, str, str]]:
    # The repository names pods by workload (`frontend/web`), the cluster by pod
    # (`frontend/web-0`): a connection is its namespaces and ports.
    return sorted(
        (
            str(c["from"]).partition("/")[0],
            str(c["to"]).partition("/")[0],
            f"{c.get('ports') or c.get('port')}/{c.get('protocol')}",
        )
        for c in diff.get(which) or ()
    )


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def test_good_and_bad_commit_agree_in_cli_api_slack_pr_comment_dashboard_and_digest(
    apiserver_factory: Callable[..., ApiServer],
    kube_binaries: KubeBinaries,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    page: Any,
) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")
    monkeypatch.setenv("CHANNELS_SLACK_URL", "https://hooks.slack.invalid/T/B/x")
    server = apiserver_factory(name="golden")
    _example_cluster(server)
    repo = _example_repo(tmp_path / "policy-repo", server)
    base = _git(repo, "rev-parse", "HEAD")
    shas = {}
    for name, change in (("good", GOOD), ("bad", BAD)):
        change.edit(repo / SUBDIRECTORY)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", change.message)
        shas[name] = _git(repo, "rev-parse", "HEAD")
    settings = load_config(repo / "rollout.yaml")
    monkeypatch.chdir(repo)
    git = git_for(settings.repository, base_dir=repo)
    ops = ClusterOps(settings, git, clock=lambda: NOW)
    store = open_store(settings.store.url, clock=lambda: NOW)
    store.create_token("ada", hash_token(TOKEN))
    announce = announcer(settings, lambda: NOW)

    # (commit, environment analysed, previous commit, verdict: the states it went through)
    cases = [
        ("good", "production", base, ["approved", "production_applied", "done"]),
        ("bad", "staging", shas["good"], ["staging_applied", "staging_failed"]),
    ]
    told: dict[str, dict[str, Any]] = {}
    for name, environment, previous, states in cases:
        sha = shas[name]
        # CLI: lint of the overlay at the commit with the workloads, diff between commits.
        _git(repo, "checkout", "-q", sha)
        overlay = f"{SUBDIRECTORY}/{environment}"
        cli_findings = sorted(
            map(_key, findings_from_json(_cli("policy", "lint", overlay, "workloads")))
        )
        cli_diff = _cli("policy", "diff", "--rev", previous, "--rev", sha, overlay, "workloads")
        _git(repo, "checkout", "-q", "main")

        # The service's analysis, stored with the rollout.
        analysis = ops.analyse(environment, previous, sha)
        assert "error" not in analysis.diff, analysis.diff
        assert sorted(map(_key, findings_from_json(analysis.lint))) == cli_findings, name
        for which in ("opened", "closed"):
            assert _pairs(dict(analysis.diff), which) == _pairs(cli_diff, which), (name, which)
        record = store.create_rollout(
            environment=environment,
            commit_sha=sha,
            previous_sha=previous,
            author="Dana",
            author_email="dana@example.com",
            message=name,
            state=states[0],
        )
        record = store.set_artifacts(
            record.id, {"diff": dict(analysis.diff), "lint": dict(analysis.lint)}
        )
        for before, after in itertools.pairwise(states):
            moved = store.transition(
                record.id,
                [before],
                after,
                actor="netpol-rollout",
                channel="system",
                reason="smoke tests failed in staging" if after == "staging_failed" else None,
            )
            assert moved is not None
            record = moved
        opened, closed = len(cli_diff["opened"]), len(cli_diff["closed"])
        told[name] = {"id": record.id, "findings": cli_findings, "opened": opened, "closed": closed}

        # Slack blocks and the PR comment: the same findings and counts.
        kind = "production.applied" if name == "good" else "smoke.failed"
        items = announce(record, kind, {})
        (slack,) = [i for i in items if i.channel == "slack"]
        event = event_from_json(slack.payload)
        assert event.lint is not None
        assert sorted(map(_key, event.lint)) == cli_findings
        assert event.diff is not None and (event.diff.opened, event.diff.closed) == (opened, closed)
        blocks = json.dumps([b.to_dict() for b in rollout_blocks(event, buttons=False)])
        comment = comment_body(event)
        for text in (blocks, comment):
            assert f"{opened} flow(s) opened, {closed} closed" in text
            for rule, obj, _severity in cli_findings:
                assert rule in text and obj in text, (name, rule, obj)
        told[name]["slack"], told[name]["comment"] = blocks, comment

    # The API and the dashboard, served from the same store.
    with serving(create_app(settings, store, clock=lambda: NOW, routers=[dashboard_router])) as url:
        for facts in told.values():
            answer = requests.get(
                f"{url}/api/v1/rollouts/{facts['id']}",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert sorted(map(_key, findings_from_json(body["lint"]))) == facts["findings"]
            assert (len(body["diff"]["opened"]), len(body["diff"]["closed"])) == (
                facts["opened"],
                facts["closed"],
            )
        page.goto(f"{url}/login")
        page.get_by_label("Your API token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/*")
        for name, facts in told.items():
            page.goto(f"{url}/rollouts/{facts['id']}")
            heading = page.locator("#h-diff").inner_text()
            assert f"({facts['opened']} opened, {facts['closed']} closed pod-level)" in heading or (
                f"{facts['opened']} opened, {facts['closed']} closed" in heading
            ), heading
            lint = page.get_by_role("region", name="Lint")
            rows = lint.locator("tbody tr")
            assert rows.count() == len(facts["findings"]), lint.inner_text()
            shown = sorted(
                (
                    rows.nth(i).locator("td").nth(1).inner_text(),
                    rows.nth(i).locator("td").nth(2).inner_text(),
                    rows.nth(i).locator("td").nth(0).inner_text(),
                )
                for i in range(rows.count())
            )
            assert shown == facts["findings"]
            summary = page.get_by_role("region", name="Summary").inner_text()
            verdict = "done" if name == "good" else "staging failed"
            assert verdict in summary.lower().replace("_", " "), summary
            screenshot(page, f"golden-{name}")

    # The digest: production's lint as the CLI says, and only what reached production.
    with KubeCluster(KubeClient.from_kubeconfig(server.kubeconfig_path)) as cluster:
        production = settings.environment("production")
        rendered = render_revision(git, Renderer(), settings.repository, production, shas["good"])
        report = apply_revision(
            cluster, state_for(production, cluster), production, rendered, now=lambda: NOW
        )
    assert report.status == "applied", report
    job = ReviewDigestJob(settings, store, git, clock=lambda: NOW)
    digest = job.gather(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    production_findings = sorted(
        _key(f)
        for f in digest.lint_findings
        if not f.environments or "production" in f.environments
    )
    assert production_findings == told["good"]["findings"]
    assert len(digest.connectivity_opened) == told["good"]["opened"]
    assert len(digest.connectivity_closed) == told["good"]["closed"]
    markdown = digest_markdown(digest)
    for line in digest.connectivity_opened:
        assert line in markdown
