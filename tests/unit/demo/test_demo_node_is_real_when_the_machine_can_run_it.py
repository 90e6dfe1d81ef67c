"""`rollout demo --node real|simulated|auto`: auto takes the real node when this machine
can run it and says plainly why not when it cannot; real refuses with what is missing;
node binaries are built only where allowed; the choice reads at 80 and 100 columns."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rollout.demo.nodes import NodeChoice, NodeUnavailable, choose_node, real_node_workload
from rollout.demo.view import DemoView

NOT_ROOT = (
    "this machine cannot run a real node; missing: root (the node creates network "
    "namespaces, cgroups and mounts); kernel feature br_netfilter (/proc/sys/net/bridge "
    "is absent)"
)
NO_BINARIES = (
    "this machine cannot run a real node; missing: kubelet in /root/.cache/x (build it "
    "with `hack/node-binaries.sh`); kube-router in /root/.cache/x (build it with "
    "`hack/node-binaries.sh`)"
)


def never_build() -> str:
    raise AssertionError("must not build")


def test_auto_is_real_when_the_machine_can_run_it() -> None:
    assert choose_node("auto", can_run=lambda: "", build=never_build) == NodeChoice("real")


def test_auto_is_simulated_with_the_reason_when_it_cannot() -> None:
    choice = choose_node("auto", can_run=lambda: NOT_ROOT, build=never_build)
    assert choice == NodeChoice("simulated", NOT_ROOT)


def test_simulated_is_simulated_without_asking_the_machine() -> None:
    def ask() -> str:
        raise AssertionError("must not ask")

    assert choose_node("simulated", can_run=ask, build=never_build).staging == "simulated"


def test_real_refuses_naming_what_is_missing() -> None:
    with pytest.raises(NodeUnavailable, match="missing: root"):
        choose_node("real", can_run=lambda: NOT_ROOT, build=never_build)


def test_missing_binaries_are_built_where_allowed() -> None:
    built: list[bool] = []

    def build() -> str:
        built.append(True)
        return ""

    assert choose_node("auto", can_run=lambda: NO_BINARIES, build=build).real
    assert built == [True]
    # A build that was refused (or failed) leaves the reason.
    choice = choose_node("auto", can_run=lambda: NO_BINARIES, build=lambda: NO_BINARIES)
    assert choice == NodeChoice("simulated", NO_BINARIES)


def test_workloads_on_the_real_node_answer_on_their_ports_with_the_local_image() -> None:
    pod = {
        "metadata": {"name": "coredns-0", "namespace": "kube-system", "labels": {"k": "v"}},
        "spec": {
            "containers": [
                {
                    "name": "dns",
                    "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                    "args": ["-conf", "x"],
                    "ports": [
                        {"containerPort": 53, "protocol": "UDP"},
                        {"containerPort": 53, "protocol": "TCP"},
                    ],
                }
            ]
        },
    }
    out = real_node_workload(pod, "netpol-rollout.local/probe-busybox-debian:1")
    (container,) = out["spec"]["containers"]
    assert out["metadata"] == pod["metadata"]
    assert container["image"] == "netpol-rollout.local/probe-busybox-debian:1"
    assert container["imagePullPolicy"] == "IfNotPresent" and "args" not in container
    script = container["command"][2]
    assert "nc -lu -p 53" in script and "httpd -f -p 53" in script
    assert pod["spec"]["containers"][0]["image"].startswith("registry.k8s.io")  # not mutated


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("choice", [NodeChoice("real"), NodeChoice("simulated", NOT_ROOT)])
def test_the_node_is_said_in_lines_that_fit(width: int, choice: NodeChoice) -> None:
    out = io.StringIO()
    view = DemoView(Console(file=out, width=width, no_color=True, highlight=False))
    view.node_choice(choice)
    view.setup_done(
        root=__import__("pathlib").Path("/tmp/netpol-demo-x"),
        url="http://127.0.0.1:5000",
        webhook="http://127.0.0.1:5001/hook",
        approver="demo-approver",
        smoke_timeout="3s",
        node=choice,
    )
    view.smoke(
        "staging",
        {"ok": True, "report": {"node": choice.staging, "results": [{"outcome": "passed"}]}},
    )
    text = out.getvalue()
    assert all(len(line) <= width for line in text.splitlines()), text
    flat = " ".join(text.split())
    assert f"smoke tests in staging (node: {choice.staging}): 1 of 1 checks passed" in flat
    if choice.real:
        assert "staging runs on the real node" in flat
        assert "kube-router" in flat
    else:
        assert "node: simulated (staging and production); not the real node:" in flat
        assert "missing: root" in flat
