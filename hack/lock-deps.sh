#!/usr/bin/env bash
# Regenerates requirements/lock.txt: every runtime, postgres and test dependency
# of pyproject.toml, pinned with hashes, for Python 3.11 on Linux. CI installs
# from it with --require-hashes, so a new release of a dependency cannot turn
# main red and a tampered download is refused.
#
#   hack/lock-deps.sh              re-resolve, keeping current pins where allowed
#   hack/lock-deps.sh --upgrade    move every pin to the newest allowed version
#
# Uses uv (from PyPI) only to resolve; installing stays plain pip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v uv >/dev/null 2>&1 || python -m pip install -q --disable-pip-version-check uv
upgrade=()
[[ "${1:-}" == --upgrade ]] && upgrade=(--upgrade)
uv pip compile pyproject.toml --extra test --extra postgres \
  --generate-hashes --no-annotate --no-header \
  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
  "${upgrade[@]}" -o requirements/lock.txt
echo "requirements/lock.txt: $(grep -c '==' requirements/lock.txt) pinned packages"
