"""`cloud image` and `cloud instance-type`: what an instance can be launched from and as."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state

image_app = typer.Typer(help="Images instances are launched from.", no_args_is_help=True)
type_app = typer.Typer(help="Instance sizes: vCPUs, memory, disk, price.", no_args_is_help=True)


@image_app.command("list")
def list_images(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the image of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The platform's catalog and the tenant's own images."""
    images = state(ctx).client().images
    show_list(
        ctx,
        "image",
        lambda: images.list(name=name, limit=limit, offset=offset),
        lambda: images.iterate(name=name),
        all_pages,
    )


@image_app.command("get")
def get_image(
    ctx: typer.Context, image: Annotated[str, typer.Argument(help="Image name or id.")]
) -> None:
    """One image: what it contains and the local reference it stands for."""
    state(ctx).show(state(ctx).client().images.get(image))


@type_app.command("list")
def list_types(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The instance types; give the id to `cloud instance launch --type`."""
    types = state(ctx).client().instance_types
    page = types.list
    show_list(
        ctx, "instance_type", lambda: page(limit=limit, offset=offset), types.iterate, all_pages
    )
