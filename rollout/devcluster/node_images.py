"""Container images for the real node, built locally from installed Debian packages.

No registry and no download: each image is one layer holding programs that
Debian packages installed on this machine (plus the shared libraries `ldd`
names), written as a docker-archive tarball (layer tar, config JSON,
`manifest.json`) that `ctr images import` reads. Pods use the exact tag with
`imagePullPolicy: IfNotPresent`, so the kubelet never pulls.

* `PAUSE_IMAGE`: the sandbox image, a tiny static program (gcc, libc6-dev)
  that sleeps until a signal ends it.
* `PROBE_IMAGES`: one probe image per `nc` a user's image may carry. Each has
  `sh`, `wget`, `nslookup`, `date`, `sleep`... from Debian's busybox; they
  differ in `sh` and `nc`:
  - `busybox-debian`: Debian's busybox alone (its `nc` has no `-z`, no `-u`,
    and its `sh` runs its own applets whatever PATH says);
  - `openbsd`, `traditional`, `ncat`: dash as `sh` and netcat-openbsd,
    netcat-traditional or nmap's ncat as `nc`.
  Upstream busybox's full `nc` is not in any Debian package, so it has no image.

Tarballs are cached by content in `cache_dir`; a rebuild happens only when an
input file changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rollout.devcluster.errors import RealNodeUnavailable

IMAGE_PREFIX = "netpol-rollout.local"
PAUSE_IMAGE = f"{IMAGE_PREFIX}/pause:1"
PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"

_PAUSE_C = r"""
#include <signal.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
int main(void) {
  signal(SIGINT, stop); signal(SIGTERM, stop);
  for (;;) pause();
}
"""


@dataclass(frozen=True)
class ProbeImage:
    variant: str
    nc: str  # host path of the nc program ("" : busybox's applet)
    shell: str  # host path of sh ("" : busybox's applet)

    @property
    def tag(self) -> str:
        return f"{IMAGE_PREFIX}/probe-{self.variant}:1"


PROBE_IMAGES: Mapping[str, ProbeImage] = {
    image.variant: image
    for image in (
        ProbeImage("busybox-debian", nc="", shell=""),
        ProbeImage("openbsd", nc="/bin/nc.openbsd", shell="/bin/dash"),
        ProbeImage("traditional", nc="/bin/nc.traditional", shell="/bin/dash"),
        ProbeImage("ncat", nc="/usr/bin/ncat", shell="/bin/dash"),
    )
}
DEFAULT_PROBE_IMAGE = PROBE_IMAGES["busybox-debian"].tag
BUSYBOX = "/bin/busybox"


def required_programs() -> list[str]:
    """Host programs the images are made of (preflight names the missing ones)."""
    programs = {BUSYBOX, "gcc", *(i.nc for i in PROBE_IMAGES.values() if i.nc)}
    programs |= {i.shell for i in PROBE_IMAGES.values() if i.shell}
    return sorted(programs)


def build_images(cache_dir: Path) -> dict[str, Path]:
    """Build (or reuse) every image tarball; returns tag -> tarball path.

    Raises RealNodeUnavailable naming a missing program or a failed compile.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = {PAUSE_IMAGE: _pause_image(cache_dir)}
    for image in PROBE_IMAGES.values():
        out[image.tag] = _probe_image(cache_dir, image)
    return out


def _pause_image(cache_dir: Path) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RealNodeUnavailable(
            "gcc is missing (Debian packages gcc, libc6-dev): it builds the pause image"
        )
    source_hash = hashlib.sha256(_PAUSE_C.encode()).hexdigest()[:16]
    binary = cache_dir / f"pause-{source_hash}"
    if not binary.exists():
        source = cache_dir / "pause.c"
        source.write_text(_PAUSE_C)
        done = subprocess.run(
            [gcc, "-static", "-Os", "-s", "-o", f"{binary}.tmp", str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RealNodeUnavailable(f"cannot compile the pause program: {done.stderr[-800:]}")
        Path(f"{binary}.tmp").rename(binary)
    files = {"/pause": binary.read_bytes()}
    return _write_archive(cache_dir, PAUSE_IMAGE, files, {}, ["/pause"])


def _probe_image(cache_dir: Path, image: ProbeImage) -> Path:
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    _add_program(files, BUSYBOX, "/bin/busybox")
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        links[f"/bin/{applet}"] = "busybox"
    if image.shell:
        _add_program(files, image.shell, "/bin/dash")
        links["/bin/sh"] = "dash"
    if image.nc:
        _add_program(files, image.nc, f"/bin/{Path(image.nc).name}")
        links["/bin/nc"] = Path(image.nc).name
    files["/etc/passwd"] = (
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    )
    files["/etc/group"] = b"root:x:0:\nnogroup:x:65534:\n"
    return _write_archive(cache_dir, image.tag, files, links, ["/bin/sh"])


def _add_program(files: dict[str, bytes], host_path: str, image_path: str) -> None:
    path = Path(host_path)
    if not path.exists():
        raise RealNodeUnavailable(f"{host_path} is missing: install the Debian package with it")
    files[image_path] = path.read_bytes()
    for library in _libraries(host_path):
        files.setdefault(library, Path(library).resolve().read_bytes())


def _libraries(program: str) -> list[str]:
    done = subprocess.run(["ldd", program], capture_output=True, text=True, check=False)
    if done.returncode != 0:  # "not a dynamic executable"
        return []
    libraries = []
    for line in done.stdout.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libraries.append(parts[2])
        elif parts and parts[0].startswith("/"):
            libraries.append(parts[0])  # the loader
    return libraries


def _write_archive(
    cache_dir: Path,
    tag: str,
    files: Mapping[str, bytes],
    links: Mapping[str, str],
    entrypoint: list[str],
) -> Path:
    layer = _layer_tar(files, links, dirs=("/tmp", "/etc", "/dev", "/proc", "/sys", "/root"))
    diff_id = hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": [PATH_ENV], "Entrypoint": entrypoint, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
            "history": [{"created_by": "netpol-rollout node_images"}],
        },
        sort_keys=True,
    ).encode()
    config_id = hashlib.sha256(config).hexdigest()
    target = cache_dir / f"{tag.rsplit('/', 1)[-1].replace(':', '_')}-{config_id[:16]}.tar"
    if target.exists():
        return target
    manifest = json.dumps(
        [{"Config": f"{config_id}.json", "RepoTags": [tag], "Layers": [f"{diff_id}/layer.tar"]}]
    ).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        _add_bytes(archive, f"{diff_id}/layer.tar", layer, 0o644)
        _add_bytes(archive, f"{config_id}.json", config, 0o644)
        _add_bytes(archive, "manifest.json", manifest, 0o644)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.rename(target)
    return target


def _layer_tar(files: Mapping[str, bytes], links: Mapping[str, str], dirs: Iterable[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        parents = set(dirs)
        for path in [*files, *links]:
            parent = str(Path(path).parent)
            while parent != "/":
                parents.add(parent)
                parent = str(Path(parent).parent)
        for directory in sorted(parents):
            info = tarfile.TarInfo(directory.lstrip("/"))
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "/tmp" else 0o755
            archive.addfile(info)
        for path in sorted(files):
            mode = 0o644 if path.startswith("/etc/") else 0o755
            _add_bytes(archive, path.lstrip("/"), files[path], mode)
        for path in sorted(links):
            if path in files:
                continue
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type = tarfile.SYMTYPE
            info.linkname = links[path]
            archive.addfile(info)
    return buffer.getvalue()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    archive.addfile(info, io.BytesIO(data))
