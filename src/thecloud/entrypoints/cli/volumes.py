"""`cloud volume`, `cloud snapshot`: block storage that outlives instances.

Every command is synchronous: a volume is AVAILABLE (or attached and mounted) when it returns.
"""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, show_row, state
from thecloud.entrypoints.cli.instances import Pairs, pairs
from thecloud.entrypoints.cli.output import message
from thecloud.sdk import Client, NotFoundError

volume_app = typer.Typer(
    help="Volumes: block storage of a fixed size, mounted into instances.", no_args_is_help=True
)
snapshot_app = typer.Typer(
    help="Snapshots: point-in-time copies of a volume, restored into new volumes.",
    no_args_is_help=True,
)

VolumeArg = Annotated[str, typer.Argument(help="Volume name or id.")]
SnapshotArg = Annotated[str, typer.Argument(help="Snapshot id.")]
Description = Annotated[str | None, typer.Option("--description", "-d")]


def volume_id(client: Client, volume: str) -> str:
    """A volume's id from its name or id; a deleted volume's id as given (its snapshots stay)."""
    try:
        return str(client.volumes.get(volume)["id"])
    except NotFoundError:
        return volume


# --- volumes ----------------------------------------------------------------------------------


@volume_app.command("create")
def volume_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The volume's name, unique in the tenant.")],
    size: Annotated[
        int, typer.Option("--size", "-s", min=1, help="Size in GiB (1-1024): a real limit.")
    ],
    encrypted: Annotated[
        bool,
        typer.Option("--encrypted", help="Encrypt at rest (refused where the backend cannot)."),
    ] = False,
    description: Description = None,
    label: Annotated[Pairs, typer.Option("--label", "-l", help="key=value. Repeatable.")] = None,
) -> None:
    """Create a volume: its own filesystem of exactly --size GiB (AVAILABLE when this returns).

    `cloud volume create data --size 10`"""
    st = state(ctx)
    volume = st.client().volumes.create(
        name,
        size,
        encrypted=encrypted,
        description=description,
        labels=pairs(label, "--label"),
    )
    show_row(st, volume, "volume")


@volume_app.command("list")
def volume_list(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the volume of this name.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status, e.g. AVAILABLE or IN-USE.")
    ] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="Only those attached to it (name or id).")
    ] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's volumes."""
    client = state(ctx).client()
    wanted = status.upper() if status else None
    attached_to = str(client.instances.get(instance)["id"]) if instance else None
    volumes = client.volumes
    show_list(
        ctx,
        "volume",
        lambda: volumes.list(
            name=name, status=wanted, instance_id=attached_to, limit=limit, offset=offset
        ),
        lambda: volumes.iterate(name=name, status=wanted, instance_id=attached_to),
        all_pages,
    )


@volume_app.command("get")
def volume_get(ctx: typer.Context, volume: VolumeArg) -> None:
    """Everything about one volume."""
    state(ctx).show(state(ctx).client().volumes.get(volume))


@volume_app.command("delete")
def volume_delete(ctx: typer.Context, volume: VolumeArg) -> None:
    """Delete a volume and its data (refused while attached); its snapshots stay."""
    state(ctx).client().volumes.delete(volume)
    message(f"Deleted volume {volume}.")


@volume_app.command("attach")
def volume_attach(
    ctx: typer.Context,
    volume: VolumeArg,
    instance: Annotated[str, typer.Argument(help="Instance name or id.")],
    path: Annotated[str, typer.Argument(help="Where it is mounted, e.g. /data.")],
) -> None:
    """Attach a volume to an instance at PATH: a running instance has it at once, without a
    restart; a stopped one when it next starts.

    `cloud volume attach data web /data`"""
    st = state(ctx)
    attached = st.client().volumes.attach(volume, instance, path)
    show_row(st, attached, "volume")
    when = "now, without a restart" if attached.get("attached_live") else "when it next starts"
    message(f"Volume {volume} is mounted at {path} in {instance} {when}.")


@volume_app.command("detach")
def volume_detach(ctx: typer.Context, volume: VolumeArg) -> None:
    """Take a volume out of its instance (unmounted at once if it runs); its data stays."""
    st = state(ctx)
    show_row(st, st.client().volumes.detach(volume), "volume")


# --- snapshots --------------------------------------------------------------------------------


@snapshot_app.command("create")
def snapshot_create(ctx: typer.Context, volume: VolumeArg, description: Description = None) -> None:
    """Snapshot a volume, attached or not: crash-consistent, copy-on-write, near-instant."""
    st = state(ctx)
    show_row(st, st.client().snapshots.create(volume, description=description), "snapshot")


@snapshot_app.command("list")
def snapshot_list(
    ctx: typer.Context,
    volume: Annotated[
        str | None,
        typer.Option("--volume", help="Only this volume's (name or id; the id once deleted)."),
    ] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's snapshots."""
    client = state(ctx).client()
    of = volume_id(client, volume) if volume else None
    snapshots = client.snapshots
    show_list(
        ctx,
        "snapshot",
        lambda: snapshots.list(volume_id=of, limit=limit, offset=offset),
        lambda: snapshots.iterate(volume_id=of),
        all_pages,
    )


@snapshot_app.command("get")
def snapshot_get(ctx: typer.Context, snapshot: SnapshotArg) -> None:
    """Everything about one snapshot."""
    state(ctx).show(state(ctx).client().snapshots.get(snapshot))


@snapshot_app.command("delete")
def snapshot_delete(ctx: typer.Context, snapshot: SnapshotArg) -> None:
    """Delete a snapshot (volumes restored from it keep their data)."""
    state(ctx).client().snapshots.delete(snapshot)
    message(f"Deleted snapshot {snapshot}.")


@snapshot_app.command("restore")
def snapshot_restore(
    ctx: typer.Context,
    snapshot: SnapshotArg,
    new_name: Annotated[str, typer.Argument(help="The new volume's name.")],
) -> None:
    """Restore a snapshot into a new volume holding exactly its data (the source volume is
    untouched).

    `cloud snapshot restore SNAPSHOT_ID data-copy`"""
    st = state(ctx)
    show_row(st, st.client().snapshots.restore(snapshot, new_name), "volume")
    message(f"Restored snapshot {snapshot} into the new volume {new_name}.")
