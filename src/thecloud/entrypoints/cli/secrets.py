"""`cloud secret`: the secrets manager (values from an option, a file, or stdin)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state
from thecloud.entrypoints.cli.output import Output, message

app = typer.Typer(help="Store, read, change and delete secrets.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Secret name (or id).")]
ValueArg = Annotated[
    str | None, typer.Argument(help="Give `-` to read the value from stdin.", show_default=False)
]
ValueOpt = Annotated[str | None, typer.Option("--value", help="The value.", show_default=False)]
FileOpt = Annotated[
    str | None,
    typer.Option(
        "--value-file", help="Read the value from a file (`-`: stdin).", show_default=False
    ),
]


def read_value(positional: str | None, value: str | None, value_file: str | None) -> str | None:
    """The one value given by `-`, --value or --value-file; None if none was."""
    given = [v for v in (positional, value, value_file) if v is not None]
    if len(given) > 1:
        raise typer.BadParameter("give the value once: `-`, --value or --value-file")
    if positional is not None and positional != "-":
        raise typer.BadParameter("the only positional value is `-` (stdin); use --value")
    if value is not None:
        return value
    source = value_file if value_file is not None else positional
    if source is None:
        return None
    return sys.stdin.read().rstrip("\n") if source == "-" else _read_file(source)


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--value-file") from exc


@app.command()
def create(
    ctx: typer.Context,
    name: NameArg,
    stdin: ValueArg = None,
    value: ValueOpt = None,
    value_file: FileOpt = None,
    description: Annotated[str, typer.Option(help="What the secret is for.")] = "",
) -> None:
    """Store a secret, encrypted at rest."""
    secret = read_value(stdin, value, value_file)
    if secret is None:
        raise typer.BadParameter("give a value: --value, --value-file, or `-` for stdin")
    state(ctx).show(state(ctx).client().secrets.create(name, secret, description), "secret")


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the secret of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's secrets, values hidden."""
    secrets = state(ctx).client().secrets
    show_list(
        ctx,
        "secret",
        lambda: secrets.list(name=name, limit=limit, offset=offset),
        lambda: secrets.iterate(name=name),
        all_pages,
    )


@app.command()
def get(
    ctx: typer.Context,
    name: NameArg,
    as_json: Annotated[bool, typer.Option("--json", help="The whole record as JSON.")] = False,
) -> None:
    """Print a secret's value (or the whole record with --json / -o)."""
    st = state(ctx)
    secret = st.client().secrets.get(name)
    if as_json:
        st.output = Output.json
    if st.output is Output.table:
        return typer.echo(secret["value"])
    st.show(secret)


@app.command()
def update(
    ctx: typer.Context,
    name: NameArg,
    stdin: ValueArg = None,
    value: ValueOpt = None,
    value_file: FileOpt = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
) -> None:
    """Give a secret a new value (a new version) and/or description."""
    new_value = read_value(stdin, value, value_file)
    if new_value is None and description is None:
        raise typer.BadParameter("give a new value or --description")
    secrets = state(ctx).client().secrets
    state(ctx).show(secrets.update(name, value=new_value, description=description), "secret")


@app.command()
def delete(ctx: typer.Context, name: NameArg) -> None:
    """Delete a secret."""
    state(ctx).client().secrets.delete(name)
    message(f"Deleted secret {name}.")
