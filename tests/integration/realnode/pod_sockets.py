"""Real TCP and UDP connections between the pods of a real node, made from the test process.

The sockets are created inside each pod's own network namespace (`setns`
into the namespace of the pod's container), so every packet leaves through
the pod's veth, crosses the node's bridge and kube-router's iptables chains
exactly as a packet sent by the container would: the enforcer sees pod IP to
pod IP. Doing it from the test process instead of `kubectl exec` (which this
node cannot serve: the kubelet listens inside the node netns) or a probe pod
per connection (2-6 s each) lets one batch of thousands of probes run
concurrently in well under a second.

* `PodListeners` keeps TCP listeners and UDP echo sockets on the chosen ports
  in every pod (a thread accepts and closes, and echoes datagrams);
* `probe_many` opens one new connection per probe, all at once, and reports
  `connected`, `refused` (kube-router REJECTs, answered at once thanks to
  `icmp_ratelimit=0`) or `timeout`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import selectors
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


@contextlib.contextmanager
def in_netns(netns_fd: int) -> Iterator[None]:
    """Run the block in another network namespace (this thread only)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(netns_fd)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def pod_netns_fd(cgroup_root: str, pod_uid: str) -> int:
    """An open fd on the network namespace of a running pod of the real node.

    The kubelet (cgroupfs driver) puts the pod's containers under
    `<cgroup root>/kubepods/<qos>/pod<uid>/`; any process there is in the
    pod's network namespace.
    """
    for hierarchy in _hierarchies():
        root = hierarchy / cgroup_root.strip("/")
        for pod_dir in root.glob(f"kubepods/**/pod{pod_uid}"):
            for procs in pod_dir.rglob("cgroup.procs"):
                for pid in procs.read_text().split():
                    with contextlib.suppress(OSError):
                        return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    raise LookupError(f"no process of pod {pod_uid} under cgroup {cgroup_root}")


def _hierarchies() -> list[Path]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] in ("cgroup", "cgroup2"):
            found.append(Path(fields[4]))
    return sorted(set(found))


class PodListeners:
    """TCP listeners and UDP echo sockets on `ports` in each namespace of `netns_fds`."""

    def __init__(self, netns_fds: Sequence[int], ports: Sequence[tuple[int, str]]) -> None:
        self._selector = selectors.DefaultSelector()
        self._sockets: list[socket.socket] = []
        for fd in netns_fds:
            with in_netns(fd):
                for port, proto in ports:
                    kind = socket.SOCK_STREAM if proto == "TCP" else socket.SOCK_DGRAM
                    sock = socket.socket(socket.AF_INET, kind)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind(("0.0.0.0", port))
                    if proto == "TCP":
                        sock.listen(4096)
                    sock.setblocking(False)
                    self._sockets.append(sock)
                    self._selector.register(sock, selectors.EVENT_READ, proto)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="pod-listeners", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                with contextlib.suppress(OSError):
                    if key.data == "TCP":
                        while True:
                            conn, _ = sock.accept()
                            conn.close()
                    else:
                        while True:
                            data, peer = sock.recvfrom(512)
                            sock.sendto(data, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self._sockets:
            self._selector.unregister(sock)
            sock.close()
        self._selector.close()


@dataclass(frozen=True)
class Probe:
    """A new connection from the pod whose netns fd is `source` to `address`:`port`."""

    source: int
    address: str
    port: int
    protocol: str  # TCP or UDP


def probe_many(probes: Sequence[Probe], timeout: float, chunk: int = 2000) -> list[str]:
    """`connected`, `refused` or `timeout` for each probe, in order; all run concurrently."""
    results: list[str] = []
    for start in range(0, len(probes), chunk):
        results.extend(_probe_chunk(probes[start : start + chunk], timeout))
    return results


def _probe_chunk(probes: Sequence[Probe], timeout: float) -> list[str]:
    outcome = ["timeout"] * len(probes)
    selector = selectors.DefaultSelector()
    open_sockets: list[socket.socket] = []
    try:
        by_source: dict[int, list[int]] = {}
        for i, probe in enumerate(probes):
            by_source.setdefault(probe.source, []).append(i)
        for source, indices in by_source.items():
            with in_netns(source):
                for i in indices:
                    sock = _open(probes[i], outcome, i)
                    if sock is not None:
                        open_sockets.append(sock)
                        event = selectors.EVENT_WRITE
                        if probes[i].protocol == "UDP":
                            event = selectors.EVENT_READ
                        selector.register(sock, event, i)
        deadline = time.monotonic() + timeout
        pending = len(selector.get_map())
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                i = key.data
                sock = key.fileobj  # type: ignore[assignment]
                outcome[i] = _settle(sock, probes[i].protocol)  # type: ignore[arg-type]
                selector.unregister(sock)
                pending -= 1
    finally:
        for sock in open_sockets:
            sock.close()
        selector.close()
    return outcome


def _open(probe: Probe, outcome: list[str], i: int) -> socket.socket | None:
    kind = socket.SOCK_STREAM if probe.protocol == "TCP" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.setblocking(False)
    if probe.protocol == "TCP":
        # RST on close: no TIME_WAIT pile-up over thousands of probes.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        code = sock.connect_ex((probe.address, probe.port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            outcome[i] = "refused" if code == errno.ECONNREFUSED else f"error {code}"
            return None
        return sock
    sock.connect((probe.address, probe.port))
    sock.send(b"probe")
    return sock


def _settle(sock: socket.socket, protocol: str) -> str:
    if protocol == "TCP":
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            return "connected"
        return "refused" if code == errno.ECONNREFUSED else f"error {code}"
    try:
        sock.recv(512)
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return f"error {exc.errno}"
    return "connected"
