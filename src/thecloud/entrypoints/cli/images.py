"""`cloud image` (the catalog and your own: create, upload, delete) and `cloud instance-type`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from thecloud.entrypoints.cli.context import All, Limit, Offset, State, show_list, state
from thecloud.entrypoints.cli.output import Output, message
from thecloud.sdk import JSON

image_app = typer.Typer(help="Images instances are launched from.", no_args_is_help=True)
type_app = typer.Typer(help="Instance sizes: vCPUs, memory, disk, price.", no_args_is_help=True)

ImageArg = Annotated[str, typer.Argument(help="Image name or id.")]


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
def get_image(ctx: typer.Context, image: ImageArg) -> None:
    """One image: what it contains and the local reference it stands for."""
    state(ctx).show(state(ctx).client().images.get(image))


def show_image(st: State, image: JSON) -> None:
    """The image as one row of the list's columns, or the whole object as JSON/YAML."""
    st.show([image] if st.output is Output.table else image, "image")


def upload_with_progress(st: State, image: str, tarball: Path) -> JSON:
    """Upload the file, with a bar of the bytes sent on stderr."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(f"{tarball.name}", total=tarball.stat().st_size)
        return st.client().images.upload(
            image, tarball, on_progress=lambda sent: bar.update(task, completed=sent)
        )


@image_app.command("create")
def create_image(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The image's name (yours wins over the catalog's).")],
    description: Annotated[str | None, typer.Option(help="What the image is for.")] = None,
) -> None:
    """Register an image of your own (PENDING_UPLOAD); then `cloud image upload` its files."""
    st = state(ctx)
    show_image(st, st.client().images.register(name, description=description))


@image_app.command("upload")
def upload_image(
    ctx: typer.Context,
    image: ImageArg,
    tarball: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="The root filesystem: a tar archive, plain or gzip."
        ),
    ],
) -> None:
    """Upload the image's root filesystem (`tar -C rootfs -czf rootfs.tgz .`); it becomes
    AVAILABLE, with the os and version of its /etc/os-release."""
    st = state(ctx)
    show_image(st, upload_with_progress(st, image, tarball))


@image_app.command("delete")
def delete_image(ctx: typer.Context, image: ImageArg) -> None:
    """Delete one of your own images (refused while an instance uses it)."""
    state(ctx).client().images.delete(image)
    message(f"Deleted image {image}.")


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
