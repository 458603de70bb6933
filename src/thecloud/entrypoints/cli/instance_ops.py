"""`cloud instance` on a live instance: pause, resize, metadata, tags, exec, stats, console."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from thecloud.entrypoints.cli.context import State, state
from thecloud.entrypoints.cli.instances import InstanceArg, pairs, show_instance
from thecloud.entrypoints.cli.live import show_stats, until_interrupted, watch_stats
from thecloud.entrypoints.cli.output import Output
from thecloud.entrypoints.cli.terminal import attach

app = typer.Typer()

KeyValues = Annotated[list[str] | None, typer.Argument(metavar="KEY=VALUE...", show_default=False)]


def show_map(st: State, mapping: Mapping[str, Any]) -> None:
    """Tags or metadata: `key value` lines (or `(none)`), or the object as JSON/YAML."""
    if st.output is Output.table and not mapping:
        return typer.echo("(none)")
    st.show(dict(mapping))


@app.command()
def pause(ctx: typer.Context, instance: InstanceArg) -> None:
    """Freeze every process of a running instance (PAUSED); memory stays allocated."""
    st = state(ctx)
    show_instance(st, st.client().instances.pause(instance))


@app.command()
def resume(ctx: typer.Context, instance: InstanceArg) -> None:
    """Thaw a paused instance (RUNNING again)."""
    st = state(ctx)
    show_instance(st, st.client().instances.resume(instance))


@app.command()
def resize(
    ctx: typer.Context,
    instance: InstanceArg,
    type_: Annotated[str, typer.Option("--type", "-t", help="The new instance type.")],
) -> None:
    """Another instance type: its CPU and memory limits apply to the container at once."""
    st = state(ctx)
    show_instance(st, st.client().instances.resize(instance, type_))


@app.command()
def metadata(
    ctx: typer.Context,
    instance: InstanceArg,
    values: KeyValues = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove all the metadata.")] = False,
) -> None:
    """Show the instance's metadata, or replace all of it: `metadata web owner=ada tier=1`."""
    st = state(ctx)
    instances = st.client().instances
    if clear and values:
        raise typer.BadParameter("give KEY=VALUE pairs or --clear, not both", param_hint="--clear")
    if not (clear or values):
        return show_map(st, instances.get(instance).get("metadata") or {})
    changed = instances.set_metadata(instance, pairs(values, "KEY=VALUE") or {})
    show_map(st, changed.get("metadata") or {})


@app.command()
def tag(
    ctx: typer.Context,
    instance: InstanceArg,
    values: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...", show_default=False)],
) -> None:
    """Add or replace tags (the others are kept); `list --label k=v` filters on them."""
    st = state(ctx)
    show_map(st, st.client().instances.set_tags(instance, pairs(values, "KEY=VALUE") or {}))


@app.command()
def untag(
    ctx: typer.Context,
    instance: InstanceArg,
    key: Annotated[str, typer.Argument(help="The tag to remove.")],
) -> None:
    """Remove one tag."""
    st = state(ctx)
    show_map(st, st.client().instances.remove_tag(instance, key))


@app.command()
def tags(ctx: typer.Context, instance: InstanceArg) -> None:
    """The instance's tags."""
    st = state(ctx)
    show_map(st, st.client().instances.tags(instance))


@app.command("exec")
def exec_(
    ctx: typer.Context,
    instance: InstanceArg,
    command: Annotated[list[str], typer.Argument(help="The command, after `--`.")],
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, max=300, help="Seconds it may run.")
    ] = 60.0,
) -> None:
    """Run a command in a running instance: `cloud instance exec web -- ls -l /`.

    Its stdout and stderr are printed as they are, and its exit code is this command's.
    """
    st = state(ctx)
    done = st.client().instances.exec(instance, command, timeout=timeout)
    if st.output is Output.table:
        typer.echo(done.get("stdout", ""), nl=False)
        typer.echo(done.get("stderr", ""), nl=False, err=True)
    else:
        st.show(done)
    raise typer.Exit(int(done.get("exit_code", 1)))


@app.command()
def stats(
    ctx: typer.Context,
    instance: InstanceArg,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="A new sample every 2 s, until Ctrl-C.")
    ] = False,
) -> None:
    """CPU (100% = one CPU busy), memory used and its limit, network and block I/O, processes."""
    st = state(ctx)
    if watch:
        return watch_stats(st, instance)
    show_stats(st, st.client().instances.stats(instance))


@app.command("console")
def console_(ctx: typer.Context, instance: InstanceArg) -> None:
    """A shell in a running instance on this terminal; Ctrl-] leaves.

    Input that is not a terminal is typed in, then Ctrl-D:
    `echo 'uname -a' | cloud instance console web`.
    """
    with until_interrupted():
        attach(state(ctx).client(), instance)
