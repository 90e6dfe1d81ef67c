"""`rollout serve`: run the service (HTTP for every replica; rollouts on the leader)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from rollout.cli.help_examples import examples
from rollout.cli.options import config_option, load_settings


@examples(
    "rollout serve",
    "rollout serve -c /etc/netpol-rollout/rollout.yaml --listen 0.0.0.0:8080 --log-level debug",
)
@click.command(name="serve")
@config_option
@click.option(
    "--listen",
    default=None,
    metavar="HOST:PORT",
    help="Address to serve HTTP on (default: server.listen of the configuration).",
)
@click.option(
    "--log-level",
    default=lambda: os.environ.get("ROLLOUT_LOG_LEVEL", "INFO"),
    show_default="INFO (env ROLLOUT_LOG_LEVEL)",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def command(config_path: Path, listen: str | None, log_level: str) -> None:
    """Run the service: watch the policy repository and drive rollouts."""
    # Imported here so the other commands do not pay for uvicorn and APScheduler.
    from rollout.config.secret_values import resolved_secret_values
    from rollout.logging_setup import configure_logging
    from rollout.service import Service, bind_listener

    configure_logging(log_level)
    settings = load_settings(config_path)
    # Bind before anything starts or logs: a busy port is one line and exit 2.
    listener = bind_listener(listen or settings.server.listen)
    try:
        # Again, now with the secrets' values: masked wherever they appear, whatever their shape.
        configure_logging(log_level, secrets=resolved_secret_values(settings))
        service = Service(settings, base_dir=config_path.resolve().parent)
        service.run(listen, listener=listener)
    finally:
        listener.close()
