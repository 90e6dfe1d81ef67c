"""Who is looking: sign-in with a member API token, or a trusted proxy header.

A session is a cookie holding signed JSON (HMAC-SHA256 with a server-side
key; `ctx.extras["dashboard_session_key"]` when the service provides one,
else random per process, so a restart signs everyone out). It carries the
member, the sha256 of the token they signed in with (checked against the
store on every request, so revoking the token ends the session), the CSRF
nonce, an expiry and a one-shot flash message. The token itself is never
stored, logged or rendered. Cookie: HttpOnly, SameSite=Strict, Path=/,
Secure when the request came over https (or `server.public_url` is https).

Trusted-header mode (`server.trusted_user_header` set): the member is the
roster member whose name or email is in that header, on every request; the
cookie then only carries the CSRF nonce and flash. Only safe behind an
authenticating proxy that sets the header and strips it from client
requests (docs/dashboard.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from rollout.config.schema import Settings
from rollout.core.approvals import Roster
from rollout.errors import AuthError
from rollout.server.auth import TokenLookup, hash_token

COOKIE = "nr_session"
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    csrf: str
    expires: int  # epoch seconds
    member: str | None = None
    token_hash: str | None = None
    flash: tuple[str, str] | None = None  # (ok|error, text)


@dataclass(frozen=True)
class Viewer:
    """The request's session (always present) and its member, if signed in."""

    session: Session
    member: str | None
    via: str  # token | header | none
    fresh: bool  # the session cookie must be (re)written


class SessionCodec:
    """Signs and checks session cookies."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the dashboard session key needs at least 32 bytes")
        self._key = key

    def encode(self, session: Session) -> str:
        data = {"c": session.csrf, "e": session.expires}
        if session.member is not None:
            data["m"] = session.member
        if session.token_hash is not None:
            data["t"] = session.token_hash
        if session.flash is not None:
            data["f"] = list(session.flash)
        body = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def decode(self, value: str | None, now: datetime) -> Session | None:
        """The session in `value`; None when missing, forged, malformed or expired."""
        if not value or len(value) > 4096 or "." not in value:
            return None
        body, _, signature = value.partition(".")
        if not hmac.compare_digest(self._sign(body).encode(), signature.encode()):
            return None
        try:
            data = json.loads(_unb64(body))
            flash = data.get("f")
            session = Session(
                csrf=str(data["c"]),
                expires=int(data["e"]),
                member=None if data.get("m") is None else str(data["m"]),
                token_hash=None if data.get("t") is None else str(data["t"]),
                flash=(str(flash[0]), str(flash[1])) if flash else None,
            )
        except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
            return None
        return session if session.expires > now.timestamp() else None

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignIn:
    """Resolves the viewer of a request and signs members in and out."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenLookup,
        roster: Roster,
        clock: Callable[[], datetime],
        key: bytes | None = None,
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._roster = roster
        self._clock = clock
        self.codec = SessionCodec(key or secrets.token_bytes(32))
        self.header = settings.server.trusted_user_header

    def new_session(
        self,
        *,
        csrf: str | None = None,
        member: str | None = None,
        token_hash: str | None = None,
        flash: tuple[str, str] | None = None,
        expires: int | None = None,
    ) -> Session:
        """A session expiring SESSION_LIFETIME from now, or at `expires` (epoch seconds)
        when it continues an earlier one; a fresh CSRF nonce unless `csrf`.

        Re-issuing a session (to set or clear a flash) keeps its expiry, so the
        lifetime counts from sign-in and activity never extends it.
        """
        if expires is None:
            expires = int((self._clock() + SESSION_LIFETIME).timestamp())
        return Session(
            csrf=csrf or secrets.token_urlsafe(24),
            expires=expires,
            member=member,
            token_hash=token_hash,
            flash=flash,
        )

    def viewer(self, request: Request) -> Viewer:
        """Who sent `request`. Never raises: an invalid session is a fresh anonymous one."""
        session = self.codec.decode(request.cookies.get(COOKIE), self._clock())
        fresh = session is None
        if session is None:
            session = self.new_session()
        if self.header:
            member = self._header_member(request.headers.get(self.header))
            return Viewer(session, member, "header" if member else "none", fresh)
        if session.member is not None and not self._still_valid(session):
            session = self.new_session()
            fresh = True
        via = "token" if session.member is not None else "none"
        return Viewer(session, session.member, via, fresh)

    def _header_member(self, value: str | None) -> str | None:
        if not value:
            return None
        wanted = value.strip().lower()
        for member in self._roster.members:
            if member.name.lower() == wanted or (member.email or "").lower() == wanted:
                return member.name
        return None

    def _still_valid(self, session: Session) -> bool:
        if session.token_hash is None or session.member is None:
            return False
        owner = self._tokens.member_for_token_hash(session.token_hash)
        return owner == session.member and self._roster.get(owner) is not None

    def sign_in(self, token: str) -> Session:
        """A new session (new CSRF nonce) for the owner of `token`; AuthError otherwise."""
        token = token.strip()
        if not token:
            raise AuthError("paste your API token (`rollout token create` makes one)")
        token_hash = hash_token(token)
        member = self._tokens.member_for_token_hash(token_hash)
        if member is None:
            raise AuthError("unknown or revoked token")
        if self._roster.get(member) is None:
            raise AuthError(f"token owner {member!r} is no longer on the team roster")
        return self.new_session(member=member, token_hash=token_hash)

    def write(self, response: Response, request: Request, session: Session) -> None:
        secure = request.url.scheme == "https" or str(
            self._settings.server.public_url or ""
        ).startswith("https://")
        # The browser may drop the cookie when the session ends; the server checks anyway.
        left = max(0, session.expires - int(self._clock().timestamp()))
        response.set_cookie(
            COOKIE,
            self.codec.encode(session),
            max_age=left,
            path="/",
            httponly=True,
            samesite="strict",
            secure=secure,
        )
