"""Approval rules end to end through the HTTP API (bearer tokens)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from rollout.core.approvals import OpenedConnection
from tests.integration.approvals.conftest import Service

pytestmark = pytest.mark.integration


def call(
    service: Service, member: str, path: str, body: dict[str, Any] | None = None
) -> requests.Response:
    token = service.token(member)
    return requests.post(
        f"{service.url}/api/v1{path}",
        json=body or {},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_self_approval_is_refused(service: Service) -> None:
    rollout = service.rollout(author="Dave D", email="dave@example.com")
    response = call(service, "dave", f"/rollouts/{rollout.id}/approve")
    assert response.status_code == 403
    assert response.json()["error"] == "dave authored this change and cannot approve it"
    assert service.store.approvals_for(rollout.id, "production") == []


def approve_at_once(service: Service, rollout_id: str, members: list[str]) -> list[bool]:
    """Each member approves from its own thread, released together; quorum flags."""
    tokens = {m: service.token(m) for m in members}
    barrier = threading.Barrier(len(members))
    results: dict[str, dict[str, Any]] = {}

    def approve(member: str) -> None:
        barrier.wait()
        response = requests.post(
            f"{service.url}/api/v1/rollouts/{rollout_id}/approve",
            headers={"Authorization": f"Bearer {tokens[member]}"},
            timeout=10,
        )
        results[member] = response.json()

    threads = [threading.Thread(target=approve, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(r["quorum_reached"] for r in results.values())


@pytest.mark.parametrize("attempt", range(5))
def test_quorum_is_reached_exactly_once_when_two_approvals_race(
    service: Service, attempt: int
) -> None:
    rollout = service.rollout(sha=f"{attempt:040d}")
    assert approve_at_once(service, rollout.id, ["alice", "bob"]) == [False, True]
    assert service.state(rollout.id) == "approved"
    moved = [
        e
        for e in service.store.events(rollout_id=rollout.id, kinds=["state.changed"])
        if e.details["to"] == "approved"
    ]
    assert len(moved) == 1


def test_expired_approval_no_longer_counts(service: Service) -> None:
    rollout = service.rollout()
    assert call(service, "alice", f"/rollouts/{rollout.id}/approve").ok
    service.clock.advance(hours=1, seconds=1)
    answer = call(service, "bob", f"/rollouts/{rollout.id}/approve").json()
    assert answer["quorum_reached"] is False
    assert answer["approval"]["expired"] == ["alice"]
    assert answer["approval"]["approvers"] == ["bob"]
    assert service.state(rollout.id) == "awaiting_approval"


def test_newer_commit_supersedes_and_approvals_do_not_carry_over(service: Service) -> None:
    old = service.rollout("1" * 40)
    assert call(service, "alice", f"/rollouts/{old.id}/approve").ok
    new = service.rollout("2" * 40)
    # What the engine does when it sees the newer commit.
    assert service.store.transition(
        old.id,
        ["awaiting_approval"],
        "superseded",
        actor="system",
        channel="system",
        superseded_by=new.id,
    )
    refused = call(service, "bob", f"/rollouts/{old.id}/approve")
    assert refused.status_code == 409  # the state, not the member, is in the way
    assert f"superseded by {new.id}" in refused.json()["error"]
    fresh = call(service, "bob", f"/rollouts/{new.id}/approve").json()
    assert fresh["approval"]["approvers"] == ["bob"]
    assert service.state(new.id) == "awaiting_approval"


def test_reject_ends_the_rollout_and_needs_a_reason(service: Service) -> None:
    rollout = service.rollout()
    assert (
        call(service, "bob", f"/rollouts/{rollout.id}/reject", {"reason": " "}).status_code == 403
    )
    response = call(service, "bob", f"/rollouts/{rollout.id}/reject", {"reason": "wrong port"})
    assert response.ok, response.text
    assert service.state(rollout.id) == "rejected"
    late = call(service, "alice", f"/rollouts/{rollout.id}/approve")
    assert late.status_code == 409 and "not awaiting approval" in late.json()["error"]
    again = call(service, "alice", f"/rollouts/{rollout.id}/reject", {"reason": "also no"})
    assert again.status_code == 409
    assert again.json()["error"] == f"{rollout.id} cannot be rejected: it is rejected"
    # Refused requests leave only their audit events.
    assert [a.member for a in service.store.approvals_for(rollout.id, "production")] == ["bob"]
    refused = service.store.events(rollout_id=rollout.id, kinds=["approval.refused"])
    assert [e.details["action"] for e in refused] == ["reject", "approve", "reject"]


def test_second_approval_after_quorum_is_a_conflict_but_identity_refusals_stay_403(
    service: Service,
) -> None:
    rollout = service.rollout()
    assert call(service, "alice", f"/rollouts/{rollout.id}/approve").ok
    assert call(service, "bob", f"/rollouts/{rollout.id}/approve").json()["quorum_reached"]
    late = call(service, "sec", f"/rollouts/{rollout.id}/approve")
    assert late.status_code == 409
    assert late.json()["error"] == (
        f"{rollout.id} is not awaiting approval: it is already approved (approved by alice, bob)"
    )
    assert call(service, "dave", f"/rollouts/{rollout.id}/approve").status_code == 409
    fresh = service.rollout("9" * 40)
    assert call(service, "dave", f"/rollouts/{fresh.id}/approve").status_code == 403  # author
    assert call(service, "sec", f"/rollouts/{fresh.id}/approve").status_code == 403  # not allowed
    done = service.rollout("8" * 40)
    service.store.transition(done.id, ["awaiting_approval"], "done", actor="x", channel="system")
    glass = call(service, "olga", f"/rollouts/{done.id}/break-glass", {"reason": "outage"})
    assert glass.status_code == 409


def test_hold_and_resume_are_recorded(service: Service) -> None:
    assert call(service, "alice", "/environments/production/hold", {"reason": "incident"}).ok
    hold = service.store.hold_of("production")
    assert hold is not None and hold.held and hold.reason == "incident"
    assert call(service, "alice", "/environments/production/resume").ok
    hold = service.store.hold_of("production")
    assert hold is not None and not hold.held
    kinds = [(e.kind, e.actor, e.channel) for e in service.store.events(environment="production")]
    assert kinds == [("hold", "alice", "api"), ("release", "alice", "api")]
    assert call(service, "sec", "/environments/production/hold").status_code == 403


def test_security_group_is_required_when_sensitive_ingress_opens(service: Service) -> None:
    opened = OpenedConnection(
        from_namespace="shop",
        from_name="web",
        to_namespace="payments",
        to_name="ledger",
        to_namespace_labels={"data": "sensitive"},
        cross_namespace=True,
        port="5432",
        policies=("allow-web-to-ledger",),
    )
    rollout = service.rollout(opened=[opened])
    call(service, "alice", f"/rollouts/{rollout.id}/approve")
    answer = call(service, "bob", f"/rollouts/{rollout.id}/approve").json()
    assert answer["quorum_reached"] is False
    assert answer["approval"]["missing_groups"] == {"security": 1}
    assert answer["approval"]["who_can_approve"] == ["sec"]
    assert any(
        "risk rule 'sensitive-ingress'" in r and "shop/web -> payments/ledger TCP 5432" in r
        for r in answer["approval"]["reasons"]
    )
    final = call(service, "sec", f"/rollouts/{rollout.id}/approve").json()
    assert final["quorum_reached"] is True
    assert service.state(rollout.id) == "approved"


def test_break_glass_needs_its_group_and_a_reason_and_is_flagged(service: Service) -> None:
    rollout = service.rollout()
    path = f"/rollouts/{rollout.id}/break-glass"
    assert call(service, "alice", path, {"reason": "outage"}).status_code == 403
    assert call(service, "olga", path, {"reason": ""}).status_code == 403
    assert call(service, "olga", path, {"reason": "outage fix"}).ok
    (event,) = service.store.events(rollout_id=rollout.id, kinds=["window.break_glass"])
    assert event.actor == "olga" and event.details["break_glass"] is True


def test_status_shows_events_with_request_ids(service: Service) -> None:
    rollout = service.rollout()
    call(service, "alice", f"/rollouts/{rollout.id}/approve")
    token = service.token("bob")
    data = requests.get(
        f"{service.url}/api/v1/rollouts/{rollout.id}",
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "req-42"},
        timeout=10,
    ).json()
    assert data["approval"]["approvers"] == ["alice"]
    granted = [e for e in data["events"] if e["kind"] == "approval.granted"]
    assert granted[0]["actor"] == "alice" and granted[0]["request_id"].startswith("api-")
