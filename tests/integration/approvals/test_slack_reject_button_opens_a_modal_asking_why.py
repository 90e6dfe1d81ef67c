"""The Slack Reject button against the real server: a modal asks why, its submission rejects.

Bot-token mode (`notifications.slack.bot_token`) opens the modal through a
stand-in for Slack's Web API, which checks `views.open` as Slack does;
incoming-webhook mode has no `views.open` and answers with the command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from rollout.server.slack_routes import REJECT_MODAL_ID
from tests.integration.approvals.conftest import Service, secret_file
from tests.standins.slack_api import OpenedView, SlackStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    standin = SlackStandIn()
    standin.start()
    yield standin
    standin.stop()
    assert standin.violations == []


@pytest.fixture
def slack_mode() -> str:
    return "bot"


@pytest.fixture
def notifications(slack_mode: str, slack_api: SlackStandIn, tmp_path: Path) -> dict[str, Any]:
    if slack_mode == "bot":
        slack = {
            "bot_token": secret_file(tmp_path, "slack-bot", slack_api.token),
            "channel": slack_api.channel_id,
            "api_url": slack_api.api_url,
        }
    else:
        slack = {"webhook_url": secret_file(tmp_path, "slack-hook", slack_api.webhook_url)}
    return {"slack": slack}


def post_payload(service: Service, payload: dict[str, Any]) -> requests.Response:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return service.post_slack("/slack/interactions", body, service.slack_headers(body))


def click_reject(service: Service, user: str, rollout_id: str, trigger: str) -> requests.Response:
    return post_payload(
        service,
        {
            "type": "block_actions",
            "user": {"id": user},
            "trigger_id": trigger,
            "response_url": f"{service.hooks.origin}/actions/1",
            "actions": [{"action_id": "rollout_reject", "value": rollout_id}],
        },
    )


def wait_for_view(slack_api: SlackStandIn, count: int = 1, timeout: float = 5.0) -> OpenedView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(slack_api.views) < count:
        time.sleep(0.02)
    assert len(slack_api.views) == count, slack_api.requests
    return slack_api.views[-1]


def submit(
    service: Service, user: str, opened: OpenedView, reason: str | None, *, trigger: str
) -> requests.Response:
    """What Slack sends when `user` presses Reject in the modal it opened."""
    view = {
        **opened.view,
        "id": opened.id,
        "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
        "hash": "1767225600.abcdef",
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T0000TEST"},
        "user": {"id": user, "username": user.lower()},
        "api_app_id": "A0NETPOL",
        "trigger_id": trigger,
        "view": view,
        "response_urls": [],
    }
    return post_payload(service, payload)


def test_reject_click_opens_a_modal_with_slack_and_changes_nothing(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    response = click_reject(service, "UBOB", rollout.id, "trig-reject-1")
    assert response.status_code == 200
    assert response.content == b""  # acknowledged at once; the modal opens after
    opened = wait_for_view(slack_api)
    assert opened.trigger_id == "trig-reject-1"
    assert opened.view["callback_id"] == REJECT_MODAL_ID
    assert opened.view["private_metadata"] == rollout.id
    (reason_block,) = [b for b in opened.view["blocks"] if b["type"] == "input"]
    assert reason_block["element"]["type"] == "plain_text_input"
    assert reason_block.get("optional", False) is False
    (call,) = slack_api.calls("views.open")
    assert call.header("Authorization") == f"Bearer {slack_api.token}"
    assert service.state(rollout.id) == "awaiting_approval"
    assert service.store.approvals_for(rollout.id, "production") == []
    assert service.hooks.requests == []


def test_modal_submission_rejects_with_the_reason(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    click_reject(service, "UBOB", rollout.id, "trig-reject-2")
    opened = wait_for_view(slack_api)
    response = submit(service, "UBOB", opened, "opens the ledger to the web tier", trigger="t-s1")
    assert response.status_code == 200
    assert response.content == b""  # an empty 200 closes the modal
    record = service.store.get_rollout(rollout.id)
    assert record is not None
    assert (record.state, record.reason) == ("rejected", "opens the ledger to the web tier")
    (event,) = service.store.events(rollout_id=rollout.id, kinds=["approval.rejected"])
    assert (event.actor, event.channel, event.request_id) == ("bob", "slack", "t-s1")
    (decision,) = service.store.approvals_for(rollout.id, "production")
    assert (decision.member, decision.decision, decision.reason) == (
        "bob",
        "reject",
        "opens the ledger to the web tier",
    )


def test_refused_submission_keeps_the_modal_open_and_changes_nothing(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    click_reject(service, "USEC", rollout.id, "trig-reject-3")
    opened = wait_for_view(slack_api)
    response = submit(service, "USEC", opened, "not on my watch", trigger="t-s2")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "sec may not approve this environment" in answer["errors"]["reason"]
    assert service.state(rollout.id) == "awaiting_approval"
    assert service.store.approvals_for(rollout.id, "production") == []
    (refused,) = service.store.events(rollout_id=rollout.id, kinds=["approval.refused"])
    assert (refused.actor, refused.channel, refused.details["action"]) == ("sec", "slack", "reject")


def test_submission_after_the_rollout_moved_on_is_refused_in_the_modal(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    click_reject(service, "UBOB", rollout.id, "trig-reject-4")
    opened = wait_for_view(slack_api)
    service.store.transition(
        rollout.id, ["awaiting_approval"], "superseded", actor="system", channel="system"
    )
    answer = submit(service, "UBOB", opened, "too late", trigger="t-s3").json()
    assert answer["response_action"] == "errors"
    assert "cannot be rejected: it is superseded" in answer["errors"]["reason"]
    assert service.store.approvals_for(rollout.id, "production") == []
    assert service.state(rollout.id) == "superseded"


def test_blank_reason_and_strangers_are_refused_in_the_modal(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    click_reject(service, "UBOB", rollout.id, "trig-reject-5")
    opened = wait_for_view(slack_api)
    blank = submit(service, "UBOB", opened, "   ", trigger="t-s4").json()
    assert "a rejection needs a reason" in blank["errors"]["reason"]
    stranger = submit(service, "UMALLORY", opened, "because", trigger="t-s5").json()
    assert "not on the netpol-rollout team roster" in stranger["errors"]["reason"]
    assert service.state(rollout.id) == "awaiting_approval"
    assert service.store.approvals_for(rollout.id, "production") == []
    refused = service.store.events(kinds=["approval.refused"])
    assert {e.actor for e in refused} == {"bob", "slack:UMALLORY"}


def test_replayed_submission_is_refused(service: Service, slack_api: SlackStandIn) -> None:
    rollout = service.rollout()
    click_reject(service, "UBOB", rollout.id, "trig-reject-6")
    opened = wait_for_view(slack_api)
    view = {**opened.view, "id": opened.id}
    view["state"] = {"values": {"reason": {"reason": {"type": "plain_text_input", "value": "x"}}}}
    body = urlencode(
        {"payload": json.dumps({"type": "view_submission", "user": {"id": "UBOB"}, "view": view})}
    ).encode()
    headers = service.slack_headers(body)
    assert service.post_slack("/slack/interactions", body, headers).status_code == 200
    replay = service.post_slack("/slack/interactions", body, headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["error"]
    assert len(service.store.approvals_for(rollout.id, "production")) == 1


def test_click_on_a_finished_rollout_opens_no_modal(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    service.store.transition(
        rollout.id, ["awaiting_approval"], "rejected", actor="alice", channel="cli"
    )
    answer = click_reject(service, "UBOB", rollout.id, "trig-reject-7").json()
    assert answer["response_type"] == "ephemeral"
    assert "cannot be rejected: it is rejected" in answer["text"]
    time.sleep(0.2)
    assert slack_api.views == []


def test_expired_trigger_falls_back_to_the_command_to_type(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    slack_api.expired_triggers.add("trig-too-late")
    assert click_reject(service, "UBOB", rollout.id, "trig-too-late").status_code == 200
    (reply,) = service.hooks.wait_for(1)
    assert reply["response_type"] == "ephemeral"
    assert f"/rollout reject {rollout.id} REASON" in reply["text"]
    assert slack_api.views == []
    assert service.state(rollout.id) == "awaiting_approval"


@pytest.mark.parametrize("slack_mode", ["webhook"])
def test_webhook_mode_answers_with_the_command_to_type(
    service: Service, slack_api: SlackStandIn
) -> None:
    rollout = service.rollout()
    answer = click_reject(service, "UBOB", rollout.id, "trig-reject-8").json()
    assert f"/rollout reject {rollout.id} REASON" in answer["text"]
    time.sleep(0.2)
    assert slack_api.calls("views.open") == []
    assert service.state(rollout.id) == "awaiting_approval"
