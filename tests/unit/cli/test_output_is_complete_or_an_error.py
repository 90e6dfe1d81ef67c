"""Command output is written in bounded, checked chunks: it arrives complete,
or the command fails with a clear error and a non-zero exit; a closed pipe
ends the command quietly with status 141."""

from __future__ import annotations

import errno
import io

import pytest

from rollout.cli.output import CHUNK_BYTES, CLOSED_PIPE_EXIT, Output
from rollout.errors import OutputError


class ShortWritingStream(io.RawIOBase):
    """A raw stream that takes at most `limit` bytes per call, as write(2) may."""

    def __init__(self, limit: int, fail: OSError | None = None, take_nothing: bool = False):
        self.limit = limit
        self.fail = fail
        self.take_nothing = take_nothing
        self.data = bytearray()
        self.calls: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        view = memoryview(b)  # type: ignore[arg-type]
        self.calls.append(len(view))
        if self.fail is not None and len(self.data) >= self.limit:
            raise self.fail
        if self.take_nothing and self.data:
            return 0
        taken = bytes(view[: self.limit])
        self.data += taken
        return len(taken)


def test_short_writes_are_retried_until_everything_arrived() -> None:
    stream = ShortWritingStream(limit=4096)
    text = "é" + "x" * (3 * CHUNK_BYTES) + "end"
    out = Output(stream)  # type: ignore[arg-type]
    out.write_all([text[:10], text[10:]])
    assert stream.data.decode() == text
    assert out.written == len(text.encode())


def test_no_single_write_exceeds_the_chunk_bound() -> None:
    stream = ShortWritingStream(limit=1 << 62)
    Output(stream).write_all(["y" * (5 * CHUNK_BYTES + 7)])  # type: ignore[arg-type]
    assert max(stream.calls) <= CHUNK_BYTES
    assert len(stream.data) == 5 * CHUNK_BYTES + 7


def test_a_stream_that_takes_nothing_is_an_error_saying_how_much_was_written() -> None:
    stream = ShortWritingStream(limit=100, take_nothing=True)
    with pytest.raises(OutputError, match=r"took no bytes after 100 bytes"):
        Output(stream).write_all(["z" * 1000])  # type: ignore[arg-type]


def test_a_failing_stream_is_an_error_not_a_traceback() -> None:
    stream = ShortWritingStream(limit=10, fail=OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(OutputError, match=r"No space left on device; the output is incomplete"):
        Output(stream).write_all(["z" * 1000])  # type: ignore[arg-type]
    assert OutputError("x").exit_code == 11


def test_a_closed_pipe_exits_quietly_with_141() -> None:
    stream = ShortWritingStream(limit=10, fail=BrokenPipeError(errno.EPIPE, "Broken pipe"))
    with pytest.raises(SystemExit) as exited:
        Output(stream).write_all(["z" * 1000])  # type: ignore[arg-type]
    assert exited.value.code == CLOSED_PIPE_EXIT
