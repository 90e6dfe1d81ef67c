"""What `rollout demo` prints, from recorded records, at 80 and 100 columns: each fact once
in words (no reprs, hashes or payload dumps without -v), ports as `TCP 9090`, the bad
commit explained, and one rollout's notifications never mixed with another's."""

from __future__ import annotations

import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from rollout.demo.receiver import Delivery, of_rollout
from rollout.demo.scenario import BAD, GOOD
from rollout.demo.view import DemoView, Failure
from rollout.store.records import StageEvent

AT = datetime(2026, 12, 3, 18, 33, tzinfo=UTC)
GOOD_SHA, BAD_SHA = (
    "e8be121d7b1f9c9f1ca3d96d61d5c6174e7ce92e",
    "4b4f5471ddd0075fefb49621395976bc4705cfc0",
)
DIFF = {
    "opened": [
        {
            "from": "frontend/web-0",
            "to": "backend/api-0",
            "port": 9090,
            "end_port": 9090,
            "ports": "9090",
            "protocol": "TCP",
            "policies": [
                "NetworkPolicy/backend/allow-frontend-metrics-ingress",
                "NetworkPolicy/frontend/allow-frontend-metrics-egress",
            ],
        }
    ],
    "closed": [],
}
LINT = {
    "findings": [
        {
            "id": "NP008",
            "severity": "warning",
            "object": "NetworkPolicy/backend/allow-frontend-metrics-ingress",
            "message": "port 9090/TCP is exposed by no container of the pods it applies to",
        }
    ]
}


def check(name: str, source: str, target: str, port: int, ok: bool) -> dict[str, Any]:
    return {
        "name": name,
        "outcome": "passed" if ok else "failed",
        "source": source,
        "target": target,
        "port": port,
        "protocol": "TCP",
        "expect": "allow",
        "observed": "connected" if ok else "blocked",
        "message": "connected" if ok else "blocked: no connection within 3s (3 attempts)",
    }


FAILED_SMOKE = {
    "ok": False,
    "summary": "smoke tests FAILED in staging: 1 passed, 2 failed, 0 errors",
    "report": {
        "results": [
            check("frontend-to-api", "frontend/app=frontend", "backend/app=backend", 8080, False),
            check("api-to-database", "backend/app=backend", "database/app=database", 5432, False),
            check("dns frontend", "frontend/*", "dns:kubernetes.default", 53, True),
        ]
    },
}


def event(kind: str, env: str, seconds: int, **details: Any) -> StageEvent:
    actor = details.pop("actor", "netpol-rollout")
    channel = details.pop("channel", "system")
    return StageEvent(
        1, "r-1", env, kind, actor, channel, None, details, AT + timedelta(seconds=seconds)
    )


EVENTS = [
    event(
        "rollout.created", "staging", 0, state="detected", commit_sha=BAD_SHA, previous_sha=GOOD_SHA
    ),
    event(
        "state.changed",
        "staging",
        2,
        **{
            "from": "detected",
            "to": "validated",
            "reason": None,
            "summary": "14 object(s) valid for staging",
            "content_hash": "87a40d62efede9" + "0" * 50,
        },
    ),
    event(
        "approval.granted",
        "production",
        3,
        commit_sha=GOOD_SHA,
        actor="demo-approver",
        channel="api",
    ),
    event("rollback", "staging", 20, to=GOOD_SHA, ok=True, summary="staging applied"),
    event(
        "state.changed",
        "staging",
        21,
        **{
            "from": "staging_applied",
            "to": "staging_failed",
            "reason": FAILED_SMOKE["summary"],
            "approvers": ["a"],
        },
    ),
]


def delivery(rollout_id: str, kind: str, reason: str | None = None) -> Delivery:
    payload = {
        "type": kind,
        "environment": "staging",
        "reason": reason,
        "actor": None,
        "rollout": {"id": rollout_id, "environment": "staging", "url": None},
        "schema_version": 1,
    }
    return Delivery(kind, f"{rollout_id}:{kind}", True, payload)


def story(width: int, *, verbose: bool = False) -> str:
    out = io.StringIO()
    view = DemoView(Console(file=out, width=width, no_color=True, highlight=False), verbose=verbose)
    view.scenario(1, GOOD)
    view.pushed(GOOD_SHA, GOOD.message, "Dana Developer")
    view.diff("production", DIFF, LINT)
    view.smoke("staging", {"ok": True, "report": {"results": [check("a", "x", "y", 1, True)]}})
    view.approval(
        approver="demo-approver",
        url="http://127.0.0.1:5000/api/v1/rollouts/r-1/approve",
        token="nrt_7t5Dabcdefghijklmnop",
        status=200,
        body={"message": "r-1 is approved for production (approved by demo-approver)"},
    )
    view.scenario(2, BAD)
    view.smoke("staging", FAILED_SMOKE)
    view.failure(
        Failure(
            changed=[
                "k8s/network-policies/staging/staging-allow-cross-namespace.yaml",
                "- values: [frontend, backend, database]",
                "+ values: [frontend, backnd, database]",
            ],
            smoke=FAILED_SMOKE,
            rolled_back_to=GOOD_SHA,
        )
    )
    view.webhooks(
        [delivery("r-2", "rollout.detected"), delivery("r-2", "smoke.failed", "2 failed")],
        "demo-receiver",
    )
    view.audit(EVENTS)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 100])
def test_every_line_fits_and_wrapped_statements_stay_indented(width: int) -> None:
    lines = story(width).splitlines()
    assert all(len(line) <= width for line in lines)
    lone = [i for i, line in enumerate(lines) if len(line.split()) == 1 and "─" not in line]
    assert not any(b == a + 1 for a, b in itertools.pairwise(lone)), (
        "one word per line:\n" + "\n".join(lines)
    )
    assert len(lines) <= 60


@pytest.mark.parametrize("width", [80, 100])
def test_no_reprs_hashes_or_payload_dumps(width: int) -> None:
    text = story(width)
    for wrong in ("None", "reason=", "content_hash", "['", "{'", "TCP/", '"schema_version"'):
        assert wrong not in text, wrong
    assert not re.search(r"\b[0-9a-f]{40}\b", text), "full commit shas or content hashes"
    assert "+ frontend/web-0 → backend/api-0  TCP 9090" in text
    assert "because of backend/allow-frontend-metrics-ingress" in text


def test_payloads_only_with_verbose() -> None:
    assert '"schema_version": 1' in story(100, verbose=True)
    assert story(100, verbose=True).count('"schema_version"') == 1


def test_the_bad_commit_is_explained() -> None:
    text = " ".join(story(100).split())
    assert "why it failed" in text
    assert "- values: [frontend, backend, database]" in text
    assert "that is, backend became backnd" in text
    assert "smoke checks above found those flows blocked: frontend-to-api, api-to-database" in text
    assert "✗ frontend-to-api: expected allow, observed blocked" in text
    assert "staging was rolled back to e8be121d7b1f" in text


def test_a_rollouts_notifications_are_its_own() -> None:
    late = delivery("r-1", "production.verified")
    own = [delivery("r-2", "rollout.detected"), delivery("r-2", "smoke.failed")]
    assert of_rollout([late, *own], "r-2") == own
