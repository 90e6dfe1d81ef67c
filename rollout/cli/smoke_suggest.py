"""`rollout smoke suggest --from-flows FLOWS...`: smoke tests from the busiest observed flows.

Prints `smoke-tests.yaml` entries (`tests:`) to paste into the repository's
file, so the checked flows follow the traffic that really happens.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
import yaml

from rollout.cli.help_examples import examples
from rollout.errors import InputError
from rollout.flows import FlowAggregator, PodDirectory
from rollout.flows.suggest import suggest_smoke_tests


@examples(
    "rollout smoke suggest --from-flows flows.jsonl --top 20",
    "rollout smoke suggest --from-flows 'hubble-*.json'",
)
@click.command(name="suggest")
@click.option(
    "--from-flows",
    "flows",
    multiple=True,
    required=True,
    metavar="FLOWS",
    help="Observed flow files, globs or URLs (Hubble JSON, neutral CSV/JSON lines); repeatable.",
)
@click.option("--top", default=10, show_default=True, help="How many of the busiest flows.")
@click.option("--window", metavar="DURATION", help="Only flows seen this recently, e.g. 7d.")
def suggest_cmd(flows: tuple[str, ...], top: int, window: str | None) -> None:
    """Propose smoke tests (expect: allow) for the busiest observed flows."""
    from rollout.config.schema.types import parse_duration
    from rollout.flow_sources import expand, read_into

    since = None
    if window is not None:
        try:
            since = datetime.now(UTC) - parse_duration(window)
        except ValueError as exc:
            raise InputError(f"--window: {exc}") from None
    aggregator = FlowAggregator(PodDirectory(), since=since)
    read_into(aggregator, expand(flows))
    observed = aggregator.result()
    found = suggest_smoke_tests(observed.flows, top)
    click.echo(
        f"# {len(found.tests)} test(s) from the busiest of {len(observed.flows)} observed "
        f"flow(s) ({observed.records:,} records); review before adding to smoke-tests.yaml"
    )
    for reason in found.skipped:
        click.echo(f"# skipped {reason}")
    click.echo(yaml.safe_dump({"tests": list(found.tests)}, sort_keys=False), nl=False)
