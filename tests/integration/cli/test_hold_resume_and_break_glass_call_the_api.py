"""`rollout hold ENV`, `rollout resume ENV` and `rollout break-glass ID` send exactly
the documented API requests (a real HTTP stand-in records them) and print the
service's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.standins import serving

pytestmark = pytest.mark.integration


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, object], str]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)) or b"{}")
        self.seen.append((self.command, self.path, body, self.headers["Authorization"]))
        answer = json.dumps({"ok": True, "message": f"done: {self.path}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    _Recorder.seen = []
    with serving(_Recorder) as origin:
        yield origin


@pytest.mark.parametrize(
    ("args", "path", "body"),
    [
        (
            ["hold", "production", "--reason", "incident"],
            "/environments/production/hold",
            {"reason": "incident"},
        ),
        (["resume", "production"], "/environments/production/resume", {}),
        (
            ["break-glass", "r-0123456789", "--reason", "outage"],
            "/rollouts/r-0123456789/break-glass",
            {"reason": "outage"},
        ),
    ],
)
def test_the_command_posts_to_the_api(
    api: str, args: list[str], path: str, body: dict[str, str]
) -> None:
    result = CliRunner().invoke(
        cli, [*args], env={"ROLLOUT_SERVER": api, "ROLLOUT_TOKEN": "tok-123"}
    )
    assert result.exit_code == 0, result.output
    assert _Recorder.seen == [("POST", f"/api/v1{path}", body, "Bearer tok-123")]
    assert f"done: /api/v1{path}" in result.output
