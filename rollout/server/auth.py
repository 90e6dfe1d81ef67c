"""Who is asking: request signatures (Slack, GitHub) and member API tokens.

Each check either returns normally or raises `SignatureError` / `AuthError`
with a message safe to show the caller (never a secret, never the expected
signature). Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from rollout.core.approvals import VerifiedIdentity
from rollout.errors import AuthError, SignatureError

__all__ = [
    "SLACK_MAX_AGE_SECONDS",
    "TOKEN_PREFIX",
    "SlackVerifier",
    "TokenLookup",
    "VerifiedIdentity",
    "github_signature",
    "hash_token",
    "member_for_bearer",
    "new_token",
    "verify_github_signature",
]

SLACK_MAX_AGE_SECONDS = 5 * 60
TOKEN_PREFIX = "nrt_"


# --- Slack --------------------------------------------------------------------------


class SlackVerifier:
    """Slack's v0 request signature: HMAC-SHA256 over the body's bytes, constant-time.

    Computed here on bytes rather than with slack_sdk's SignatureVerifier,
    which decodes the body as UTF-8 first and so raised on any other bytes
    before comparing anything: an unauthenticated request must get a 401,
    never a 500. The tests check it against Slack's documented example.
    """

    def __init__(self, signing_secret: str, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._key = signing_secret.encode()

    def signature(self, timestamp: str, body: bytes) -> str:
        """`v0=<hex>` for `body` sent at `timestamp` (what Slack puts in X-Slack-Signature)."""
        base = b"v0:" + timestamp.encode() + b":" + body
        return "v0=" + hmac.new(self._key, base, hashlib.sha256).hexdigest()

    def verify(self, body: bytes, timestamp: str | None, signature: str | None) -> None:
        """Raise SignatureError for a missing, stale or wrong signature."""
        if not timestamp or not signature:
            raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
        try:
            sent = int(timestamp)
        except ValueError:
            raise SignatureError("X-Slack-Request-Timestamp is not a Unix time") from None
        if abs(self._clock().timestamp() - sent) > SLACK_MAX_AGE_SECONDS:
            raise SignatureError("stale request: timestamp is more than 5 minutes away")
        expected = self.signature(timestamp, body).encode()
        if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
            raise SignatureError("invalid Slack signature")


# --- GitHub -------------------------------------------------------------------------


def github_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: what GitHub sends in X-Hub-Signature-256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_github_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise SignatureError unless `header` is the HMAC-SHA256 of `body` with `secret`."""
    if not header:
        raise SignatureError("missing X-Hub-Signature-256")
    if not hmac.compare_digest(github_signature(secret, body).encode(), header.strip().encode()):
        raise SignatureError("invalid X-Hub-Signature-256")


# --- API tokens -----------------------------------------------------------------------


class TokenLookup(Protocol):
    def member_for_token_hash(self, token_hash: str) -> str | None: ...


def new_token() -> str:
    """A fresh random bearer token (shown once; only its hash is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The sha256 hex digest stored for a token.

    A fast hash is enough: tokens are 256 random bits, not guessable passwords.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def member_for_bearer(authorization: str | None, tokens: TokenLookup) -> str:
    """The member owning the `Authorization: Bearer ...` token; AuthError otherwise."""
    if not authorization:
        raise AuthError("missing Authorization: Bearer token (see `rollout token create`)")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("expected Authorization: Bearer <token>")
    member = tokens.member_for_token_hash(hash_token(token.strip()))
    if member is None:
        raise AuthError("unknown or revoked token")
    return member
