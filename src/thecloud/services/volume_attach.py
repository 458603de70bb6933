"""Volumes named at launch (`volumes: [{volume_id, mount_path}]`), attached in the launching
transaction; kept apart from services/volumes.py so instances can use it without a cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from thecloud.domain.compute import Instance
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.storage import Volume, VolumeStatus, changed, validate_mount_path
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import by_id_or_name


async def find_volume(uow: UnitOfWork, tenant_id: str, ident: str) -> Volume:
    return await by_id_or_name(uow.volumes, "volume", tenant_id, ident)


async def attach_at_launch(
    uow: UnitOfWork, i: Instance, specs: Sequence[Mapping[str, str]]
) -> list[Volume]:
    """Mark each named volume IN-USE by the new instance at its path (in the caller's
    transaction); the worker binds them into the container when it makes it."""
    paths: set[str] = set()
    attached = []
    for spec in specs:
        unknown = set(spec) - {"volume_id", "mount_path"}
        if unknown or not spec.get("volume_id") or not spec.get("mount_path"):
            raise InvalidInput(
                "each entry of volumes needs volume_id and mount_path, and nothing else"
            )
        path = validate_mount_path(spec["mount_path"])
        if path in paths:
            raise InvalidInput(f"two volumes are to be mounted at {path}")
        paths.add(path)
        volume = await find_volume(uow, i.tenant_id, spec["volume_id"])
        if volume.status != VolumeStatus.AVAILABLE:
            raise Conflict(f"volume {volume.name} is {volume.status}, not AVAILABLE")
        now = i.created_at
        used = changed(volume, now, status=VolumeStatus.IN_USE, instance_id=i.id, mount_path=path)
        await uow.volumes.update(used)
        attached.append(used)
    return attached
