#!/usr/bin/env bash
# Builds np-guard's netpol-analyzer CLI (`netpolicy`, the Go module
# github.com/np-guard/netpol-analyzer) from the Go module proxy, for the
# side-by-side benchmark (benchmarks/bench_cli_vs_netpol_analyzer.py).
# Prints the binary's path as the last line of stdout.
#
#   hack/netpol-analyzer.sh           build when missing (instant when present)
#   hack/netpol-analyzer.sh --force   rebuild
#
# The version is pinned in hack/netpol-analyzer/go.mod (+ go.sum). To move
# it: `go list -m -versions github.com/np-guard/netpol-analyzer`, edit the
# require line, `go mod tidy` there. (`go install ...@VERSION` also works
# where the proxy serves the module's version list; ours refuses the list,
# so a pinned module is built instead.) First build on 2 heavily loaded cores:
# 25-35 min (the kubectl and cloud client libraries it pulls in); later builds
# reuse Go's build cache.
#
# Environment: NETPOL_ANALYZER_BIN_DIR (default ~/.cache/netpol-rollout/netpol-analyzer-VERSION), GO.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod_dir="$repo_root/hack/netpol-analyzer"
version="$(awk '/^require github.com\/np-guard\/netpol-analyzer/ {print $3}' "$mod_dir/go.mod")"
bin_dir="${NETPOL_ANALYZER_BIN_DIR:-${HOME}/.cache/netpol-rollout/netpol-analyzer-${version}}"
go_cmd="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

case "${1:-}" in
  --force) rm -f "$bin_dir/netpolicy" ;;
  "") ;;
  *) echo "netpol-analyzer: unknown argument '$1' (expected --force or nothing)" >&2; exit 2 ;;
esac

if [[ ! -x "$bin_dir/netpolicy" ]]; then
  mkdir -p "$bin_dir"
  echo "netpol-analyzer: building $version into $bin_dir (minutes)" >&2
  (cd "$mod_dir" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=readonly" \
    "$go_cmd" build -o "$bin_dir/netpolicy.tmp" github.com/np-guard/netpol-analyzer/cmd/netpolicy)
  mv "$bin_dir/netpolicy.tmp" "$bin_dir/netpolicy"
fi
echo "$bin_dir/netpolicy"
