"""`cloud deployment`: an image kept running as N replicas; create, list, get, scale, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, State, show_list, show_row, state
from thecloud.entrypoints.cli.instances import Pairs, Timeout, Wait, pairs, spinner
from thecloud.entrypoints.cli.output import Output, console, record_table, rows_table
from thecloud.sdk import JSON

app = typer.Typer(help="Keep N replicas of an image running.", no_args_is_help=True)

DeploymentArg = Annotated[str, typer.Argument(help="Deployment name or id.")]
WAIT_SECONDS = 120.0


def progress(deployment: JSON) -> str:
    """`web: 1/2 running`, or `web: DELETING`, and why when the worker says so."""
    status, reason = deployment.get("status"), deployment.get("status_reason")
    name = deployment.get("name") or deployment.get("id")
    if status in ("DELETING", "DELETED"):
        return f"{name}: {status}"
    line = f"{name}: {deployment.get('running', 0)}/{deployment.get('replicas')} running"
    return f"{line} - {reason}" if reason else line


def wait_for(st: State, deployment: JSON, running: int | None, timeout: float) -> JSON:
    """Poll until `running` replicas run (None: until it is gone), showing each change."""
    with spinner(progress(deployment)) as changed:
        return st.client().deployments.wait(
            deployment,
            running,
            deleted=running is None,
            timeout=timeout,
            on_status=lambda d: changed(progress(d)),
        )


def show_whole(st: State, deployment: JSON) -> None:
    """Every field, then its replicas as instance rows (or the object as JSON/YAML)."""
    if st.output is not Output.table:
        return st.show(deployment)
    replicas = deployment.get("instances") or []
    out = console()
    out.print(record_table({k: v for k, v in deployment.items() if k != "instances"}))
    out.print()
    out.print(rows_table(replicas, "instance") if replicas else "(no replicas)")


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The deployment's name, unique in the tenant.")],
    image: Annotated[str, typer.Option("--image", "-i", help="Image (see `cloud image list`).")],
    replicas: Annotated[int, typer.Option("--replicas", "-r", min=0, max=100)] = 1,
    cmd: Annotated[
        list[str] | None, typer.Argument(help="Command to run, after `--`.", show_default=False)
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="Instance type.")] = None,
    port: Annotated[
        Pairs, typer.Option("--port", "-p", help="HOST:CONTAINER, e.g. 0:80. Repeatable.")
    ] = None,
    env: Annotated[Pairs, typer.Option("--env", "-e", help="KEY=VALUE. Repeatable.")] = None,
    wait: Wait = False,
    timeout: Timeout = WAIT_SECONDS,
) -> None:
    """Keep replicas running: `cloud deployment create web -i busybox -r 2 -p 0:80 -- httpd -f`."""
    st = state(ctx)
    deployment = st.client().deployments.create(
        name,
        image,
        replicas,
        ports=port or None,
        instance_type=type_,
        env=pairs(env, "--env"),
        cmd=cmd or None,
    )
    show_row(st, wait_for(st, deployment, replicas, timeout) if wait else deployment, "deployment")


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the deployment of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's deployments."""
    deployments = state(ctx).client().deployments
    show_list(
        ctx,
        "deployment",
        lambda: deployments.list(name=name, limit=limit, offset=offset),
        lambda: deployments.iterate(name=name),
        all_pages,
    )


@app.command()
def get(ctx: typer.Context, deployment: DeploymentArg) -> None:
    """One deployment, its replicas, and how many are RUNNING."""
    show_whole(state(ctx), state(ctx).client().deployments.get(deployment))


@app.command()
def scale(
    ctx: typer.Context,
    deployment: DeploymentArg,
    replicas: Annotated[int, typer.Argument(min=0, max=100, help="The new replica count.")],
    wait: Wait = False,
    timeout: Timeout = WAIT_SECONDS,
) -> None:
    """Launch or terminate replicas (the newest go first) until there are REPLICAS."""
    st = state(ctx)
    scaled = st.client().deployments.scale(deployment, replicas)
    show_row(st, wait_for(st, scaled, replicas, timeout) if wait else scaled, "deployment")


@app.command()
def delete(
    ctx: typer.Context,
    deployment: DeploymentArg,
    wait: Wait = False,
    timeout: Timeout = WAIT_SECONDS,
) -> None:
    """Terminate every replica, then remove the deployment (DELETING, then gone)."""
    st = state(ctx)
    deleting = st.client().deployments.delete(deployment)
    show_row(st, wait_for(st, deleting, None, timeout) if wait else deleting, "deployment")
