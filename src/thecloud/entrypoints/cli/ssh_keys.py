"""`cloud ssh-key`: the public keys `cloud instance launch --ssh-key` installs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state
from thecloud.entrypoints.cli.output import message

app = typer.Typer(help="SSH public keys for instances.", no_args_is_help=True)

KeyArg = Annotated[str, typer.Argument(help="SSH key name or id.")]
DEFAULT_FILE = Path("~/.ssh/id_ed25519.pub")


def read_public_key(text: str | None, path: Path | None) -> str:
    """The key from --public-key or --file, else from ~/.ssh/id_ed25519.pub when it exists."""
    if text is not None and path is not None:
        raise typer.BadParameter("give --public-key or --file, not both")
    if text is not None:
        return text.strip()
    source = path if path is not None else DEFAULT_FILE.expanduser()
    if path is None and not source.is_file():
        raise typer.BadParameter(f"give --public-key or --file (there is no {DEFAULT_FILE})")
    try:
        return source.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc}", param_hint="--file") from exc


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The key's name, unique in the tenant.")],
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="The OpenSSH line, `ssh-ed25519 AAAA... you@host`."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", dir_okay=False, help="Read it from this .pub file."),
    ] = None,
) -> None:
    """Store a public key (default: ~/.ssh/id_ed25519.pub); shows its fingerprint."""
    key = read_public_key(public_key, file)
    state(ctx).show(state(ctx).client().ssh_keys.create(name, key), "ssh_key")


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the key of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's SSH keys."""
    keys = state(ctx).client().ssh_keys
    show_list(
        ctx,
        "ssh_key",
        lambda: keys.list(name=name, limit=limit, offset=offset),
        lambda: keys.iterate(name=name),
        all_pages,
    )


@app.command()
def get(ctx: typer.Context, key: KeyArg) -> None:
    """One SSH key, with its public key and fingerprint."""
    state(ctx).show(state(ctx).client().ssh_keys.get(key))


@app.command()
def delete(ctx: typer.Context, key: KeyArg) -> None:
    """Delete an SSH key (instances launched with it keep it)."""
    state(ctx).client().ssh_keys.delete(key)
    message(f"Deleted SSH key {key}.")
