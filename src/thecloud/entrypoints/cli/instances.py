"""`cloud instance`: launch, list, inspect, stop, start, reboot, terminate and read logs.

Operations on a live instance (pause, tags, exec, stats, console) are in instance_ops.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from thecloud.entrypoints.cli.activity import Since, parse_when
from thecloud.entrypoints.cli.context import All, Limit, Offset, State, show_list, state
from thecloud.entrypoints.cli.live import follow_logs, print_line
from thecloud.entrypoints.cli.output import Output
from thecloud.sdk import JSON

app = typer.Typer(help="Launch and manage compute instances.", no_args_is_help=True)

InstanceArg = Annotated[str, typer.Argument(help="Instance name or id.")]
Wait = Annotated[bool, typer.Option("--wait", help="Wait, showing progress, until it is done.")]
Timeout = Annotated[float, typer.Option("--timeout", min=0, help="Seconds --wait waits at most.")]
Pairs = list[str] | None


def pairs(values: Pairs, option: str) -> dict[str, str] | None:
    """`KEY=VALUE` options as a mapping (None when none were given)."""
    if not values:
        return None
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        out[key] = value
    return out


def volume_spec(text: str) -> tuple[str, str]:
    """`VOLUME:/path` (the volume by name or id) as (volume, mount path)."""
    volume, sep, path = text.partition(":")
    if not sep or not volume or not path:
        hint = "--volume"
        raise typer.BadParameter(f"{text!r} is not VOLUME:/PATH, e.g. data:/data", param_hint=hint)
    return volume, path


def progress(instance: JSON) -> str:
    """`web: ERROR - reason`: an instance's name, status and why (unless that says no more)."""
    status, reason = str(instance.get("status")), str(instance.get("status_reason") or "")
    line = f"{instance.get('name') or instance.get('id')}: {status}"
    return f"{line} - {reason}" if reason and reason.lower() != status.lower() else line


@contextlib.contextmanager
def spinner(first: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr showing `first`; the function given shows and prints a new line."""
    con, started = Console(stderr=True, highlight=False), time.monotonic()
    with con.status(escape(first)) as status:

        def changed(line: str) -> None:
            status.update(escape(line))
            con.print(f"{line} ({time.monotonic() - started:.1f} s)", markup=False)

        yield changed


def wait_for(st: State, instance: JSON, until: str, timeout: float) -> JSON:
    """Poll until the status is `until`: a spinner, and a line per change, on stderr."""
    with spinner(progress(instance)) as changed:
        return st.client().instances.wait(
            instance, until, timeout=timeout, on_status=lambda i: changed(progress(i))
        )


def read_user_data(text: str | None, path: Path | None) -> str | None:
    """The user-data script, from --user-data or --user-data-file (not both)."""
    if text is not None and path is not None:
        raise typer.BadParameter("give --user-data or --user-data-file, not both")
    if path is None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        hint = "--user-data-file"
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint=hint) from exc


def show_instance(st: State, instance: JSON) -> None:
    """The instance as one row of the list's columns, or the whole object as JSON/YAML."""
    st.show([instance] if st.output is Output.table else instance, "instance")


def finish(st: State, instance: JSON, until: str | None, timeout: float) -> None:
    """Show the instance, after waiting for `until` when given (--wait)."""
    if until is not None:
        instance = wait_for(st, instance, until, timeout)
    show_instance(st, instance)


@app.command()
def launch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The instance's name, unique in the tenant.")],
    image: Annotated[str, typer.Option("--image", "-i", help="Image (see `cloud image list`).")],
    cmd: Annotated[
        list[str] | None, typer.Argument(help="Command to run, after `--`.", show_default=False)
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", "-t", help="Instance type (`cloud instance-type list`).")
    ] = None,
    port: Annotated[
        Pairs,
        typer.Option(
            "--port", "-p", help="HOST:CONTAINER, e.g. 8080:80, 0:22, 53:53/udp. Repeatable."
        ),
    ] = None,
    env: Annotated[Pairs, typer.Option("--env", "-e", help="KEY=VALUE. Repeatable.")] = None,
    label: Annotated[Pairs, typer.Option("--label", "-l", help="key=value. Repeatable.")] = None,
    meta: Annotated[Pairs, typer.Option("--meta", help="key=value metadata. Repeatable.")] = None,
    ssh_key: Annotated[
        str | None, typer.Option("--ssh-key", help="SSH key (`cloud ssh-key list`) to install.")
    ] = None,
    user_data: Annotated[
        str | None, typer.Option("--user-data", help="A script run once, at first boot.")
    ] = None,
    user_data_file: Annotated[
        Path | None,
        typer.Option("--user-data-file", dir_okay=False, help="The first-boot script's file."),
    ] = None,
    vpc: Annotated[str | None, typer.Option("--vpc", help="Launch into this VPC.")] = None,
    subnet: Annotated[
        str | None, typer.Option("--subnet", help="Subnet id (default: the VPC's first with room).")
    ] = None,
    private_ip: Annotated[
        str | None, typer.Option("--private-ip", help="Its address in --subnet (default: IPAM).")
    ] = None,
    security_group: Annotated[
        Pairs,
        typer.Option(
            "--security-group", help="Group of the VPC (default: its default). Repeatable."
        ),
    ] = None,
    volume: Annotated[
        Pairs,
        typer.Option("--volume", help="VOLUME:/PATH (name or id), e.g. data:/data. Repeatable."),
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 60.0,
) -> None:
    """Launch an instance: `cloud instance launch web -i alpine -p 8080:80 -- sleep 1d`."""
    st, script = state(ctx), read_user_data(user_data, user_data_file)
    mounts = [volume_spec(v) for v in volume or ()]
    instance = st.client().instances.launch(
        name,
        image,
        instance_type=type_,
        ports=port or None,
        env=pairs(env, "--env"),
        cmd=cmd or None,
        labels=pairs(label, "--label"),
        metadata=pairs(meta, "--meta"),
        ssh_key=ssh_key,
        user_data=script,
        vpc_id=vpc,
        subnet_id=subnet,
        private_ip=private_ip,
        security_group_ids=security_group or None,
        volumes=mounts or None,
    )
    finish(st, instance, "RUNNING" if wait else None, timeout)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only this status, e.g. RUNNING.")] = None,
    name: Annotated[str | None, typer.Option(help="Only the instance of this name.")] = None,
    label: Annotated[
        Pairs, typer.Option("--label", "-l", help="Only those tagged key=value. Repeatable.")
    ] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's instances."""
    instances, wanted = state(ctx).client().instances, status.upper() if status else None
    labels = pairs(label, "--label")
    show_list(
        ctx,
        "instance",
        lambda: instances.list(name=name, status=wanted, labels=labels, limit=limit, offset=offset),
        lambda: instances.iterate(name=name, status=wanted, labels=labels),
        all_pages,
    )


@app.command()
def get(ctx: typer.Context, instance: InstanceArg) -> None:
    """Everything about one instance."""
    state(ctx).show(state(ctx).client().instances.get(instance))


@app.command()
def stop(
    ctx: typer.Context, instance: InstanceArg, wait: Wait = False, timeout: Timeout = 60.0
) -> None:
    """Stop an instance (STOPPING, then STOPPED); its container is kept."""
    st = state(ctx)
    finish(st, st.client().instances.stop(instance), "STOPPED" if wait else None, timeout)


@app.command()
def start(
    ctx: typer.Context, instance: InstanceArg, wait: Wait = False, timeout: Timeout = 60.0
) -> None:
    """Start a stopped instance (STARTING, then RUNNING)."""
    st = state(ctx)
    finish(st, st.client().instances.start(instance), "RUNNING" if wait else None, timeout)


@app.command()
def reboot(
    ctx: typer.Context, instance: InstanceArg, wait: Wait = False, timeout: Timeout = 60.0
) -> None:
    """Restart an instance (REBOOTING, then RUNNING)."""
    st = state(ctx)
    finish(st, st.client().instances.reboot(instance), "RUNNING" if wait else None, timeout)


@app.command()
def terminate(
    ctx: typer.Context, instance: InstanceArg, wait: Wait = False, timeout: Timeout = 60.0
) -> None:
    """Delete an instance and its container (DELETING, then DELETED)."""
    st = state(ctx)
    finish(st, st.client().instances.terminate(instance), "DELETED" if wait else None, timeout)


@app.command()
def logs(
    ctx: typer.Context,
    instance: InstanceArg,
    tail: Annotated[int | None, typer.Option(min=0, help="Only the last N lines.")] = None,
    since: Since = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Then new lines as they come, until Ctrl-C.")
    ] = False,
) -> None:
    """The instance's output, oldest first (its stderr lines on stderr)."""
    st, when = state(ctx), parse_when(since)
    skip = follow and tail == 0  # `-f --tail 0`: new lines only
    lines = [] if skip else st.client().instances.logs(instance, tail=tail, since=when)
    if follow:
        return follow_logs(st, instance, lines, when, tail)
    if st.output is not Output.table:
        return st.show(lines)
    for line in lines:
        print_line(st, line)
