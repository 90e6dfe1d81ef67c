# Sourced by hack/kube-binaries.sh and hack/node-binaries.sh (not run on its own):
# the Kubernetes pin they share, the cache folder, `--force`/`--help` parsing,
# finding Go, and the version stamp of Kubernetes binaries.
# The caller sets `log_name` first.

KUBE_VERSION=v1.34.4
KUBE_MAJOR=1
KUBE_MINOR=34
# Release timestamp from the module proxy, so the stamped buildDate is reproducible.
KUBE_BUILD_DATE=2026-02-10T12:53:36Z

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_dir="$repo_root/hack/kube-tools"
bin_dir="${NETPOL_KUBE_BIN_DIR:-${HOME}/.cache/netpol-rollout/kube-${KUBE_VERSION}}"

log() { echo "$log_name: $*" >&2; }

# parse_force SCRIPT HELP_LINES [ARG]: sets `force` (0/1); --help prints the
# script's header comment (lines HELP_LINES, e.g. 2,17) and exits.
parse_force() {
  local script="$1" help_lines="$2"
  force=0
  case "${3:-}" in
    --force) force=1 ;;
    "") ;;
    -h|--help) sed -n "${help_lines}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument '$3' (expected --force or nothing)"; exit 2 ;;
  esac
}

# find_go: sets `go_cmd` ($GO, else `go` on PATH, else /usr/local/go/bin/go) or exits 1.
find_go() {
  go_cmd="${GO:-}"
  if [[ -z "$go_cmd" ]]; then
    if command -v go >/dev/null 2>&1; then go_cmd=go
    elif [[ -x /usr/local/go/bin/go ]]; then go_cmd=/usr/local/go/bin/go
    else log "no Go toolchain found: install Go >= 1.24 or set GO=/path/to/go"; exit 1
    fi
  fi
}

# kube_ldflags: the linker flags that stamp KUBE_VERSION into a Kubernetes binary.
kube_ldflags() {
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=${KUBE_MAJOR}"
    flags+=" -X ${pkg}.gitMinor=${KUBE_MINOR} -X ${pkg}.gitTreeState=clean"
    flags+=" -X ${pkg}.gitCommit= -X ${pkg}.buildDate=${KUBE_BUILD_DATE}"
  done
  echo "$flags"
}
