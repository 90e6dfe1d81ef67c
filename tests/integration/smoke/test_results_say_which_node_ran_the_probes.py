"""Smoke results obtained on a simulated node say `node: simulated` wherever they are
shown: the CLI's summary and table, JSON, JUnit, Markdown, the webhook payload, Slack
and the dashboard. The node says it on the pods it runs; nobody has to tell the runner."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from rich.console import Console

from rollout.announce import announcer
from rollout.config.schema import Settings
from rollout.core.events import event_from_json
from rollout.kube.probes import ProbePods
from rollout.notify.render import smoke_text
from rollout.notify.slack import rollout_blocks, thread_text
from rollout.server.dashboard.detail import _smoke as dashboard_smoke
from rollout.smoke.results import to_json, to_junit, to_markdown, to_table
from rollout.smoke.runner import run_smoke_suite
from rollout.smoke.suite import stage_result
from rollout.store.records import RolloutRecord
from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import FakeNode
from tests.integration.smoke.conftest import World, create_pod, options, plan_of, policy_table

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., FakeNode]


def test_results_on_the_simulated_node_say_simulated_everywhere(
    apiserver: ApiServer, world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    table = policy_table(world, [(world.web, {"app": "web"}, world.api, {"app": "api"}, 8080)])
    fake_node_factory(table, namespaces=world.namespaces)
    tests = [
        {
            "name": "web-to-api",
            "from": {"namespace": world.web, "labels": {"app": "web"}},
            "to": {"namespace": world.api, "labels": {"app": "api"}},
            "port": 8080,
            "expect": "allow",
        }
    ]

    # The runner is not told where it runs (RunOptions.node stays ""): the pods say it.
    report = run_smoke_suite(plan_of(world, tests, dns_check=False), probe_pods, options(world))

    assert report.passed, report.summary()
    assert report.node == "simulated"
    assert report.summary().endswith("(node: simulated)")
    console = Console(file=io.StringIO(), width=200)
    console.print(to_table(report))
    assert "(node: simulated)" in console.file.getvalue()  # type: ignore[attr-defined]
    assert json.loads(to_json(report))["node"] == "simulated"
    assert '<property name="node" value="simulated" />' in to_junit(report)
    assert "(node: simulated)" in to_markdown(report)

    # What the engine stores, and what notifications and the dashboard make of it.
    entry = {"ok": True, **_stage(report)}
    now = datetime.now(UTC)
    record = RolloutRecord(
        "r-1", "staging", "a" * 40, None, "Bob", "bob@example.com", "m", "staging_verified",
        None, None, now, now, smoke={"staging": entry},
    )  # fmt: skip
    [item] = announcer(_settings(), lambda: now)(record, "smoke.passed", {})
    assert item.payload["smoke"]["node"] == "simulated"
    event = event_from_json(item.payload)
    assert smoke_text(event) == "2 passed, 0 failed (node: simulated)"  # and the canary
    assert "(node: simulated)" in thread_text(event)
    assert "(node: simulated)" in json.dumps(
        [b.to_dict() for b in rollout_blocks(event, buttons=False)]
    )
    page = dashboard_smoke({"staging": entry})
    assert "(node: simulated)" in page and "node: simulated: simulated; the policy engine" in page


def _stage(report: object) -> dict[str, object]:
    result = stage_result(report)  # type: ignore[arg-type]
    return {"summary": result.summary, "report": result.details}


def _settings() -> Settings:
    return Settings.model_validate(
        {
            "repository": {"path": "/tmp/policies"},
            "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
            "environments": [{"name": "staging", "namespaces": ["apps"], "overlay": "staging"}],
            "notifications": {
                "webhooks": [
                    {"name": "hook", "url": "http://127.0.0.1:9/h", "secret": {"env": "UNUSED"}}
                ],
            },
        }
    )
