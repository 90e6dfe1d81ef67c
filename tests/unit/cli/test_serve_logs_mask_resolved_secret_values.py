"""`rollout serve` masks the values of the configuration's secrets in every log line,
not only secrets with a recognisable shape."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import rollout.service
from rollout.cli.main import cli

WEBHOOK_SECRET = "It's a Secret to Everybody"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class LoggingService:
    """Stands in for the service: logs the secrets the way a careless library would."""

    def __init__(self, settings: Any, *, base_dir: Path) -> None:
        self.settings = settings

    def run(self, listen: str | None = None, *, listener: object = None) -> None:
        log = logging.getLogger("some.library")
        log.warning("verifying with %s", WEBHOOK_SECRET)
        log.debug("signing secret is %s", SIGNING_SECRET)


def test_serve_masks_resolved_secret_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing = tmp_path / "signing.secret"
    signing.write_text(SIGNING_SECRET + "\n")
    config = tmp_path / "rollout.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "repository": {"path": str(tmp_path)},
                "environments": [{"name": "staging", "namespaces": ["a"], "overlay": "o"}],
                "notifications": {
                    "github": {
                        "repository": "acme/policies",
                        "token": {"env": "TEST_GITHUB_TOKEN"},
                        "webhook_secret": {"env": "TEST_WEBHOOK_SECRET"},
                    },
                    "slack": {
                        "webhook_url": {"env": "TEST_SLACK_URL"},
                        "signing_secret": {"file": str(signing)},
                    },
                },
            }
        )
    )
    monkeypatch.setattr(rollout.service, "Service", LoggingService)
    result = CliRunner().invoke(
        cli,
        # Port 0: `serve` binds before it starts the service; any free port will do.
        ["serve", "-c", str(config), "--log-level", "DEBUG", "--listen", "127.0.0.1:0"],
        env={
            "TEST_GITHUB_TOKEN": "plain-token-value-1234",
            "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TEST_SLACK_URL": "https://hooks.slack.com/services/T/B/x",
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "verifying with ***" in result.stderr
    assert "signing secret is ***" in result.stderr
    assert WEBHOOK_SECRET not in result.stderr and SIGNING_SECRET not in result.stderr
