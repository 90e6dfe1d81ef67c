#!/usr/bin/env bash
# Builds the pinned kube-apiserver, etcd and kubectl used by the integration
# tests, from Go modules only (no release downloads), into a cache folder
# outside the git tree. Prints that folder as the last line of stdout.
#
#   hack/kube-binaries.sh            build what is missing (seconds if all present)
#   hack/kube-binaries.sh --force    rebuild all three
#
# Environment:
#   NETPOL_KUBE_BIN_DIR  target folder (default ~/.cache/netpol-rollout/kube-v1.34.4)
#   GO                   go command (default: `go` on PATH, else /usr/local/go/bin/go)
#
# The pins live in hack/kube-tools/{kubernetes,etcd}/go.mod (+ go.sum);
# hack/kube-tools/regen.sh explains why and regenerates them.
# First build on 2 cores: ~6 min, ~3.6 GB (module cache ~0.8 GB, build cache
# ~2.6 GB, binaries 182 MB). The Go caches stay in their default places, so a
# forced rebuild takes ~25 s.
set -euo pipefail

ETCD_VERSION=v3.6.4

log_name=kube-binaries
# shellcheck source=hack/lib/go-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-build.sh"
parse_force "${BASH_SOURCE[0]}" 2,17 "${1:-}"

# `<bin> --version` (or `kubectl version --client`) must print the pinned version.
binary_ok() {
  local name="$1" want="$2" out
  [[ -x "$bin_dir/$name" ]] || return 1
  case "$name" in
    kubectl) out="$("$bin_dir/$name" version --client 2>/dev/null)" || return 1 ;;
    *) out="$("$bin_dir/$name" --version 2>/dev/null)" || return 1 ;;
  esac
  [[ "$out" == *"$want"* ]]
}

all_ok() {
  binary_ok kube-apiserver "Kubernetes ${KUBE_VERSION}" &&
    binary_ok kubectl "${KUBE_VERSION}" &&
    binary_ok etcd "etcd Version: ${ETCD_VERSION#v}"
}

if [[ $force -eq 0 ]] && all_ok; then
  log "up to date in $bin_dir"
  echo "$bin_dir"
  exit 0
fi

find_go

# Static, path-independent binaries; never let `go` touch the pinned go.mod/go.sum.
export CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly" GOTOOLCHAIN=local
mkdir -p "$bin_dir"

kube_ldflags="$(kube_ldflags)"
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=go-module-${ETCD_VERSION}"

build() {
  local module_dir="$1" pkg="$2" out="$3" ldflags="$4" start=$SECONDS
  log "building $out from $pkg ..."
  # Build into a temporary name and rename, so an interrupted build never
  # leaves a half-written binary that looks installed.
  (cd "$module_dir" && "$go_cmd" build -ldflags "$ldflags" -o "$bin_dir/.$out.tmp" "$pkg")
  mv -f "$bin_dir/.$out.tmp" "$bin_dir/$out"
  log "built $out in $((SECONDS - start))s"
}

total_start=$SECONDS
if [[ $force -eq 1 ]] || ! binary_ok etcd "etcd Version: ${ETCD_VERSION#v}"; then
  build "$tools_dir/etcd" go.etcd.io/etcd/server/v3 etcd "$etcd_ldflags"
fi
if [[ $force -eq 1 ]] || ! binary_ok kube-apiserver "Kubernetes ${KUBE_VERSION}"; then
  build "$tools_dir/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$kube_ldflags"
fi
if [[ $force -eq 1 ]] || ! binary_ok kubectl "${KUBE_VERSION}"; then
  build "$tools_dir/kubernetes" k8s.io/kubernetes/cmd/kubectl kubectl "$kube_ldflags"
fi

if ! all_ok; then
  log "built, but a version check failed:"
  "$bin_dir/kube-apiserver" --version >&2 || true
  "$bin_dir/etcd" --version >&2 || true
  "$bin_dir/kubectl" version --client >&2 || true
  exit 1
fi
log "done in $((SECONDS - total_start))s"
echo "$bin_dir"
