"""Host operations of the real node: network namespaces, cgroups, mounts, processes.

Everything the real node creates on the machine goes through here, so the
same small functions build it up, tear it down, and sweep what a killed run
left behind. Processes are only ever stopped by pid (found through our
private paths in their command lines or through our cgroup tree), never by name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from rollout.devcluster.errors import HarnessError

NETNS_DIR = Path("/run/netns")
CGROUP_FS = Path("/sys/fs/cgroup")
_CLONE_NEWNET = 0x40000000


def run(argv: list[str], *, netns: str = "", check: bool = True, timeout: float = 30) -> str:
    """Run `argv` (inside network namespace `netns` if given); return stdout.

    Raises HarnessError with the command's stderr when it fails and `check`.
    """
    if netns:
        argv = ["nsenter", f"--net={NETNS_DIR / netns}", "--", *argv]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"`{' '.join(argv)}` did not finish within {timeout:g}s") from exc
    if check and done.returncode != 0:
        raise HarnessError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create_netns(name: str) -> None:
    run(["ip", "netns", "add", name])
    run(["ip", "link", "set", "lo", "up"], netns=name)


def delete_netns(name: str) -> None:
    """Delete the namespace: its links, bridge, iptables chains and ipsets go with it."""
    if netns_exists(name):
        run(["ip", "netns", "delete", name], check=False)
    if (NETNS_DIR / name).exists():  # a leftover mount point: detach it
        _umount(NETNS_DIR / name)
        with contextlib.suppress(OSError):
            (NETNS_DIR / name).unlink()


def set_sysctl(netns: str, key: str, value: str) -> None:
    """Write a sysctl inside `netns` (the /proc/sys/net files are per namespace)."""
    path = "/proc/sys/" + key.replace(".", "/")
    run(["sh", "-c", f"echo {value} > {path}"], netns=netns)


# -- a relay from the node's namespace to the host loopback ------------------


class Relay:
    """Listens on 127.0.0.1:`port` inside `netns` and forwards to `target` on the host.

    The test apiserver listens on the host's loopback only; the kubelet and
    kube-router live in the node namespace and reach it through this relay.
    """

    def __init__(self, netns: str, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self._target = target
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = _listen_in_netns(netns, port)
        self._thread = threading.Thread(target=self._accept, name="real-node-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._sockets.clear()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._stop.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            threading.Thread(target=self._serve, args=(client, upstream), daemon=True).start()

    def _serve(self, client: socket.socket, upstream: socket.socket) -> None:
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        with self._lock:
            for s in (client, upstream):
                if s in self._sockets:
                    self._sockets.discard(s)
                    s.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _listen_in_netns(netns: str, port: int) -> socket.socket:
    """A listening socket bound inside `netns`, created by a thread that enters it."""
    result: list[socket.socket | BaseException] = []

    def enter_and_listen() -> None:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            fd = os.open(NETNS_DIR / netns, os.O_RDONLY)
            try:
                # setns moves only this thread, which ends right after.
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {netns}")
            finally:
                os.close(fd)
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(64)
            result.append(listener)
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=enter_and_listen, name="real-node-netns")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise HarnessError(f"cannot listen in network namespace {netns}: {outcome}")
    return outcome


# -- cgroups -----------------------------------------------------------------


def cgroup_hierarchies() -> list[Path]:
    """Mounted cgroup v1 hierarchies (or the v2 root), one directory each."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype in ("cgroup", "cgroup2"):
            found.append(Path(fields[4]))
    return sorted(set(found))


def make_cgroup(relative: str) -> None:
    for hierarchy in cgroup_hierarchies():
        (hierarchy / relative.strip("/")).mkdir(parents=True, exist_ok=True)


def remove_cgroup(relative: str, timeout: float = 20) -> list[str]:
    """Kill every process in the cgroup tree, then remove it; returns problems left."""
    problems = []
    deadline = time.monotonic() + timeout
    for hierarchy in cgroup_hierarchies():
        root = hierarchy / relative.strip("/")
        if not root.exists():
            continue
        while True:
            pids = list(_cgroup_pids(root))
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            left = _rmdir_tree(root)
            if not left:
                break
            if time.monotonic() > deadline:
                problems.append(f"cgroup {root}: {left} directories could not be removed")
                break
            time.sleep(0.1)
    return problems


def _cgroup_pids(root: Path) -> Iterator[int]:
    for procs in root.rglob("cgroup.procs"):
        with contextlib.suppress(OSError):
            for line in procs.read_text().split():
                yield int(line)


def _rmdir_tree(root: Path) -> int:
    left = 0
    for directory in sorted(
        (p for p in [root, *root.rglob("*")] if p.is_dir()),
        key=lambda p: len(p.parts),
        reverse=True,
    ):
        try:
            directory.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            left += 1
    return left


# -- mounts and processes ----------------------------------------------------


def mounts_under(prefix: Path) -> list[Path]:
    """Mount points at or below `prefix`, deepest first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].replace("\\040", " "))
        if point == prefix or prefix in point.parents:
            points.append(point)
    return sorted(set(points), key=lambda p: len(p.parts), reverse=True)


def unmount_under(prefix: Path) -> None:
    for point in mounts_under(prefix):
        _umount(point)


def _umount(point: Path) -> None:
    subprocess.run(["umount", "--lazy", str(point)], capture_output=True, check=False)


def pids_mentioning(marker: str) -> list[int]:
    """Processes whose command line contains `marker` (our private directory)."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_pids(pids: Iterable[int], timeout: float = 5) -> None:
    """SIGTERM, then SIGKILL what is still alive after `timeout` seconds."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own children
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
