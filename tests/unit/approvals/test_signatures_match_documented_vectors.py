"""Slack's and GitHub's documented signature examples, and our refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollout.errors import AuthError, SignatureError
from rollout.server.auth import (
    SlackVerifier,
    github_signature,
    hash_token,
    member_for_bearer,
    verify_github_signature,
)

# https://docs.slack.dev/authentication/verifying-requests-from-slack/
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def verifier_at(seconds: int) -> SlackVerifier:
    return SlackVerifier(SLACK_SECRET, lambda: datetime.fromtimestamp(seconds, UTC))


def test_slack_documented_example() -> None:
    verifier = verifier_at(int(SLACK_TS) + 10)
    assert verifier.signature(SLACK_TS, SLACK_BODY) == SLACK_SIGNATURE
    verifier.verify(SLACK_BODY, SLACK_TS, SLACK_SIGNATURE)


@pytest.mark.parametrize(
    ("timestamp", "signature", "message"),
    [
        (SLACK_TS, "v0=" + "0" * 64, "invalid Slack signature"),
        (SLACK_TS, None, "missing"),
        ("soon", SLACK_SIGNATURE, "not a Unix time"),
        (str(int(SLACK_TS) - 301), SLACK_SIGNATURE, "stale"),
    ],
)
def test_slack_refusals(timestamp: str, signature: str | None, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verifier_at(int(SLACK_TS)).verify(SLACK_BODY, timestamp, signature)


def test_slack_example_is_stale_today() -> None:
    with pytest.raises(SignatureError, match="stale"):
        verifier_at(int(SLACK_TS) + 301).verify(SLACK_BODY, SLACK_TS, SLACK_SIGNATURE)


def test_github_documented_example() -> None:
    assert github_signature(GITHUB_SECRET, b"Hello, World!") == GITHUB_SIGNATURE
    verify_github_signature(GITHUB_SECRET, b"Hello, World!", GITHUB_SIGNATURE)


@pytest.mark.parametrize("header", [None, "", GITHUB_SIGNATURE[:-1] + "0", "sha1=abc"])
def test_github_refusals(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_github_signature(GITHUB_SECRET, b"Hello, World!", header)


class Tokens:
    def member_for_token_hash(self, token_hash: str) -> str | None:
        return "alice" if token_hash == hash_token("good") else None


@pytest.mark.parametrize("header", [None, "Basic good", "Bearer ", "Bearer bad"])
def test_bearer_refusals(header: str | None) -> None:
    with pytest.raises(AuthError):
        member_for_bearer(header, Tokens())


def test_bearer_accepted() -> None:
    assert member_for_bearer("Bearer good", Tokens()) == "alice"
    assert len(hash_token("good")) == 64
