"""`cloud keys`: your API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state
from thecloud.entrypoints.cli.output import message

app = typer.Typer(help="Create, list, rotate and revoke your API keys.", no_args_is_help=True)

KeyId = Annotated[str, typer.Argument(help="The key's id (see `cloud keys list`).")]


@app.command()
def create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A name for the key.")]
) -> None:
    """A new API key in the current tenant; the key is shown only now."""
    state(ctx).show(state(ctx).client().keys.create(name), "key")
    message("Store the key now: it cannot be shown again.")


@app.command("list")
def list_(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """Your API keys (never the keys themselves)."""
    keys = state(ctx).client().keys
    show_list(ctx, "key", lambda: keys.list(limit=limit, offset=offset), keys.iterate, all_pages)


@app.command()
def rotate(ctx: typer.Context, key_id: KeyId) -> None:
    """Replace a key: the new one is shown once, the old one is revoked."""
    state(ctx).show(state(ctx).client().keys.rotate(key_id), "key")


@app.command()
def revoke(ctx: typer.Context, key_id: KeyId) -> None:
    """Revoke a key; it is refused from the next request on."""
    state(ctx).client().keys.revoke(key_id)
    message(f"Revoked key {key_id}.")
