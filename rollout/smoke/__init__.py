"""Smoke tests: prove required traffic flows and forbidden traffic is blocked.

Pure parts: `spec` (smoke-tests.yaml), `plan` (probe plan), `probe` (pod
manifests and the probe script), `verdicts`, `results` (report + renderers).
I/O parts: `runner` (probe pods through a `ProbeCluster`), `scripts`
(custom commands), `suite` (from an Environment to a report).
"""
