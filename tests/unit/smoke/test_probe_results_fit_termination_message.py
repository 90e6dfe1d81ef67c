"""The probe's wire formats: checks in, results out, within the 4096-byte message limit."""

from __future__ import annotations

import json

import pytest

from rollout.smoke.plan import MAX_CHECKS_PER_POD
from rollout.smoke.probe import (
    EncodedCheck,
    decode_checks,
    encode_checks,
    listener_pod,
    parse_output,
    probe_pod,
)


def test_checks_round_trip() -> None:
    checks = [EncodedCheck(0, "tcp", "10.0.0.1", 80, 2, 5), EncodedCheck(1, "dns", "a.b", 53, 2, 9)]
    assert decode_checks(encode_checks(checks)) == checks


def test_worst_case_result_fits_the_termination_message() -> None:
    rows = [[i, 1, 9999, 9999] for i in range(MAX_CHECKS_PER_POD)]
    message = json.dumps({"v": 1, "t": 1, "r": rows}, separators=(",", ":"))
    assert len(message.encode()) < 4096
    out = parse_output(message)
    assert out.tools_ok and len(out.observations) == MAX_CHECKS_PER_POD


@pytest.mark.parametrize(
    "message", ["", "oops", '{"v":2,"r":[]}', '{"v":1,"r":[[1,2]]}', '{"v":1,"r":[["a",1,1,1]]}']
)
def test_anything_else_is_refused(message: str) -> None:
    with pytest.raises(ValueError):
        parse_output(message)


def test_probe_pod_carries_source_labels_and_needs_no_token() -> None:
    pod = probe_pod(
        name="p",
        namespace="web",
        source_labels={"app": "web"},
        labels={"netpol-rollout.io/smoke-run": "r1"},
        image="busybox:1.36",
        checks=[EncodedCheck(0, "tcp", "10.0.0.1", 80, 2, 5)],
        deadline_seconds=300,
    )
    assert pod["metadata"]["labels"] == {"app": "web", "netpol-rollout.io/smoke-run": "r1"}
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] == 300
    assert spec["containers"][0]["env"][0]["value"] == "0 tcp 10.0.0.1 80 2 5"
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_listener_on_a_low_port_may_bind_it() -> None:
    pod = listener_pod(
        name="l",
        namespace="api",
        target_labels={"app": "api"},
        labels={},
        image="busybox:1.36",
        ports=[(80, "TCP"), (5353, "UDP")],
        deadline_seconds=300,
    )
    container = pod["spec"]["containers"][0]
    assert "NET_BIND_SERVICE" in container["securityContext"]["capabilities"]["add"]
    assert "serve 80 " in container["command"][2]
    assert "nc -lu -p 5353" in container["command"][2]
