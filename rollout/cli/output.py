"""Command output written as it is produced, in bounded chunks, every write checked.

One `write` of a very large string is not safe: on Linux a single write(2)
moves at most 2,147,479,552 bytes, and a report written in one call over
2 GiB arrived truncated while the command exited 0. Here text goes to the
stream's byte buffer in chunks of at most `CHUNK_BYTES`, each write's count
is checked and the rest retried, and the stream is flushed at the end:

- a stream that takes nothing, or fails (disk full, I/O error), raises
  `OutputError` (exit 11) saying how many bytes were written;
- a closed pipe (`rollout policy matrix ... | head`) ends the command
  quietly with the conventional status 141 (128 + SIGPIPE), as a tool
  killed by SIGPIPE would, with nothing on standard error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

from rollout.errors import OutputError

CHUNK_BYTES = 1 << 20
CLOSED_PIPE_EXIT = 141


class Output:
    """A checked writer over a text stream (default: standard output)."""

    def __init__(self, stream: IO[Any] | None = None, *, name: str = "standard output") -> None:
        self._text = stream if stream is not None else sys.stdout
        self._raw: Any = getattr(self._text, "buffer", self._text)
        self._binary = self._raw is not self._text or not _is_text(self._text)
        self._encoding = getattr(self._text, "encoding", None) or "utf-8"
        self._name = name
        self.written = 0

    def write(self, text: str) -> None:
        """Write `text` in bounded chunks. Raises OutputError; exits 141 on a closed pipe."""
        if not text:
            return
        step = CHUNK_BYTES // 4  # at most 4 bytes per character in UTF-8
        for start in range(0, len(text), step):
            piece = text[start : start + step]
            if self._binary:
                self._write_all(piece.encode(self._encoding, errors="replace"))
            else:
                self._guard(self._raw.write, piece)
                self.written += len(piece)

    def write_all(self, chunks: Iterable[str]) -> None:
        """Write chunks as they come (a generator streams), gathered up to
        `CHUNK_BYTES // 4` characters per write, then flush."""
        pending: list[str] = []
        size = 0
        for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            if size >= CHUNK_BYTES // 4:
                self.write("".join(pending))
                pending, size = [], 0
        self.write("".join(pending))
        self.flush()

    def flush(self) -> None:
        self._guard(self._raw.flush)

    def _write_all(self, data: bytes) -> None:
        if self._raw is not self._text:
            self._guard(self._text.flush)  # keep order with text written before
        view = memoryview(data)
        while view:
            count = self._guard(self._raw.write, view)
            if not count:
                raise OutputError(
                    f"could not write to {self._name}: the stream took no bytes "
                    f"after {self.written + (len(data) - len(view))} bytes",
                )
            view = view[count:]
        self.written += len(data)

    def _guard(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            closed_pipe_exit()
        except OSError as exc:
            raise OutputError(
                f"could not write to {self._name} after {self.written} bytes: "
                f"{exc.strerror or exc}; the output is incomplete"
            ) from exc


def _is_text(stream: Any) -> bool:
    try:
        stream.write("")
    except TypeError:
        return False
    return True


def closed_pipe_exit() -> None:
    """End quietly with status 141: the reader went away (`| head`)."""
    # Python flushes stdout again at exit; point it at /dev/null so that
    # flush cannot fail and print a second error.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's stream): nothing flushes it later
    sys.exit(CLOSED_PIPE_EXIT)


def emit(text: str, *, newline: bool = True) -> None:
    """`click.echo` for reports: checked, chunked writes to standard output."""
    out = Output()
    out.write(text + ("\n" if newline else ""))
    out.flush()
