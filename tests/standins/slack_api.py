"""A stand-in for Slack's Web API (`chat.postMessage`, `chat.update`,
`views.open`) and an incoming webhook, checking requests as Slack does:
bearer token, JSON content type, channel and text, Block Kit blocks that
slack_sdk's models parse and re-serialise unchanged, and modal views that
`slack_sdk.models.views.View` accepts."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from tests.standins import Recorded, Reply, StandIn

WEBHOOK_PATH = "/services/T0000TEST/B0000TEST/incomingSecretXyz123"


@dataclass
class Message:
    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    history: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass
class OpenedView:
    """A modal opened with `views.open`."""

    id: str
    trigger_id: str
    view: dict[str, Any]


class SlackStandIn(StandIn):
    def __init__(self, token: str = "xoxb-1111-2222-standinsecret", channel_id: str = "C0NETPOL01"):
        super().__init__()
        self.token = token
        self.channel_id = channel_id
        self.messages: dict[str, Message] = {}
        self.webhook_posts: list[dict[str, Any]] = []
        self.views: list[OpenedView] = []
        self.expired_triggers: set[str] = set()
        """trigger_ids that `views.open` answers with `expired_trigger_id`."""
        self._ts = itertools.count(1)
        self._view_ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.origin}{WEBHOOK_PATH}"

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == f"/api/{method}"]

    def parents(self) -> list[Message]:
        return [m for m in self.messages.values() if m.thread_ts is None]

    def replies(self, ts: str) -> list[Message]:
        return [m for m in self.messages.values() if m.thread_ts == ts]

    # --- checks ---------------------------------------------------------------------

    def _check_blocks(self, blocks: Any, where: str) -> None:
        if blocks is None:
            return
        if not isinstance(blocks, list) or len(blocks) > 50:
            self.violation(f"{where}: blocks must be a list of at most 50")
            return
        for raw in blocks:
            parsed = Block.parse(raw)
            if parsed is None or type(parsed) is Block:
                self.violation(f"{where}: unknown block {raw!r}")
                continue
            try:
                again = parsed.to_dict()  # runs slack_sdk's validation
            except Exception as exc:
                self.violation(f"{where}: invalid block {raw!r}: {exc}")
                continue
            if again != raw:
                self.violation(f"{where}: block does not round-trip: {raw!r} != {again!r}")

    def _authorised(self, request: Recorded) -> bool:
        if request.header("Authorization") != f"Bearer {self.token}":
            return False
        content_type = request.header("Content-Type") or ""
        if not content_type.startswith("application/json"):
            self.violation(f"{request.path}: content type {content_type!r}, expected JSON")
        return True

    # --- routes ----------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        if request.method == "POST" and request.path == WEBHOOK_PATH:
            return self._incoming_webhook(request)
        if request.method != "POST" or not request.path.startswith("/api/"):
            self.violation(f"unexpected {request.method} {request.path}")
            return Reply(404, b"not found")
        if not self._authorised(request):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        body = request.json or {}
        method = request.path.removeprefix("/api/")
        if method == "chat.postMessage":
            return self._post(body)
        if method == "chat.update":
            return self._update(body)
        if method == "views.open":
            return self._open_view(body)
        self.violation(f"unexpected Slack method {method}")
        return Reply(200, {"ok": False, "error": "unknown_method"})

    def _post(self, body: dict[str, Any]) -> Reply:
        if body.get("channel") not in ("#netpol", self.channel_id):
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        if not body.get("text"):
            self.violation("chat.postMessage without a fallback text")
        self._check_blocks(body.get("blocks"), "chat.postMessage")
        thread_ts = body.get("thread_ts")
        if thread_ts is not None and thread_ts not in self.messages:
            return Reply(200, {"ok": False, "error": "thread_not_found"})
        ts = f"1767225600.{next(self._ts):06d}"
        self.messages[ts] = Message(
            ts, self.channel_id, body.get("text", ""), body.get("blocks") or [], thread_ts
        )
        return Reply(
            200,
            {
                "ok": True,
                "channel": self.channel_id,
                "ts": ts,
                "message": {"text": body.get("text")},
            },
        )

    def _update(self, body: dict[str, Any]) -> Reply:
        if body.get("channel") != self.channel_id:
            self.violation(f"chat.update needs the channel id, got {body.get('channel')!r}")
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        message = self.messages.get(str(body.get("ts")))
        if message is None:
            return Reply(200, {"ok": False, "error": "message_not_found"})
        self._check_blocks(body.get("blocks"), "chat.update")
        message.history.append(message.blocks)
        message.text = body.get("text", message.text)
        message.blocks = body.get("blocks") or []
        return Reply(200, {"ok": True, "channel": self.channel_id, "ts": message.ts})

    def _open_view(self, body: dict[str, Any]) -> Reply:
        trigger_id = body.get("trigger_id")
        if not trigger_id:
            self.violation("views.open without a trigger_id")
            return Reply(200, {"ok": False, "error": "invalid_arguments"})
        if trigger_id in self.expired_triggers:
            return Reply(200, {"ok": False, "error": "expired_trigger_id"})
        raw = body.get("view")
        if isinstance(raw, str):  # the Web API also takes the view JSON-encoded
            raw = json.loads(raw)
        if not isinstance(raw, dict) or raw.get("type") != "modal":
            self.violation(f"views.open: not a modal view: {raw!r}")
            return Reply(200, {"ok": False, "error": "invalid_arguments"})
        try:
            again = View(**raw).to_dict()  # runs slack_sdk's validation
        except Exception as exc:
            self.violation(f"views.open: invalid view {raw!r}: {exc}")
            return Reply(200, {"ok": False, "error": "invalid_arguments"})
        if again != raw:
            self.violation(f"views.open: view does not round-trip: {raw!r} != {again!r}")
        self._check_blocks(raw.get("blocks"), "views.open")
        opened = OpenedView(f"V{next(self._view_ids):08d}", str(trigger_id), raw)
        self.views.append(opened)
        return Reply(200, {"ok": True, "view": {**raw, "id": opened.id}})

    def _incoming_webhook(self, request: Recorded) -> Reply:
        content_type = request.header("Content-Type") or ""
        if not content_type.startswith("application/json"):
            self.violation(f"incoming webhook content type {content_type!r}")
        body = request.json or {}
        if not body.get("text") and not body.get("blocks"):
            return Reply(400, b"no_text")
        self._check_blocks(body.get("blocks"), "incoming webhook")
        self.webhook_posts.append(body)
        return Reply(200, b"ok")
