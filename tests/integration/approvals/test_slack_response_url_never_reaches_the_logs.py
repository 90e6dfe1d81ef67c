"""slack_sdk logs the request URL at DEBUG; a `response_url` is a capability: never logged."""

from __future__ import annotations

import logging

import pytest

from rollout.server.slack_routes import post_to_response_url
from tests.integration.approvals.conftest import ResponseUrlStandIn

pytestmark = pytest.mark.integration


def test_posting_to_response_url_at_debug_logs_no_url(
    slack_hooks: ResponseUrlStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{slack_hooks.origin}/commands/T1/1/capability-in-the-path"
    with caplog.at_level(logging.DEBUG):
        post_to_response_url(url, {"text": "approved"})
    assert len(slack_hooks.requests) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "capability-in-the-path" not in logged
