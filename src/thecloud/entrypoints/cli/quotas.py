"""`cloud quotas`: limits and usage of the current tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import state

app = typer.Typer(help="Limits and usage of the current tenant.", no_args_is_help=True)

Amount = Annotated[int | None, typer.Option(min=0, show_default=False)]


@app.command()
def show(ctx: typer.Context) -> None:
    """Limit, use and what is left of each resource."""
    state(ctx).show(state(ctx).client().quotas.get(), "quota")


@app.command("set")
def set_(
    ctx: typer.Context,
    instances: Amount = None,
    vcpus: Amount = None,
    memory_mb: Amount = None,
    vpcs: Amount = None,
    storage_gb: Amount = None,
) -> None:
    """Change the limits given (tenant admins)."""
    if all(v is None for v in (instances, vcpus, memory_mb, vpcs, storage_gb)):
        raise typer.BadParameter("give at least one limit, e.g. --instances 10")
    lines = (
        state(ctx)
        .client()
        .quotas.set(
            instances=instances, vcpus=vcpus, memory_mb=memory_mb, vpcs=vpcs, storage_gb=storage_gb
        )
    )
    state(ctx).show(lines, "quota")
