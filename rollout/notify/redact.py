"""Scrub secrets from text before it is logged or stored as `last_error`.

Three layers, because an error message can carry a secret we know (a token we
resolved), a secret embedded in a URL (an incoming-webhook path, `user:pass@`),
or a token in a well-known shape we never saw (a header echoed by a proxy).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_SLACK_HOOK = re.compile(r"(hooks\.slack(?:-gov)?\.com/)[^\s\"'<>]+")
_TOKEN_SHAPES = re.compile(
    r"\b(?:xox[abposer]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,})"
)
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|key|secret|sig|signature|access_token)=)[^&\s\"']+")

# Shorter "secrets" would mask ordinary words; config refuses nothing, so be safe here.
_MIN_SECRET_LENGTH = 6


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values, URL credentials and token shapes masked."""
    known = sorted(
        {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    for secret in known:
        text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _SLACK_HOOK.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _TOKEN_SHAPES.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
