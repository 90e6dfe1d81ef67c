"""Slack slash command and buttons against the real server: signatures, replay, users."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.integration.approvals.conftest import Service

pytestmark = pytest.mark.integration


def test_valid_command_is_acknowledged_then_answered_through_response_url(
    service: Service,
) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command("UALICE", f"approve {rollout.id}")
    response = service.post_slack("/slack/commands", body, headers)
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    (reply,) = service.hooks.wait_for(1)
    assert "alice approved" in reply["text"]
    assert "waiting for 1 more approval" in reply["text"]
    events = service.store.events(rollout_id=rollout.id, kinds=["approval.granted"])
    assert [(e.actor, e.channel) for e in events] == [("alice", "slack")]
    assert events[0].request_id is not None and events[0].request_id.startswith("trig-")


def test_approve_button_counts_like_the_command(service: Service) -> None:
    rollout = service.rollout()
    payload = {
        "type": "block_actions",
        "user": {"id": "UBOB"},
        "trigger_id": "trig-button-1",
        "response_url": f"{service.hooks.origin}/actions/1",
        "actions": [{"action_id": "rollout_approve", "value": rollout.id}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = service.post_slack("/slack/interactions", body, service.slack_headers(body))
    assert response.status_code == 200
    (reply,) = service.hooks.wait_for(1)
    assert "bob approved" in reply["text"]
    assert [a.member for a in service.store.approvals_for(rollout.id, "production")] == ["bob"]


def test_reject_button_asks_for_a_reason_and_changes_nothing(service: Service) -> None:
    rollout = service.rollout()
    payload = {
        "type": "block_actions",
        "user": {"id": "UBOB"},
        "response_url": f"{service.hooks.origin}/actions/1",
        "actions": [{"action_id": "rollout_reject", "value": rollout.id}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = service.post_slack("/slack/interactions", body, service.slack_headers(body))
    assert "reject " + rollout.id + " REASON" in response.json()["text"]
    assert service.state(rollout.id) == "awaiting_approval"


def test_forged_signature_is_refused(service: Service) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command("UALICE", f"approve {rollout.id}")
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = service.post_slack("/slack/commands", body, headers)
    assert response.status_code == 401
    assert "invalid Slack signature" in response.json()["error"]
    assert service.store.approvals_for(rollout.id, "production") == []


def test_body_changed_after_signing_is_refused(service: Service) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command("UALICE", f"approve {rollout.id}")
    response = service.post_slack("/slack/commands", body.replace(b"UALICE", b"UBOB"), headers)
    assert response.status_code == 401


def test_stale_timestamp_is_refused_even_when_correctly_signed(service: Service) -> None:
    rollout = service.rollout()
    body = urlencode({"user_id": "UALICE", "text": f"approve {rollout.id}"}).encode()
    stale = int(service.clock().timestamp()) - 301
    response = service.post_slack(
        "/slack/commands", body, service.slack_headers(body, timestamp=stale)
    )
    assert response.status_code == 401
    assert "stale" in response.json()["error"]
    assert service.store.approvals_for(rollout.id, "production") == []


def test_replayed_request_is_refused(service: Service) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command("UALICE", "hold production")
    assert service.post_slack("/slack/commands", body, headers).status_code == 200
    service.hooks.wait_for(1)
    service.store.set_hold("production", False, "bob", channel="system")
    replay = service.post_slack("/slack/commands", body, headers)
    assert replay.status_code == 401
    assert "replayed" in replay.json()["error"]
    hold = service.store.hold_of("production")
    assert hold is not None and not hold.held
    assert len(service.hooks.requests) == 1
    assert service.state(rollout.id) == "awaiting_approval"


def test_unknown_user_gets_an_ephemeral_answer_and_nothing_changes(service: Service) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command("UMALLORY", f"approve {rollout.id}")
    response = service.post_slack("/slack/commands", body, headers)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert "not on the netpol-rollout team roster" in answer["text"]
    assert service.store.approvals_for(rollout.id, "production") == []
    assert service.hooks.requests == []


def test_refusal_is_posted_back_and_audited(service: Service) -> None:
    rollout = service.rollout()  # dave authored it
    body, headers = service.slack_command("UDAVE", f"approve {rollout.id}")
    service.post_slack("/slack/commands", body, headers)
    (reply,) = service.hooks.wait_for(1)
    assert reply["response_type"] == "ephemeral"
    assert "dave authored this change and cannot approve it" in reply["text"]
    refused = service.store.events(rollout_id=rollout.id, kinds=["approval.refused"])
    assert [(e.actor, e.channel) for e in refused] == [("dave", "slack")]


def test_response_url_outside_slack_is_never_called(service: Service) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command(
        "UALICE", f"approve {rollout.id}", response_url="http://169.254.169.254/latest"
    )
    response = service.post_slack("/slack/commands", body, headers)
    assert response.status_code == 400
    assert service.store.approvals_for(rollout.id, "production") == []


@pytest.mark.parametrize(
    "tail", [".evil.example/x", "@evil.example/x", "0/x"], ids=["host", "userinfo", "port"]
)
def test_response_url_is_compared_parsed_not_as_a_prefix(service: Service, tail: str) -> None:
    """The configured prefix has no trailing slash: text that merely starts with it
    (another host, a user name before another host, another port) is refused."""
    rollout = service.rollout()
    body, headers = service.slack_command(
        "UALICE", f"approve {rollout.id}", response_url=service.hooks.origin + tail
    )
    response = service.post_slack("/slack/commands", body, headers)
    assert response.status_code == 400
    assert service.store.approvals_for(rollout.id, "production") == []


def test_status_and_help_answer_at_once(service: Service) -> None:
    rollout = service.rollout()
    body, headers = service.slack_command("UBOB", "status")
    text = service.post_slack("/slack/commands", body, headers).json()["text"]
    assert rollout.id in text and "waiting for 2 more approvals" in text
    body, headers = service.slack_command("UBOB", "")
    assert (
        "/rollout approve ID" in service.post_slack("/slack/commands", body, headers).json()["text"]
    )


def test_acknowledgement_does_not_wait_for_the_reply(service: Service) -> None:
    rollout = service.rollout()
    service.hooks.delays["/commands/T1/1/x"] = 3.5  # a slow response_url
    body, headers = service.slack_command("UALICE", f"approve {rollout.id}")
    started = time.monotonic()
    response = service.post_slack("/slack/commands", body, headers)
    assert response.status_code == 200
    assert time.monotonic() - started < 3
    (reply,) = service.hooks.wait_for(1)
    assert "alice approved" in reply["text"]
