"""`rollout digest`: gather the review digest now; send it, or print it (`--dry-run`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from rollout.cli.help_examples import examples
from rollout.cli.options import cluster_options, config_option, load_settings
from rollout.config.schema import Settings
from rollout.core.events import EventType
from rollout.digest_job import ReviewDigestJob
from rollout.notify.digest import digest_markdown
from rollout.notify.outbox import channels_for
from rollout.wiring import git_for, open_state_store

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@examples(
    "rollout digest --dry-run",
    "rollout digest -c rollout.yaml",
)
@click.command(name="digest")
@config_option
@cluster_options
@click.option(
    "--dry-run", is_flag=True, help="Print the Markdown digest; enqueue and record nothing."
)
def command(config_path: Path, dry_run: bool) -> None:
    """Gather the policy review digest for the period since the previous one, and send it.

    The service sends it on `notifications.digest.schedule`; this sends it now
    (to every channel, through the outbox the service delivers from).
    """
    settings = load_settings(config_path)
    run_digest(settings, base_dir=config_path.resolve().parent, dry_run=dry_run, clock=_now)


def run_digest(
    settings: Settings,
    *,
    base_dir: Path,
    dry_run: bool,
    clock: Clock,
    echo: Callable[[str], None] = click.echo,
) -> None:
    """The behaviour of `rollout digest`, apart from its options."""
    git = git_for(settings.repository, base_dir=base_dir)
    git.fetch()
    store = open_state_store(settings, clock)
    try:
        job = ReviewDigestJob(settings, store, git, clock=clock)
        if dry_run:
            end = clock().astimezone(UTC).replace(microsecond=0)
            start, _ = job.period_ending(end) or (job.last_period_end() or end, end)
            echo(digest_markdown(job.gather(start, end)).rstrip("\n"))
            return
        result = job.run(actor="cli", channel="cli")
    finally:
        store.close()
    if result.digest is None:
        echo("A digest already covers this moment; nothing sent.")
        return
    echo(digest_markdown(result.digest).rstrip("\n"))
    channels = channels_for(EventType.REVIEW_DIGEST, settings.notifications)
    if not channels:
        echo("\nNo channel takes the digest: configure notifications.slack or webhooks.")
        return
    echo(
        f"\nEnqueued for {', '.join(channels)} ({result.new_deliveries} new); "
        "the service's delivery worker sends them."
    )
