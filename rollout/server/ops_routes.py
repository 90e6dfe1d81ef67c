"""Operations endpoints of `rollout serve`: `/readyz` and `/metrics`.

`/healthz` (liveness) is the app factory's. The service gives a readiness
check and a Prometheus registry; this module only exposes them, so the
HTTP layer stays free of the service's internals.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from rollout.server.context import ServerContext

Readiness = Callable[[], tuple[bool, str]]
"""(ready, why) — e.g. (False, "shutting down") or (False, "state store unreachable")."""


def ops_router_factory(
    readiness: Readiness, registry: CollectorRegistry
) -> Callable[[ServerContext], APIRouter]:
    """A router factory for `create_app(routers=[...])`."""

    def build(_ctx: ServerContext) -> APIRouter:
        router = APIRouter(tags=["service"])

        @router.get("/readyz", summary="Readiness: store reachable, not shutting down")
        def readyz() -> JSONResponse:
            ready, why = readiness()
            return JSONResponse(
                {"status": "ready" if ready else "not ready", "detail": why},
                status_code=200 if ready else 503,
            )

        @router.get("/metrics", summary="Prometheus metrics")
        def metrics() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        return router

    return build
