"""`rollout demo --node real` where no real node can run: exit 2 at once, naming what is
missing, before any cluster starts; `--no-build` never builds the node binaries."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from rollout.cli import demo_cmd

pytestmark = pytest.mark.integration


def test_node_real_without_node_binaries_exits_2_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The apiserver's binaries are there (stand-ins: nothing starts), the node's are not.
    for name in ("etcd", "kube-apiserver", "kubectl"):
        stand_in = tmp_path / name
        stand_in.write_text("#!/bin/sh\nexit 1\n")
        stand_in.chmod(0o755)
    monkeypatch.setenv("NETPOL_KUBE_BIN_DIR", str(tmp_path))
    out = io.StringIO()

    code = demo_cmd.run(
        Console(file=out, width=100, no_color=True), keep=False, build=False, node="real"
    )

    text = " ".join(out.getvalue().split())
    assert code == demo_cmd.EXIT_NO_BINARIES, text
    assert "--node real: this machine cannot run a real node; missing:" in text
    assert f"kubelet in {tmp_path}" in text and f"kube-router in {tmp_path}" in text
    assert "starting staging" not in text
