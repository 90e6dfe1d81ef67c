"""The one exception tree of netpol-rollout.

Adapters translate third-party exceptions into these at the edge
(``raise ... from exc``); entry points map them to exit codes in one place
(:mod:`rollout.cli.exits`). Every message names the file, field or object
at fault and what was expected, and never contains a secret. An error that
one file and line are to blame for may also carry them as `file` and `line`
(GitHub Actions annotations point there).

    RolloutError                      any error a user can cause or meet
    ├── ConfigError                   configuration file or environment (exit 2)
    ├── InputError                    bad command-line input, missing file (exit 2)
    ├── PolicyError                   malformed NetworkPolicy or manifest (exit 3)
    ├── ValidationError               a revision fails validation (exit 3)
    ├── GitError                      repository unreachable, bad revision (exit 4)
    ├── ClusterError                  apiserver unreachable or refused (exit 5)
    │   └── ApplyError                some objects did not land (exit 5)
    ├── SmokeTestError                smoke tests failed (exit 6)
    ├── GateClosedError               outside a usable window, or held (exit 7)
    ├── ApprovalError                 an approval was refused (exit 8)
    │   ├── AuthError                 unknown identity, bad token (exit 8)
    │   │   └── SignatureError        forged, stale or replayed request (exit 8)
    │   └── ConflictError             the rollout's state takes no such decision (exit 8)
    ├── StoreError                    state store unusable, schema too new (exit 9)
    ├── NotificationError             a channel refused a delivery (exit 10)
    └── OutputError                   output could not be written in full (exit 11)
"""

from __future__ import annotations


class RolloutError(Exception):
    """Root of every error netpol-rollout raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        details: list[str] | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[str] = list(details or [])
        # Where the problem is, when one file and line are to blame: CI
        # annotations (`::error file=...,line=...`) point there.
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return "\n".join([self.message, *(f"  {line}" for line in self.details)])


class ConfigError(RolloutError):
    exit_code = 2


class InputError(RolloutError):
    exit_code = 2


class PolicyError(RolloutError):
    exit_code = 3


class ValidationError(RolloutError):
    exit_code = 3


class GitError(RolloutError):
    exit_code = 4


class ClusterError(RolloutError):
    exit_code = 5


class ApplyError(ClusterError):
    exit_code = 5


class SmokeTestError(RolloutError):
    exit_code = 6


class GateClosedError(RolloutError):
    exit_code = 7


class ApprovalError(RolloutError):
    exit_code = 8


class AuthError(ApprovalError):
    exit_code = 8


class SignatureError(AuthError):
    exit_code = 8


class ConflictError(ApprovalError):
    """The rollout is not in a state that accepts the decision (HTTP 409).

    Already approved, rejected, superseded, done, or not yet awaiting
    approval: the request was understood and allowed, but came at the wrong
    time. Identity and permission refusals stay `ApprovalError`/`AuthError`.
    """

    exit_code = 8


class StoreError(RolloutError):
    exit_code = 9


class NotificationError(RolloutError):
    exit_code = 10


class OutputError(RolloutError):
    """Standard output (or a report file) took only part of the output."""

    exit_code = 11
