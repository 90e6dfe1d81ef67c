"""Logging for `rollout serve`: JSON lines when stderr is not a terminal.

Each line carries `ts`, `level`, `logger`, `message`, the `rollout_id` (and
any other `extra=` fields) and an exception text when there is one. Secrets
(URL credentials, bearer tokens, Slack/GitHub token shapes, and any value
registered with `configure_logging(secrets=...)`) are masked.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from rollout.notify.redact import redact

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `extra=` fields become top-level keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self._scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = (
                    value if isinstance(value, int | float | bool) else self._scrub(str(value))
                )
        if record.exc_info:
            data["exception"] = self._scrub(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)

    def _scrub(self, text: str) -> str:
        return redact(text, self._secrets)


class TextFormatter(logging.Formatter):
    """Human lines for a terminal, still scrubbed, with the rollout id when there is one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rollout_id = getattr(record, "rollout_id", None)
        if rollout_id:
            text = f"{text} [{rollout_id}]"
        return redact(text, self._secrets)


def configure_logging(
    level: str = "INFO",
    *,
    stream: TextIO | None = None,
    json_lines: bool | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Route every logger to `stream` (stderr): JSON unless it is a terminal."""
    out = stream or sys.stderr
    use_json = not out.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(secrets) if use_json else TextFormatter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("apscheduler", "urllib3", "kubernetes", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
