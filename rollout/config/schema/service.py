"""`store` and `server`: the state store and the HTTP service with leader election."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from rollout.config.schema.cluster import ClusterRef
from rollout.config.schema.types import DnsLabel, Duration, HttpUrl, SecretRef, Strict


class Store(Strict):
    """The state store: `sqlite:///path` (default) or `postgresql://...`.

    It holds rollouts, approvals, the audit log and the notification outbox.
    Use PostgreSQL for more than one replica.

    ```yaml
    store:
      url: postgresql://netpol@db.internal/netpol_rollout
    ```
    """

    url: str = Field(
        default="sqlite:///netpol-rollout.db",
        description="SQLAlchemy database URL: `sqlite:///PATH` (relative to the "
        "configuration file's folder; `sqlite:////abs/path` for an absolute one) or "
        "`postgresql://...`; "
        "give a password with `${VAR}`.",
    )

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            shown = f"a {scheme}:// URL" if scheme else "no URL scheme"
            raise ValueError(f"expected sqlite:///PATH or postgresql://..., got {shown}")
        return url


class Server(Strict):
    """`rollout serve`: HTTP (webhooks, Slack, API, dashboard) and leader election.

    Every replica serves HTTP; one leader (the Lease holder, with
    `leader_election`) polls git, drives rollouts and delivers notifications.

    ```yaml
    server:
      listen: 0.0.0.0:8080
      public_url: https://netpol-rollout.example.com
      leader_election: true
    ```
    """

    listen: str = Field(
        default="127.0.0.1:8080",
        description="`HOST:PORT` to serve HTTP on; `rollout serve --listen` overrides it.",
    )
    public_url: HttpUrl | None = Field(
        default=None,
        description="The URL users reach the service at: links in notifications, and the "
        "dashboard's allowed origin and secure cookies. None: no links.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Larger request bodies are refused with 413 (at least 1024).",
    )
    replay_retention: Duration = Field(
        default=timedelta(days=7),
        description="How long Slack request signatures and GitHub delivery ids are "
        "remembered to refuse replays; the leader prunes older ones every hour. Keep it "
        "past GitHub's redelivery horizon (3 days); Slack's requests expire after 5 minutes.",
    )
    trusted_user_header: str | None = Field(
        default=None,
        description="Request header naming the signed-in member (name or email) for the "
        "dashboard. Only behind an authenticating proxy that sets it and strips it from "
        "client requests. None: sign in with an API token.",
    )
    leader_election: bool = Field(
        default=False,
        description="Elect a leader with a Kubernetes Lease; required with more than one "
        "replica. `false`: this replica always leads.",
    )
    lease_namespace: DnsLabel = Field(
        default="netpol-rollout", description="Namespace of the Lease."
    )
    lease_name: DnsLabel = Field(default="netpol-rollout-leader", description="Name of the Lease.")
    lease_duration: Duration = Field(
        default=timedelta(seconds=15),
        description="Lease duration: the leader renews every third of it and steps down "
        "if it cannot renew within two thirds; a new leader takes over after it lapses.",
    )
    session_key: SecretRef | None = Field(
        default=None,
        description="Key that signs dashboard session cookies (at least 32 characters), "
        "the same for every replica, e.g. `{env: ROLLOUT_SESSION_KEY}` from a Secret. "
        "None: a random key per process (one replica only; a restart signs everyone out).",
    )
    lease_cluster: ClusterRef | None = Field(
        default=None,
        description="Where the Lease lives; none: in-cluster. "
        "Env `ROLLOUT_LEASE_KUBECONFIG` (a kubeconfig path) overrides it.",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, got {value!r}")
        return value
