#!/usr/bin/env bash
# Builds the real node's pinned kubelet and kube-router (the NetworkPolicy
# enforcer) from Go modules only, into the same cache folder as
# hack/kube-binaries.sh. Prints that folder as the last line of stdout.
#
#   hack/node-binaries.sh            build what is missing (under a second if all present)
#   hack/node-binaries.sh --force    rebuild both
#
# Environment:
#   NETPOL_KUBE_BIN_DIR  target folder (default ~/.cache/netpol-rollout/kube-v1.34.4)
#   GO                   go command (default: `go` on PATH, else /usr/local/go/bin/go)
#
# kubelet comes from hack/kube-tools/kubelet (the same pinned k8s.io/kubernetes
# as the apiserver, plus the requirements only the kubelet needs; a sibling
# module so the apiserver's build list never moves). kube-router v2.1.0 is the
# only release the Go module proxy serves here; it has reported security flaws,
# acceptable for an enforcer that only ever sees a loopback test cluster.
# First build on 2 loaded cores: kubelet ~15 min, kube-router ~18 min, ~2.5 GB
# of new Go caches; binaries 82 MB (kube-router) + ~75 MB (kubelet).
set -euo pipefail

KUBE_ROUTER_MODULE=github.com/cloudnativelabs/kube-router/v2
KUBE_ROUTER_VERSION=v2.1.0
KUBE_ROUTER_BUILD_DATE=2024-03-02T21:45:54Z

log_name=node-binaries
# shellcheck source=hack/lib/go-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-build.sh"
parse_force "${BASH_SOURCE[0]}" 2,20 "${1:-}"

kubelet_ok() {
  [[ -x "$bin_dir/kubelet" ]] && [[ "$("$bin_dir/kubelet" --version 2>/dev/null)" == "Kubernetes ${KUBE_VERSION}" ]]
}
kube_router_ok() {
  [[ -x "$bin_dir/kube-router" ]] &&
    [[ "$("$bin_dir/kube-router" --version 2>&1)" == *"version ${KUBE_ROUTER_VERSION},"* ]]
}

if [[ $force -eq 0 ]] && kubelet_ok && kube_router_ok; then
  log "up to date in $bin_dir"
  echo "$bin_dir"
  exit 0
fi

find_go

export CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$bin_dir"
total_start=$SECONDS

if [[ $force -eq 1 ]] || ! kubelet_ok; then
  start=$SECONDS
  log "building kubelet ${KUBE_VERSION} ..."
  # A temporary name and a rename: an interrupted build never looks installed.
  (cd "$tools_dir/kubelet" && GOFLAGS="-trimpath -mod=readonly" "$go_cmd" build \
    -ldflags "$(kube_ldflags)" -o "$bin_dir/.kubelet.tmp" k8s.io/kubernetes/cmd/kubelet)
  mv -f "$bin_dir/.kubelet.tmp" "$bin_dir/kubelet"
  log "built kubelet in $((SECONDS - start))s"
fi

if [[ $force -eq 1 ]] || ! kube_router_ok; then
  start=$SECONDS
  log "building kube-router ${KUBE_ROUTER_VERSION} ..."
  gobin="$bin_dir/.kube-router.gobin"
  rm -rf "$gobin"
  mkdir -p "$gobin"
  version_pkg="$KUBE_ROUTER_MODULE/pkg/version"
  (cd "$bin_dir" && GOBIN="$gobin" GOFLAGS=-trimpath "$go_cmd" install \
    -ldflags "-s -w -X ${version_pkg}.Version=${KUBE_ROUTER_VERSION} -X ${version_pkg}.BuildDate=${KUBE_ROUTER_BUILD_DATE}" \
    "$KUBE_ROUTER_MODULE/cmd/kube-router@${KUBE_ROUTER_VERSION}")
  mv -f "$gobin/kube-router" "$bin_dir/kube-router"
  rm -rf "$gobin"
  log "built kube-router in $((SECONDS - start))s"
fi

if ! { kubelet_ok && kube_router_ok; }; then
  log "built, but a version check failed:"
  "$bin_dir/kubelet" --version >&2 || true
  "$bin_dir/kube-router" --version >&2 || true
  exit 1
fi
log "done in $((SECONDS - total_start))s"
echo "$bin_dir"
