"""The real dashboard in a browser: uvicorn in a thread, SQLite in tmp_path, Debian's chromium.

Fixtures:
  dash      `Dashboard`: the service URL, its store and settable clock, helpers to
            seed rollouts and tokens
  proxied   the same service in trusted-header mode (`server.trusted_user_header:
            X-Forwarded-Email`), as behind an authenticating proxy; members have emails
  browser   Debian's /usr/bin/chromium driven by Playwright (never a downloaded browser)
  page      a fresh browser context and page (viewer timezone Europe/Berlin)
  signed_in a page signed in as alice through the login form

Screenshots go to artifacts/screenshots/ (gitignored) for people to look at.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from rollout.config.schema import Settings
from rollout.server.app import create_app
from rollout.server.auth import hash_token
from rollout.server.dashboard import dashboard_router
from rollout.store import RolloutRecord, Store, open_store
from tests.support.serving import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
VIEWER_TZ = "Europe/Berlin"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; US DST starts on Sunday 8 March

CONFIG: dict[str, Any] = {
    "repository": {"path": "/tmp/policies"},
    "environments": [
        {"name": "staging", "namespaces": ["shop"], "overlay": "overlays/staging"},
        {
            "name": "production",
            "namespaces": ["shop"],
            "overlay": "overlays/production",
            "approvals": {"required": 1, "groups": ["approvers"]},
            "windows": {
                "overlap": {"min_online": 2},
                "freezes": [{"start": "2026-03-04", "end": "2026-03-04", "reason": "audit"}],
                "min_duration": "30m",
            },
        },
    ],
    "team": {
        "members": [
            {
                "name": "alice",
                "timezone": "Europe/Berlin",
                "hours": {"mon-fri": "09:00-17:00"},
                "groups": ["approvers"],
            },
            {
                "name": "bob",
                "timezone": "America/New_York",
                "hours": {"mon-fri": "09:00-17:00"},
                "groups": ["approvers"],
            },
        ]
    },
}

DIFF = {
    "opened": [
        {
            "from": "shop/web",
            "to": "shop/api",
            "port": 8080,
            "protocol": "TCP",
            "policies": ["shop/allow-web"],
            "from_external": False,
            "to_external": False,
        },
        {
            "from": "shop/web",
            "to": "shop/api",
            "port": 9090,
            "protocol": "TCP",
            "policies": ["shop/allow-web"],
            "from_external": False,
            "to_external": False,
        },
        {
            "from": "shop/api",
            "to": "payments/ledger",
            "port": 5432,
            "protocol": "TCP",
            "policies": ["payments/allow-shop"],
            "from_external": False,
            "to_external": False,
        },
        {
            "from": "payments/ledger",
            "to": "0.0.0.0/0",
            "port": 443,
            "protocol": "TCP",
            "policies": ["payments/egress"],
            "from_external": False,
            "to_external": True,
        },
    ],
    "closed": [
        {
            "from": "shop/web",
            "to": "payments/ledger",
            "port": 5432,
            "protocol": "TCP",
            "policies": ["payments/default-deny"],
            "from_external": False,
            "to_external": False,
        },
        {
            "from": "monitoring/prometheus",
            "to": "shop/api",
            "port": 9100,
            "protocol": "TCP",
            "policies": ["shop/default-deny"],
            "from_external": False,
            "to_external": False,
        },
    ],
    "ports": ["443/TCP", "5432/TCP", "8080/TCP", "9090/TCP", "9100/TCP"],
    "added_endpoints": [],
    "removed_endpoints": [],
}
"""Six connections drawn as five edges: the two web -> api ports share one."""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Dashboard:
    url: str
    store: Store
    clock: Clock
    tokens: dict[str, str]

    def rollout(
        self,
        *,
        state: str = "detected",
        environment: str = "staging",
        sha: str = "a" * 40,
        message: str = "Open web to api",
    ) -> RolloutRecord:
        return self.store.create_rollout(
            environment=environment,
            commit_sha=sha,
            author="dave",
            author_email="dave@example.com",
            message=message,
            state=state,
        )

    def move(self, rollout_id: str, to_state: str, **kw: Any) -> RolloutRecord:
        current = self.store.get_rollout(rollout_id)
        assert current is not None
        moved = self.store.transition(
            rollout_id, [current.state], to_state, actor="netpol-rollout", channel="system", **kw
        )
        assert moved is not None
        return moved

    def state(self, rollout_id: str) -> str:
        record = self.store.get_rollout(rollout_id)
        assert record is not None
        return record.state


PROXY_HEADER = "X-Forwarded-Email"
PROXIED_CONFIG: dict[str, Any] = copy.deepcopy(CONFIG)
PROXIED_CONFIG["server"] = {"trusted_user_header": PROXY_HEADER}
for _member in PROXIED_CONFIG["team"]["members"]:
    _member["email"] = f"{_member['name']}@example.com"


@contextmanager
def serve(tmp_path: Path, config: dict[str, Any]) -> Iterator[Dashboard]:
    """The dashboard app for `config` under uvicorn in a thread, until the block ends."""
    clock = Clock(START)
    settings = Settings.model_validate(config)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    tokens = {"alice": "nrt_alice-" + "x" * 40, "bob": "nrt_bob-" + "y" * 40}
    for member, token in tokens.items():
        store.create_token(member, hash_token(token))
    app = create_app(settings, store, clock=clock, routers=[dashboard_router])
    try:
        with serving(app) as url:
            yield Dashboard(url, store, clock, tokens)
    finally:
        store.close()


@pytest.fixture
def dash(tmp_path: Path) -> Iterator[Dashboard]:
    with serve(tmp_path, CONFIG) as service:
        yield service


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Dashboard]:
    with serve(tmp_path, PROXIED_CONFIG) as service:
        yield service


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        timezone_id=VIEWER_TZ, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page: Any, dash: Dashboard, member: str = "alice", next_path: str = "/") -> None:
    page.goto(f"{dash.url}/login?next={next_path}")
    page.get_by_label("Your API token").fill(dash.tokens[member])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dash.url}{next_path}*")


@pytest.fixture
def signed_in(page: Any, dash: Dashboard) -> Any:
    sign_in(page, dash)
    return page


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The synchronizer token in a page's forms."""
    found = CSRF_FIELD.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def http_sign_in(dash: Dashboard, member: str = "alice") -> requests.Session:
    """A `requests` session signed in as `member` through the login form, as a browser would."""
    http = requests.Session()
    form = http.get(f"{dash.url}/login", timeout=5)
    answer = http.post(
        f"{dash.url}/login",
        data={"csrf_token": csrf_token(form.text), "token": dash.tokens[member], "next": "/"},
        headers={"Origin": dash.url},
        allow_redirects=False,
        timeout=5,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/"), answer.text
    return http
