"""`environments[].smoke`: the checks run after each apply."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from rollout.config.schema.types import Duration, DurationOrZero, Strict


class SmokeScript(Strict):
    """A custom check: a command whose exit code is the verdict.

    It runs with `/bin/sh -c` in its own process group, from the root of an
    export of the commit (holding `repository.subdirectory`), with
    `ENVIRONMENT`, `KUBECONFIG`, `ROLLOUT_ID` and `COMMIT_SHA` set.

    ```yaml
    scripts:
      - name: e2e
        command: k8s/network-policies/scripts/smoke-test.sh "$ENVIRONMENT"
        timeout: 5m
    ```
    """

    name: str | None = Field(default=None, description="Name in reports; none: the command itself.")
    command: str = Field(description="Shell command; exit code 0 passes, anything else fails.")
    timeout: Duration = Field(
        default=timedelta(minutes=5),
        description="Fails the check when it runs longer; its process group gets SIGTERM, "
        "then SIGKILL.",
    )


class SmokeSettings(Strict):
    """Checks run after each apply to this environment (docs/smoke-tests.md).

    Probe pods test the expectations in `repository.smoke_tests_file`, plus the
    built-in DNS and CNI checks and custom scripts. A failed check fails the
    stage and the environment is put back on its last good revision.

    ```yaml
    smoke:
      image: busybox:1.36
      timeout: 20s
      parallelism: 4
      dns_check: true
      cni_canary: true
    ```
    """

    enabled: bool = Field(
        default=True, description="`false`: nothing runs and the smoke stage passes at once."
    )
    image: str = Field(
        default="busybox:1.36",
        description="Image of the probe and listener pods; it needs `sh`, `nc`, `wget` and "
        "`nslookup` (busybox has all).",
    )
    timeout: Duration = Field(
        default=timedelta(seconds=20),
        description="Timeout of each connectivity check that sets none in the spec.",
    )
    start_timeout: Duration = Field(
        default=timedelta(seconds=120),
        description="A probe pod not running by then (image pull, scheduling) fails its checks.",
    )
    settle: DurationOrZero = Field(
        default=timedelta(seconds=5),
        description="How long a new probe pod waits before its checks count. Enforcers "
        "that program a new pod's rules after it starts (kube-router on its next sync) let "
        "its first connections through; `0s` where the plugin isolates pods before they "
        "run.",
    )
    parallelism: int = Field(
        default=4, ge=1, le=64, description="Probe pods started and checked at once (1-64)."
    )
    dns_check: bool = Field(
        default=True,
        description="Built-in `dns` check: a pod in every managed namespace must resolve "
        "the cluster's API service name. The spec's `disable` can also skip it.",
    )
    cni_canary: bool = Field(
        default=True,
        description="Built-in `cni-canary` check: traffic no policy allows must be blocked, "
        "proving the network plugin enforces NetworkPolicy. Its namespace (the spec's "
        "`canary_namespace`, else the first of `namespaces`) needs a default-deny baseline.",
    )
    rollback_on_failure: bool = Field(
        default=True,
        description="A failed smoke test re-applies the last good revision (in a fleet: "
        "the failed cluster, or its wave). `false` keeps the failed revision in place for "
        "inspection and says so.",
    )
    scripts: tuple[SmokeScript, ...] = Field(
        default=(), description="Custom checks, run after the probe checks."
    )
