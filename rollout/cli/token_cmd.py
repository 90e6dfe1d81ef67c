"""`rollout token create|revoke|list`: per-member API tokens for the CLI.

Tokens are written straight to the state store named in the configuration;
only their sha256 is kept, so a token is shown once, at creation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from rollout.cli.help_examples import examples
from rollout.cli.options import config_option, load_settings
from rollout.config.schema import Settings
from rollout.errors import InputError
from rollout.server.auth import hash_token, new_token
from rollout.store import Store, open_store


@contextmanager
def _store(settings: Settings) -> Iterator[Store]:
    store = open_store(settings.store.url, clock=lambda: datetime.now(UTC))
    try:
        yield store
    finally:
        store.close()


@examples(
    "rollout token create --member alice",
    "rollout token list",
    "rollout token revoke 3",
)
@click.group(name="token")
def command() -> None:
    """Manage member API tokens."""


@examples(
    "rollout token create --member alice",
    "rollout token create --member bob -c rollout.yaml",
)
@command.command(name="create")
@click.option("--member", required=True, help="The roster member the token acts as.")
@config_option
def create(member: str, config_path: Path) -> None:
    """Create a token for MEMBER and print it once."""
    settings = load_settings(config_path)
    names = [m.name for m in settings.team.members]
    if member not in names:
        raise InputError(
            f"{config_path}: no team member {member!r}", details=[f"known: {', '.join(names)}"]
        )
    token = new_token()
    with _store(settings) as store:
        record = store.create_token(member, hash_token(token))
    click.echo(f"Token #{record.id} for {member} (shown only now; store it safely):", err=True)
    click.echo(token)


@examples(
    "rollout token revoke 3",
)
@command.command(name="revoke")
@click.argument("token_id", type=int)
@config_option
def revoke(token_id: int, config_path: Path) -> None:
    """Revoke token TOKEN_ID (see `rollout token list`)."""
    with _store(load_settings(config_path)) as store:
        if not store.revoke_token(token_id):
            raise InputError(f"no active token #{token_id} (already revoked, or never existed)")
    click.echo(f"Token #{token_id} revoked.")


@examples(
    "rollout token list",
    "rollout token list --member alice",
)
@command.command(name="list")
@click.option("--member", default=None, help="Only this member's tokens.")
@config_option
def list_tokens(member: str | None, config_path: Path) -> None:
    """List tokens (ids, owners, dates; never the tokens)."""
    with _store(load_settings(config_path)) as store:
        records = store.tokens(member)
    if not records:
        click.echo("No tokens.")
    for record in records:
        state = f"revoked {record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "active"
        click.echo(
            f"#{record.id}  {record.member:<20} created {record.created_at:%Y-%m-%d %H:%M}  {state}"
        )
