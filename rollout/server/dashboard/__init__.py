"""The web dashboard: rollouts, one rollout's details, windows, and the four actions.

    app = create_app(settings, store, clock=clock, routers=[dashboard_router])

Served by the service itself from plain HTML built in Python (every value
escaped), a hand-written stylesheet and one small script shipped in
`static/`; no build step, nothing fetched at run time. See docs/dashboard.md.
"""

from rollout.server.dashboard.routes import dashboard_router

__all__ = ["dashboard_router"]
