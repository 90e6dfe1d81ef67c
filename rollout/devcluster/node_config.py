"""What a real node needs from the machine, and the configuration files it runs with.

`preflight()` checks everything before anything is created and raises
RealNodeUnavailable naming every missing piece at once: root, the built
kubelet and kube-router (`hack/node-binaries.sh`), Debian packages, kernel
features. The writers produce containerd's, the CNI plugin's and the
kubelet's configuration (the settings real-node-notes.md found required).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rollout.devcluster.binaries import bin_dir
from rollout.devcluster.errors import RealNodeUnavailable
from rollout.devcluster.node_images import required_programs

NODE_BUILD_SCRIPT = Path("hack") / "node-binaries.sh"
CNI_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
CNI_PLUGINS = ("bridge", "host-local", "loopback")
# program -> Debian package that ships it
HOST_PROGRAMS = {
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "ipset": "ipset",
    "conntrack": "conntrack",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "umount": "mount",
}


@dataclass(frozen=True)
class NodeBinaries:
    kubelet: Path
    kube_router: Path
    containerd: Path
    ctr: Path
    cni_dir: Path


def preflight() -> NodeBinaries:
    """Check that this machine can run a real node; raise RealNodeUnavailable if not."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root (the node creates network namespaces, cgroups and mounts)")
    folder = bin_dir()
    for name in ("kubelet", "kube-router"):
        if not os.access(folder / name, os.X_OK):
            missing.append(f"{name} in {folder} (build it with `{NODE_BUILD_SCRIPT}`)")
    for program, package in HOST_PROGRAMS.items():
        if shutil.which(program) is None:
            missing.append(f"{program} (Debian package {package})")
    for program in required_programs():
        if shutil.which(program) is None and not Path(program).exists():
            missing.append(f"{program} (for the locally built images)")
    cni_dir = next((d for d in CNI_DIRS if all((d / p).exists() for p in CNI_PLUGINS)), None)
    if cni_dir is None:
        missing.append(
            f"CNI plugins {', '.join(CNI_PLUGINS)} in {' or '.join(map(str, CNI_DIRS))} "
            "(Debian package containernetworking-plugins)"
        )
    if not Path("/proc/sys/net/bridge").exists():
        missing.append("kernel feature br_netfilter (/proc/sys/net/bridge is absent)")
    if "overlay" not in Path("/proc/filesystems").read_text():
        missing.append("kernel feature overlayfs (containerd's snapshotter)")
    if not Path("/proc/self/ns/net").exists():
        missing.append("kernel feature network namespaces")
    if missing:
        raise RealNodeUnavailable(
            "this machine cannot run a real node; missing: " + "; ".join(missing)
        )
    return NodeBinaries(
        kubelet=folder / "kubelet",
        kube_router=folder / "kube-router",
        containerd=Path(shutil.which("containerd") or "containerd"),
        ctr=Path(shutil.which("ctr") or "ctr"),
        cni_dir=cni_dir or CNI_DIRS[0],
    )


NODE_BUILD_NOTE = (
    "a one-time build of kubelet and kube-router from Go modules (needs Go >= 1.24; "
    "about 30 minutes on 2 cores, ~2.5 GB of Go caches)"
)


def missing_for_real_node() -> str:
    """ "" when this machine can run a real node, else what is missing (one sentence)."""
    try:
        preflight()
    except RealNodeUnavailable as exc:
        return str(exc)
    return ""


def build_node_binaries(*, echo: Callable[[str], None]) -> str:
    """Run `hack/node-binaries.sh` of this source checkout (progress to the terminal);
    then what is still missing for a real node ("" when nothing)."""
    script = Path(__file__).resolve().parents[2] / NODE_BUILD_SCRIPT
    if not script.is_file():
        return missing_for_real_node() + f" ({NODE_BUILD_SCRIPT} is not in this installation)"
    echo(f"building kubelet and kube-router with {script}: {NODE_BUILD_NOTE}")
    done = subprocess.run(["bash", str(script)], check=False, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        return f"{script} failed with exit code {done.returncode}"
    return missing_for_real_node()


def write_containerd_config(
    path: Path, *, work: Path, cni_dir: Path, cni_conf_dir: Path, pause_image: str
) -> None:
    """containerd with private root, state and socket; cgroupfs; no oom_score_adj.

    `restrict_oom_score_adj`: without CAP_SYS_RESOURCE runc cannot set a pod's
    oom_score_adj and every sandbox fails ("can't get final child's PID").
    """
    runc_root = work / "runc"
    path.write_text(
        f"""version = 2
root = "{work / "containerd-root"}"
state = "{work / "containerd-state"}"
[grpc]
  address = "{work / "containerd.sock"}"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{work / "opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_dir}"
    conf_dir = "{cni_conf_dir}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc_root}"
"""
    )


def write_cni_config(
    conf_dir: Path, *, bridge: str, subnet: str, gateway: str, ipam_dir: Path
) -> None:
    conf_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "cniVersion": "0.4.0",
        "name": "netpol-real-node",  # real_node.CNI_NETWORK
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": subnet, "gateway": gateway}]],
                    "dataDir": str(ipam_dir),
                },
            }
        ],
    }
    (conf_dir / "10-bridge.conflist").write_text(json.dumps(config, indent=2))


def write_kubelet_config(
    path: Path, *, socket_path: Path, cgroup_root: str, pod_logs: Path
) -> None:
    """The kubelet settings the notes found required, plus quiet eviction."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{socket_path}",
        "resolvConf": "",
        "podLogsDir": str(pod_logs),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "address": "127.0.0.1",
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # A shared CI machine may be short of disk or memory: never evict test pods.
        "evictionHard": {
            "memory.available": "0%",
            "nodefs.available": "0%",
            "nodefs.inodesFree": "0%",
            "imagefs.available": "0%",
        },
        "localStorageCapacityIsolation": False,
        "protectKernelDefaults": False,
        "syncFrequency": "10s",
        "fileCheckFrequency": "60s",
        "nodeStatusUpdateFrequency": "5s",
        "maxPods": 250,
        "podPidsLimit": -1,
        "enableDebuggingHandlers": False,
        "logging": {"format": "text"},
    }
    path.write_text(json.dumps(config, indent=2))
