"""Cross-site request forgery: every state-changing request passes two checks.

1. Same origin: `Origin` (or, when a browser sends none, `Referer`) must be
   this service, as the request's own Host and scheme or `server.public_url`
   say; `Sec-Fetch-Site: cross-site` is refused outright. A request with
   neither header is refused: every browser we support sends one on POST.
2. Synchronizer token: the form's `csrf_token` must equal the nonce in the
   signed session cookie (compared in constant time). Sign-in rotates it.

The session cookie is also SameSite=Strict, a third line of defence.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from rollout.server.dashboard.session import Session


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(request: Request, public_url: str | None) -> set[str]:
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
    if public_url:
        public = _origin(public_url)
        if public:
            own.add(public)
    return own


def refusal(
    request: Request, session: Session, token: str | None, public_url: str | None
) -> str | None:
    """Why the state-changing `request` is refused, or None when it may proceed."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return "cross-site request refused"
    origin = request.headers.get("origin")
    if origin == "null":  # sandboxed or privacy-redirected: the sender cannot be told
        return "request from an opaque origin refused"
    if origin is None:
        referer = request.headers.get("referer")
        origin = _origin(referer) if referer else None
    if origin is None:
        return "request without Origin or Referer refused"
    if origin.lower() not in allowed_origins(request, public_url):
        return f"cross-origin request from {origin} refused"
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        return "missing or wrong CSRF token (reload the page and try again)"
    return None
