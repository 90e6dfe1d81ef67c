"""Slack endpoints under hostile input: unauthenticated -> 401, signed but malformed -> 400.

Never a 500, never a traceback in the log, never internal details in the answer.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from tests.integration.approvals.conftest import Service

pytestmark = pytest.mark.integration

NOT_UTF8 = b"user_id=UALICE&text=approve\xff\xfe\x80"


@pytest.fixture
def max_body_bytes() -> int:
    return 1 << 20  # room for 50,000 nested arrays


@pytest.mark.parametrize("path", ["/slack/commands", "/slack/interactions"])
def test_body_that_is_not_utf8_with_a_forged_signature_gets_401(
    service: Service, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = service.slack_headers(b"something else")
    with caplog.at_level(logging.ERROR):
        response = service.post_slack(path, NOT_UTF8, headers)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid Slack signature"}
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("path", ["/slack/commands", "/slack/interactions"])
def test_signed_body_that_is_not_utf8_gets_400(service: Service, path: str) -> None:
    response = service.post_slack(path, NOT_UTF8, service.slack_headers(NOT_UTF8))
    assert response.status_code == 400
    assert "UTF-8" in response.json()["error"]


def _interaction(payload_text: str) -> bytes:
    return urlencode({"payload": payload_text}).encode()


@pytest.mark.parametrize(
    "payload_text",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"user": {"id": "UALICE"}, "actions": NaN}',
        '{"user": {"id": "UALICE"}, "actions": [{"action_id": 5, "value": {"a": 1}}]}',
        '{"user": "UALICE", "actions": []}',
        '{"user": {"id": ["UALICE"]}, "type": "block_actions"}',
        '{"type": "view_submission", "user": {"id": "UBOB"}, "view": 7}',
        '{"type": "view_submission", "user": {"id": "UBOB"}, '
        '"view": {"callback_id": "rollout_reject_modal", "private_metadata": [1], '
        '"state": {"values": {"reason": {"reason": {"value": {"x": 1}}}}}}}',
        "1e999999",
        '"just a string"',
    ],
    ids=[
        "50k-nested-arrays",
        "nan",
        "wrong-action-types",
        "user-not-object",
        "user-id-list",
        "view-not-object",
        "view-wrong-types",
        "huge-number",
        "string",
    ],
)
def test_signed_malformed_interaction_payload_gets_400_with_a_short_reason(
    service: Service, payload_text: str, caplog: pytest.LogCaptureFixture
) -> None:
    rollout = service.rollout()
    body = _interaction(payload_text)
    with caplog.at_level(logging.ERROR):
        response = service.post_slack("/slack/interactions", body, service.slack_headers(body))
    assert response.status_code == 400, response.text
    answer = response.json()
    assert len(answer["text"]) < 200
    assert "sqlite" not in response.text and "Traceback" not in response.text
    assert not [r for r in caplog.records if r.exc_info]
    assert service.store.approvals_for(rollout.id, "production") == []


def test_command_with_repeated_and_odd_fields_is_still_answered(service: Service) -> None:
    body = b"user_id=UBOB&user_id=UALICE&text=status&text=&response_url=%ff"
    response = service.post_slack("/slack/commands", body, service.slack_headers(body))
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"


def test_interaction_payload_missing_is_400(service: Service) -> None:
    body = b"nothing=here"
    response = service.post_slack("/slack/interactions", body, service.slack_headers(body))
    assert response.status_code == 400
    assert json.loads(response.text)["response_type"] == "ephemeral"


def test_signed_form_with_thousands_of_fields_gets_400(service: Service) -> None:
    body = b"&".join(b"f%d=x" % i for i in range(2000))
    response = service.post_slack("/slack/commands", body, service.slack_headers(body))
    assert response.status_code == 400
    assert "form fields" in response.json()["error"]
