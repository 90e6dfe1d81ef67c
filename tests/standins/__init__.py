"""Local HTTP servers that stand in for third-party APIs (Slack, GitHub).

Each records every request, checks it the way the real API would (auth,
content type, body shape) and collects what it would reject in
`violations`, so a test asserts `standin.violations == []` instead of
relying on exceptions raised in a server thread. Failures are programmable:
`fail_next(...)` answers the next matching requests with an error status.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Failure:
    method: str
    path_suffix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    times: int = 1


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class StandIn:
    """A threading HTTP server on 127.0.0.1 and a free port; subclasses route."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.delays: dict[str, float] = {}
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    body,
                    time.monotonic(),
                )
                reply = standin._dispatch(recorded)
                payload = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else json.dumps(reply.body).encode()
                    if reply.body is not None
                    else b""
                )
                self.send_response(reply.status)
                if not isinstance(reply.body, bytes):
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self,
        method: str,
        path_suffix: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        body: bytes = b"",
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.append(Failure(method, path_suffix, status, headers, body, times))

    def violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def _dispatch(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            failure = next(
                (
                    f
                    for f in self._failures
                    if f.method == request.method and request.path.endswith(f.path_suffix)
                ),
                None,
            )
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
        for suffix, seconds in self.delays.items():
            if request.path.endswith(suffix):
                time.sleep(seconds)
        if failure is not None:
            return Reply(failure.status, failure.body, failure.headers)
        try:
            return self.route(request)
        except Exception as exc:  # a stand-in bug must show up in the test, not hang it
            self.violation(f"stand-in crashed on {request.method} {request.path}: {exc!r}")
            return Reply(500, {"message": "stand-in error"})

    def route(self, request: Recorded) -> Reply:
        raise NotImplementedError


@contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """A local HTTP server answering with `handler` on a thread; yields its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
