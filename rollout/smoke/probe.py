"""The probe and listener pods: manifests, the probe script, its result format (PURE).

The probe pod runs `sh -c PROBE_SCRIPT` with the checks in the `CHECKS`
environment variable, one per line: `INDEX KIND HOST PORT WAIT TIMEOUT`.
After its self-test it waits `SETTLE` seconds (the enforcer's lag for a new
pod, see SETTLE_ENV); then every check runs in the background and loops
until it connects or its timeout passes, opening a new connection each
attempt (established connections can survive a new deny rule). The same loop
serves both verdicts: an expected allow passes if it connected before the
deadline, an expected deny passes only if it never connected during the
whole timeout.

The result goes to the termination message (at most 4096 bytes), read from
the Pod status, so no `pods/exec` is needed:
`{"v":1,"t":1,"u":1,"r":[[INDEX,CONNECTED,ATTEMPTS,SECONDS],...]}`; `t` is 1
when the image's tools work (`nc` reached a listener on the pod's own
loopback, which no NetworkPolicy can block, and did not "reach" a closed
port), so a broken `nc` can never pass a deny; `u` is 1 when its `nc` can
also tell an open UDP port from a closed one. A UDP check the tool cannot
test reports 0 attempts and becomes an error, never a pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rollout.smoke.plan import ProbePlan

RUN_LABEL = "netpol-rollout.io/smoke-run"
ENV_LABEL = "netpol-rollout.io/smoke-env"
ROLE_LABEL = "netpol-rollout.io/smoke-role"
# Set on the pods it runs by a development cluster's node (rollout.devcluster):
# "real" (a real kubelet and enforcer) or "simulated" (the policy engine judges
# every connection). Smoke results carry it as `node`; on a user's cluster no
# node sets it and results say nothing about it.
NODE_ANNOTATION = "netpol-rollout.io/node"
CHECKS_ENV = "CHECKS"
# Seconds the probe waits after its self-test before any check runs: an
# enforcer that programs a new pod's rules after the pod starts (kube-router
# does, on its next sync) would let the first connections of a fresh probe
# pod through, passing an allow the policies block or failing a deny.
SETTLE_ENV = "SETTLE"
SELF_TEST_PORT = 17002  # the self-test's TCP listener on the pod's loopback
CLOSED_TEST_PORT = 17001  # nothing listens there: a tool that "connects" is not trusted
UDP_TEST_PORT = 17003  # the self-test's UDP listener
RESULT_VERSION = 1

# The nc programs images carry differ (docs/smoke-tests.md, "Probe images"):
# OpenBSD nc, netcat-traditional, nmap's ncat and upstream busybox know `-z`;
# Debian's busybox does not (connect with stdin closed instead) and has no
# UDP; persistent listening is `-lk -e true` (ncat, traditional, upstream
# busybox), `-lk` (OpenBSD) or `-ll -e true` (Debian busybox). The script
# finds out which works on the pod's own loopback before any check counts,
# and a tool that also "connects" to a closed port is not trusted at all.
SERVE_FUNCTION = r"""serve() {
  while :; do
    nc -lk -p "$1" -e true; nc -lk -p "$1"; nc -ll -p "$1" -e true; nc -l -p "$1" || sleep 1
  done
}"""

PROBE_SCRIPT = r"""set -u
d=${TMPDIR:-/tmp}/nr; mkdir -p "$d"
z=1; u=0
tcp() {
  if [ $z = 1 ]; then nc -z -w "$3" "$1" "$2"; else nc -w "$3" "$1" "$2" </dev/null; fi
}
http() {
  wget -q -T "$3" -O /dev/null "http://$1:$2/"; r=$?
  [ $r -lt 128 ] && return $r
  # Debian's busybox wget dies of SIGSEGV on -T: time it out with a watchdog instead.
  wget -q -O /dev/null "http://$1:$2/" & p=$!
  (sleep "$3"; kill $p) >/dev/null 2>&1 & k=$!
  wait $p; r=$?; kill $k 2>/dev/null
  [ $r = 139 ] && return 99
  return $r
}
check() {
  case $1 in
    tcp) tcp "$2" "$3" "$4" ;;
    udp) nc -u -z -w "$4" "$2" "$3" ;;
    http) http "$2" "$3" "$4" ;;
    dns) nslookup "$2" ;;
    *) return 2 ;;
  esac
}
probe() {
  if [ "$2" = udp ] && [ $u = 0 ]; then echo "[$1,0,0,0]" > "$d/$1"; return; fi
  s=$(date +%s); e=$((s + $6)); n=0; ok=0
  while :; do
    n=$((n + 1))
    check "$2" "$3" "$4" "$5" >/dev/null 2>&1; r=$?
    if [ $r = 0 ]; then ok=1; break; fi
    if [ $r = 99 ]; then echo "[$1,0,0,0]" > "$d/$1"; return; fi
    [ "$(date +%s)" -ge "$e" ] && break
    sleep 1
  done
  echo "[$1,$ok,$n,$(($(date +%s) - s))]" > "$d/$1"
}
l=""
for a in "-lu -p UDP_TEST_PORT" "-lk -p SELF_TEST_PORT -e true" "-lk -p SELF_TEST_PORT" \
  "-ll -p SELF_TEST_PORT -e true" "-l -p SELF_TEST_PORT"; do
  nc $a </dev/null >/dev/null 2>&1 &
  l="$l $!"
done
t=0; i=0
while [ $i -lt 10 ]; do
  z=1; if tcp 127.0.0.1 SELF_TEST_PORT 1 >/dev/null 2>&1; then t=1; break; fi
  z=0; if tcp 127.0.0.1 SELF_TEST_PORT 1 >/dev/null 2>&1; then t=1; break; fi
  i=$((i + 1)); sleep 0.3
done
if [ $t = 1 ] && tcp 127.0.0.1 CLOSED_TEST_PORT 1 >/dev/null 2>&1; then t=0; fi
i=0
while [ $i -lt 3 ]; do
  if nc -u -z -w 1 127.0.0.1 UDP_TEST_PORT >/dev/null 2>&1; then
    nc -u -z -w 1 127.0.0.1 CLOSED_TEST_PORT >/dev/null 2>&1 || u=1
    break
  fi
  i=$((i + 1)); sleep 0.3
done
kill $l 2>/dev/null
sleep "${SETTLE:-0}"
printf '%s\n' "$CHECKS" | {
  while read -r id kind host port wait timeout; do
    [ -n "$id" ] && probe "$id" "$kind" "$host" "$port" "$wait" "$timeout" &
  done
  wait
}
r=""
for f in "$d"/*; do [ -f "$f" ] && r="$r${r:+,}$(cat "$f")"; done
m="{\"v\":1,\"t\":$t,\"u\":$u,\"r\":[$r]}"
printf '%s' "$m" > "${TERMINATION_LOG:-/dev/termination-log}"
echo "$m"
"""
for _name, _port in (
    ("SELF_TEST_PORT", SELF_TEST_PORT),
    ("CLOSED_TEST_PORT", CLOSED_TEST_PORT),
    ("UDP_TEST_PORT", UDP_TEST_PORT),
):
    PROBE_SCRIPT = PROBE_SCRIPT.replace(_name, str(_port))


@dataclass(frozen=True)
class EncodedCheck:
    index: int
    kind: str
    host: str
    port: int
    wait: int
    timeout: int


@dataclass(frozen=True)
class Observation:
    connected: bool
    attempts: int
    seconds: int


@dataclass(frozen=True)
class ProbeOutput:
    tools_ok: bool
    observations: Mapping[int, Observation]


def encode_checks(checks: Sequence[EncodedCheck]) -> str:
    return "\n".join(f"{c.index} {c.kind} {c.host} {c.port} {c.wait} {c.timeout}" for c in checks)


def decode_checks(text: str) -> list[EncodedCheck]:
    """Parse `CHECKS` back (for test fixtures and debugging)."""
    checks = []
    for line in text.splitlines():
        if line.strip():
            index, kind, host, port, wait, timeout = line.split()
            checks.append(EncodedCheck(int(index), kind, host, int(port), int(wait), int(timeout)))
    return checks


def encoded(probe: ProbePlan, hosts: Mapping[int, str]) -> list[EncodedCheck]:
    """The probe's checks with resolved `hosts` (check index -> address); others skipped."""
    out = []
    for check in probe.checks:
        if check.index in hosts:
            timeout = max(1, math.ceil(check.timeout))
            wait = min(2, timeout)
            host = hosts[check.index]
            out.append(EncodedCheck(check.index, check.kind, host, check.port, wait, timeout))
    return out


def parse_output(message: str) -> ProbeOutput:
    """Parse a termination message; ValueError if it is not the probe's JSON."""
    try:
        data: Any = json.loads(message)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {message[:200]!r}") from exc
    if not isinstance(data, dict) or data.get("v") != RESULT_VERSION:
        raise ValueError(f"not a probe result (version {RESULT_VERSION}): {message[:200]!r}")
    observations: dict[int, Observation] = {}
    for row in data.get("r", []):
        if not (isinstance(row, list) and len(row) == 4 and all(isinstance(x, int) for x in row)):
            raise ValueError(f"malformed result row {row!r}")
        observations[row[0]] = Observation(bool(row[1]), row[2], row[3])
    return ProbeOutput(tools_ok=data.get("t") == 1, observations=observations)


def run_labels(run_id: str, environment: str, role: str) -> dict[str, str]:
    return {RUN_LABEL: run_id, ENV_LABEL: environment, ROLE_LABEL: role}


def _pod(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    container: dict[str, Any],
    deadline_seconds: int,
    *,
    low_ports: bool = False,
) -> dict[str, Any]:
    # Binding a port below 1024 needs root + NET_BIND_SERVICE; everything else runs as nobody.
    user = {"runAsUser": 0} if low_ports else {"runAsNonRoot": True, "runAsUser": 65534}
    caps: dict[str, list[str]] = {"drop": ["ALL"]}
    if low_ports:
        caps["add"] = ["NET_BIND_SERVICE"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "restartPolicy": "Never",
            # No token: the probe needs no API access (and no ServiceAccount controller).
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 1,
            # The kubelet ends it even if the runner is gone; the next run sweeps it.
            "activeDeadlineSeconds": deadline_seconds,
            "securityContext": user,
            "containers": [
                {
                    **container,
                    "terminationMessagePolicy": "File",
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "16Mi"},
                        "limits": {"memory": "64Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": caps,
                    },
                }
            ],
        },
    }


def probe_pod(
    *,
    name: str,
    namespace: str,
    source_labels: Mapping[str, str],
    labels: Mapping[str, str],
    image: str,
    checks: Sequence[EncodedCheck],
    deadline_seconds: int,
    settle_seconds: int = 0,
) -> dict[str, Any]:
    """The probe pod manifest: source labels + run labels, checks in the environment."""
    container = {
        "name": "probe",
        "image": image,
        "command": ["sh", "-c", PROBE_SCRIPT],
        "env": [
            {"name": CHECKS_ENV, "value": encode_checks(checks)},
            {"name": SETTLE_ENV, "value": str(settle_seconds)},
        ],
    }
    return _pod(name, namespace, {**source_labels, **labels}, container, deadline_seconds)


def listener_script(ports: Sequence[tuple[int, str]]) -> str:
    lines = [
        f"serve {port} </dev/null >/dev/null 2>&1 &"
        if proto == "TCP"
        else f"while :; do nc -lu -p {port} </dev/null >/dev/null 2>&1 || sleep 1; done &"
        for port, proto in ports
    ]
    return "\n".join([SERVE_FUNCTION, *lines, "wait"])


def listener_pod(
    *,
    name: str,
    namespace: str,
    target_labels: Mapping[str, str],
    labels: Mapping[str, str],
    image: str,
    ports: Sequence[tuple[int, str]],
    deadline_seconds: int,
) -> dict[str, Any]:
    """A pod carrying the target's labels that accepts connections on `ports`."""
    container = {
        "name": "listener",
        "image": image,
        "command": ["sh", "-c", listener_script(ports)],
        "ports": [{"containerPort": p, "protocol": proto} for p, proto in ports],
    }
    low = any(port < 1024 for port, _ in ports)
    labels = {**target_labels, **labels}
    return _pod(name, namespace, labels, container, deadline_seconds, low_ports=low)
