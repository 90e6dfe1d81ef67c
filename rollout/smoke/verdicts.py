"""Turn what a probe observed into a verdict with a sentence a person can act on (PURE)."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from rollout.smoke.plan import PlannedCheck
from rollout.smoke.probe import Observation
from rollout.smoke.results import CNI_NOT_ENFORCING, CheckResult, Outcome

BROKEN_TOOLS = (
    "the probe image's tools do not work: `nc` could not reach a listener on the pod's "
    "own loopback (or also reached a closed port), so no verdict can be trusted; use an "
    "image with nc, nslookup and wget (default busybox:1.36)"
)
NO_UDP_TOOL = (
    "the probe image's `nc` cannot tell an open UDP port from a closed one (Debian's busybox "
    "has no UDP, OpenBSD nc reports every UDP port open), so this UDP check cannot be "
    "judged; use an image with netcat-traditional, ncat or upstream busybox"
)

BROKEN_WGET = (
    "the probe image's `wget` crashed, so this HTTP check cannot be judged; use an image "
    "with a working wget (default busybox:1.36)"
)


def _base(check: PlannedCheck, outcome: Outcome, message: str, cause: str = "") -> CheckResult:
    return CheckResult(
        cause=cause,
        name=check.name,
        kind=check.role,
        outcome=outcome,
        message=message,
        source=check.source.describe(),
        target=check.target.describe(),
        port=None if check.kind == "dns" else check.port,
        protocol="" if check.kind == "dns" else check.protocol,
        expect=check.expect,
    )


def error(check: PlannedCheck, message: str, *, cause: str = "") -> CheckResult:
    """The check could not be run (probe did not start, destination missing, ...).

    `cause`: what stopped other checks too (stated once in reports); `message`
    is then what is particular to this check.
    """
    return _base(check, "error", message, cause)


def skipped(check: PlannedCheck, message: str, *, cause: str = "") -> CheckResult:
    return _base(check, "skipped", message, cause)


def verdict(check: PlannedCheck, seen: Observation | None, *, tools_ok: bool) -> CheckResult:
    """Compare the observation with the expectation."""
    if not tools_ok:
        return error(check, "not judged: the probe's self-test failed", cause=BROKEN_TOOLS)
    if seen is None:
        return error(check, "the probe reported no result for this check")
    if seen.attempts == 0 and check.kind == "udp":
        return error(check, "UDP not judged", cause=NO_UDP_TOOL)
    if seen.attempts == 0 and check.kind == "http":
        return error(check, "HTTP not judged", cause=BROKEN_WGET)
    observed: Literal["connected", "blocked"] = "connected" if seen.connected else "blocked"
    timeout = f"{check.timeout:g}s"
    tries = f"{seen.attempts} attempt{'s' if seen.attempts != 1 else ''}"
    if check.expect == "allow":
        ok = seen.connected
        if ok:
            message = f"connected after {seen.seconds}s ({tries})"
        elif check.role == "dns":
            message = (
                f"resolving {check.target.host} failed for {timeout} ({tries}) from namespace "
                f"{check.source.namespace}: is DNS egress (the allow-essentials rule) in place?"
            )
        else:
            message = f"blocked: no connection within {timeout} ({tries}), expected allow"
    else:
        ok = not seen.connected
        if ok:
            message = f"stayed blocked for the whole {timeout} ({tries})"
        elif check.role == "canary":
            message = (
                f"{CNI_NOT_ENFORCING} (Unless a policy in {check.source.namespace} allows "
                "traffic within the namespace: the canary needs a default-deny baseline; the "
                "static pre-check tells the two apart.)"
            )
        else:
            message = f"connected after {seen.seconds}s (attempt {seen.attempts}), expected deny"
    result = _base(check, "passed" if ok else "failed", message)
    return replace(result, observed=observed, attempts=seen.attempts, seconds=float(seen.seconds))
