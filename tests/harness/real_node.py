"""Test helpers for the real node: a footprint of the host to prove teardown, and
NetworkPolicy manifests.

`host_footprint()` lists everything a real node could leave on the machine:
network namespaces, links, host iptables rules and ipsets, cgroups, mounts,
processes started from the node's folder, and the node folders themselves.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from rollout.devcluster import node_host
from rollout.devcluster.real_node import BASE_DIR, SHARED_DIRS


def _lines(argv: list[str]) -> list[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.splitlines()


def host_footprint() -> dict[str, list[str]]:
    iptables = [
        re.sub(r"\[\d+:\d+\]", "", line)
        for line in _lines(["iptables-save"])
        if not line.startswith("#")
    ]
    cgroups = sorted(
        str(p)
        for hierarchy in node_host.cgroup_hierarchies()
        for p in hierarchy.glob("netpol-rollout-node-*")
    )
    return {
        "netns": sorted(n for n in _lines(["ip", "netns", "list"]) if "netpol-node" in n),
        "links": sorted(line.split(":")[1].strip() for line in _lines(["ip", "-o", "link"])),
        "iptables": iptables,
        "ipsets": _lines(["ipset", "list", "-n"]),
        "cgroups": cgroups,
        "mounts": [str(p) for p in node_host.mounts_under(BASE_DIR)],
        "processes": [str(p) for p in node_host.pids_mentioning(str(BASE_DIR))],
        "folders": sorted(str(p) for p in BASE_DIR.glob("node-*")) if BASE_DIR.exists() else [],
        "shared": sorted(
            str(p)
            for d in (*SHARED_DIRS, Path("/var/log/pods"))
            for p in ([d] if d.exists() else []) + _walk(d)
        ),
    }


def _walk(directory: Path) -> list[Path]:
    return list(directory.rglob("*")) if directory.is_dir() else []


def network_policy(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def write_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
