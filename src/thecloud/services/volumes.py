"""Volumes and snapshots: block storage that outlives instances.

A volume is recorded first (CREATING), made by the storage backend, then marked AVAILABLE; a
crash in between is finished by the reconciler (the backend's calls are idempotent), and a
backend failure removes the record and gives the quota back. Attaching to a running instance
plugs the volume into its container at once (no restart); a stopped instance gets it when it
starts. Data stays on the volume through stop/start, detach, and the instance's termination.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from thecloud.domain.common import ListQuery, Page, new_id, validate_name
from thecloud.domain.compute import Instance, InstanceStatus
from thecloud.domain.errors import CloudError, Conflict, InvalidInput
from thecloud.domain.identity import Principal
from thecloud.domain.quotas import QuotaResource
from thecloud.domain.storage import (
    Snapshot,
    SnapshotStatus,
    Volume,
    VolumeStatus,
    changed,
    validate_mount_path,
    validate_size,
)
from thecloud.ports.compute import ContainerRuntime, ContainerStatus
from thecloud.ports.storage import StorageBackend, VolumeMounter
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id
from thecloud.services.instances import find_instance
from thecloud.services.tenancy import QuotaService
from thecloud.services.volume_attach import find_volume

log = logging.getLogger(__name__)
V = VolumeStatus
STALE = timedelta(seconds=60)  # a CREATING row older than this lost its creator


@dataclass(frozen=True, slots=True)
class Attached:
    volume: Volume
    live: bool  # plugged into the running container now (else: at its next start)


class VolumeService(Service):
    def __init__(
        self,
        kernel: Kernel,
        quotas: QuotaService,
        backend: StorageBackend,
        mounter: VolumeMounter,
        runtime: ContainerRuntime,
    ) -> None:
        super().__init__(kernel)
        self._quotas, self.backend, self.mounter, self._runtime = quotas, backend, mounter, runtime

    async def create(
        self,
        p: Principal,
        name: str,
        size_gb: int,
        encrypted: bool = False,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        snapshot: Snapshot | None = None,
    ) -> Volume:
        validate_name(name, "volume")
        validate_size(size_gb)
        self.allow(p, "volume:create", "volume", name=name)
        if encrypted and not self.backend.encryption:
            raise InvalidInput(
                f"encrypted volumes are not available with the {self.backend.name} storage "
                "backend on this host (no device-mapper for dm-crypt): create it without "
                "encrypted"
            )
        now = self._clock.now()
        volume = Volume(
            new_id(), p.tenant_id, name, size_gb, V.CREATING, self.backend.name, encrypted,
            description, dict(labels or {}), p.id, now, now,
            snapshot_id=snapshot.id if snapshot else None,
        )  # fmt: skip
        async with self._uow() as uow:
            if await uow.volumes.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"a volume named {name!r} already exists")
            await self._quotas.reserve(uow, p.tenant_id, {QuotaResource.STORAGE_GB: size_gb})
            await uow.volumes.add(volume)
            await uow.commit()
        try:
            if snapshot is not None:
                await self.backend.restore(snapshot.id, volume.id)
            else:
                await self.backend.create(volume.id, size_gb, encrypted)
        except CloudError:
            await self._forget(volume)
            raise
        ready = changed(volume, self._clock.now(), status=V.AVAILABLE)
        async with self._uow() as uow:
            await uow.volumes.update(ready)
            action = "volume:create" if snapshot is None else "snapshot:restore"
            await self._record(
                uow, p, action, "volume", volume.id, {"name": name, "size_gb": size_gb}
            )
            await uow.commit()
        return ready

    async def _forget(self, volume: Volume) -> None:
        """A volume the backend could not make: no row, no quota, no data."""
        try:
            await self.backend.delete(volume.id)
        except CloudError:
            log.warning("volume %s: could not clean up after a failed create", volume.id)
        async with self._uow() as uow:
            await uow.volumes.delete(volume.id)
            await self._quotas.release(
                uow, volume.tenant_id, {QuotaResource.STORAGE_GB: volume.size_gb}
            )
            await uow.commit()

    async def list(self, p: Principal, query: ListQuery) -> Page[Volume]:
        self.allow(p, "volume:read", "volume")
        async with self._uow(read_only=True) as uow:
            return await uow.volumes.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> Volume:
        async with self._uow(read_only=True) as uow:
            volume = await find_volume(uow, p.tenant_id, ident)
        self.allow(p, "volume:read", "volume", volume.id, volume.name)
        return volume

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            volume = await find_volume(uow, p.tenant_id, ident)
            self.allow(p, "volume:delete", "volume", volume.id, volume.name)
            if volume.status == V.IN_USE:
                raise Conflict(f"volume {volume.name} is attached: detach it first")
            if volume.status == V.CREATING:
                raise Conflict(f"volume {volume.name} is still being created")
            gone = changed(volume, self._clock.now(), status=V.DELETING)
            await uow.volumes.update(gone)
            await self._record(uow, p, "volume:delete", "volume", volume.id, {"name": volume.name})
            await uow.commit()
        await self._drop(gone)

    async def _drop(self, volume: Volume) -> None:
        await self.backend.delete(volume.id)
        async with self._uow() as uow:
            if await uow.volumes.delete(volume.id):
                await self._quotas.release(
                    uow, volume.tenant_id, {QuotaResource.STORAGE_GB: volume.size_gb}
                )
            await uow.commit()

    async def attach(
        self, p: Principal, ident: str, instance_ident: str, mount_path: str
    ) -> Attached:
        path = validate_mount_path(mount_path)
        async with self._uow() as uow:
            volume = await find_volume(uow, p.tenant_id, ident)
            self.allow(p, "volume:update", "volume", volume.id, volume.name)
            instance = await find_instance(uow, p.tenant_id, instance_ident)
            self.allow(p, "instance:update", "instance", instance.id, instance.name)
            retry = volume.status == V.IN_USE and (volume.instance_id, volume.mount_path) == (
                instance.id,
                path,
            )
            if retry:
                pass  # attached there already: answer below, outside the transaction
            elif volume.status != V.AVAILABLE:
                raise Conflict(f"volume {volume.name} is {volume.status}, not AVAILABLE")
            if instance.deleted_at is not None or instance.status == InstanceStatus.DELETING:
                raise Conflict(f"instance {instance.name} is terminated")
            if await uow.volumes.find_one(instance_id=instance.id, mount_path=path):
                raise Conflict(f"instance {instance.name} already has a volume at {path}")
            else:
                used = changed(
                    volume, self._clock.now(), status=V.IN_USE, instance_id=instance.id,
                    mount_path=path,
                )  # fmt: skip
                await uow.volumes.update(used)
                await uow.commit()
        if retry:
            return Attached(volume, await self._running(instance) is not None)
        container = await self._running(instance)
        if container is not None:
            try:
                host = await self.backend.mountpoint(volume.id)
                await self.mounter.plug(container, host, path)
            except CloudError:
                await self._free(used)  # not attached after all
                raise
        async with self._uow() as uow:
            await self._record(
                uow, p, "volume:update", "volume", volume.id,
                {"attached": instance.id, "mount_path": path, "live": container is not None},
            )  # fmt: skip
            await uow.commit()
        return Attached(used, container is not None)

    async def detach(self, p: Principal, ident: str) -> Volume:
        async with self._uow(read_only=True) as uow:
            volume = await find_volume(uow, p.tenant_id, ident)
            self.allow(p, "volume:update", "volume", volume.id, volume.name)
            if volume.status != V.IN_USE or volume.instance_id is None:
                raise Conflict(f"volume {volume.name} is not attached")
            instance = await uow.instances.get(volume.instance_id)
        path = volume.mount_path or ""
        if instance is not None and (container := await self._running(instance)) is not None:
            await self.mounter.unplug(container, path)
        else:  # stopped: nothing mounted inside, but the host side of a plug may remain
            await self.mounter.unstage(volume.instance_id, path)
        free = self._freed(volume)
        async with self._uow() as uow:
            await uow.volumes.update(free)
            await self._record(
                uow, p, "volume:update", "volume", volume.id, {"detached": volume.instance_id}
            )
            await uow.commit()
        return free

    def _freed(self, v: Volume) -> Volume:
        return changed(v, self._clock.now(), status=V.AVAILABLE, instance_id=None, mount_path=None)

    async def _free(self, v: Volume) -> None:
        async with self._uow() as uow:
            await uow.volumes.update(self._freed(v))
            await uow.commit()

    async def _running(self, i: Instance) -> str | None:
        """The id of the instance's running container, if it has one."""
        if not i.container_id or i.status not in (InstanceStatus.RUNNING, InstanceStatus.PAUSED):
            return None
        state = await self._runtime.inspect(i.container_id)
        if state is None or state.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
            return None
        return state.id

    # -- the compute worker's side -----------------------------------------------------

    async def plug_dir(self, i: Instance) -> str:
        return await self.mounter.plug_dir(i.id)

    async def mounts_for(self, i: Instance) -> tuple[tuple[str, str], ...]:
        """The volumes a new container of the instance is made with (mounted on the host)."""
        async with self._uow(read_only=True) as uow:
            attached = await uow.volumes.find(instance_id=i.id, status=V.IN_USE)
        out = []
        for v in sorted(attached, key=lambda x: x.mount_path or ""):
            out.append((await self.backend.mountpoint(v.id), v.mount_path or ""))
        return tuple(out)

    async def started(self, i: Instance, container: str) -> None:
        """After every start: the attached volumes are there, detached ones are gone (the
        engine binds what the container was made with again at each start)."""
        async with self._uow(read_only=True) as uow:
            attached = {
                v.mount_path or "": v
                for v in await uow.volumes.find(instance_id=i.id, status=V.IN_USE)
            }
        bound = await self.mounter.mounted(container)
        wanted = {path: await self.backend.mountpoint(v.id) for path, v in attached.items()}
        for path, host in bound.items():
            if wanted.get(path) != host:  # detached, or another volume is attached there now
                await self.mounter.unplug(container, path)
        for path, host in wanted.items():
            if bound.get(path) != host:
                await self.mounter.plug(container, host, path)

    async def prepare(self, i: Instance) -> None:  # noqa: ARG002 - mounts_for does the work
        return None

    async def released(self, i: Instance) -> None:
        """After an instance is gone: its plug directory goes (a volume plugged into it would
        otherwise stay mounted there, keeping its loop device after a delete)."""
        async with self._uow(read_only=True) as uow:
            live = {x.id for x in await uow.instances.live()}
        await self.mounter.prune(live - {i.id})

    async def detach_all(self, uow: UnitOfWork, i: Instance) -> None:
        """A terminated instance lets go of its volumes, in the worker's transaction that
        records it DELETED; their data stays."""
        for v in await uow.volumes.find(instance_id=i.id):
            await uow.volumes.update(self._freed(v))

    async def reconcile(self) -> int:
        """After a crash: finish creates and deletes, remove data no row owns."""
        fixed = 0
        # The backend first: rows are committed before data is made, so data listed now
        # without a row read after it is truly an orphan, not a create in flight.
        held, held_snaps = set(await self.backend.volumes()), set(await self.backend.snapshots())
        async with self._uow(read_only=True) as uow:
            rows = await uow.volumes.find()
            snaps = await uow.snapshots.find()
        now = self._clock.now()
        for v in rows:
            if v.status == V.CREATING and now - v.updated_at > STALE:
                try:
                    if v.snapshot_id:
                        await self.backend.restore(v.snapshot_id, v.id)
                    else:
                        await self.backend.create(v.id, v.size_gb, v.encrypted)
                except CloudError as exc:
                    log.warning("volume %s could not be finished: %s", v.id, exc)
                    await self._forget(v)
                else:
                    async with self._uow() as uow:
                        await uow.volumes.update(changed(v, now, status=V.AVAILABLE))
                        await uow.commit()
                fixed += 1
            elif v.status == V.DELETING:
                await self._drop(v)
                fixed += 1
        known = {v.id for v in rows}
        for orphan in held - known:
            await self.backend.delete(orphan)
            fixed += 1
        for s in snaps:
            if s.status in (SnapshotStatus.CREATING, SnapshotStatus.DELETING) and (
                now - s.updated_at > STALE
            ):
                await self.backend.delete_snapshot(s.id)
                async with self._uow() as uow:
                    await uow.snapshots.delete(s.id)
                    await uow.commit()
                fixed += 1
        for orphan in held_snaps - {s.id for s in snaps}:
            await self.backend.delete_snapshot(orphan)
            fixed += 1
        async with self._uow(read_only=True) as uow:
            fixed += await self.mounter.prune({x.id for x in await uow.instances.live()})
        return fixed + await self.backend.sweep(STALE)


class SnapshotService(Service):
    def __init__(self, kernel: Kernel, volumes: VolumeService) -> None:
        super().__init__(kernel)
        self._volumes, self._backend = volumes, volumes.backend

    async def create(self, p: Principal, volume_ident: str, description: str = "") -> Snapshot:
        async with self._uow() as uow:
            volume = await find_volume(uow, p.tenant_id, volume_ident)
            self.allow(p, "snapshot:create", "snapshot", name=volume.name)
            if volume.status not in (V.AVAILABLE, V.IN_USE):
                raise Conflict(f"volume {volume.name} is {volume.status}")
            now = self._clock.now()
            snap = Snapshot(
                new_id(), p.tenant_id, volume.id, volume.size_gb, SnapshotStatus.CREATING,
                description[:1000], p.id, now, now,
            )  # fmt: skip
            await uow.snapshots.add(snap)
            await uow.commit()
        try:
            await self._backend.snapshot(volume.id, snap.id)
        except CloudError:
            await self._backend.delete_snapshot(snap.id)
            async with self._uow() as uow:
                await uow.snapshots.delete(snap.id)
                await uow.commit()
            raise
        ready = replace(snap, status=SnapshotStatus.AVAILABLE, updated_at=self._clock.now())
        async with self._uow() as uow:
            await uow.snapshots.update(ready)
            await self._record(
                uow, p, "snapshot:create", "snapshot", snap.id, {"volume_id": volume.id}
            )
            await uow.commit()
        return ready

    async def list(self, p: Principal, query: ListQuery) -> Page[Snapshot]:
        self.allow(p, "snapshot:read", "snapshot")
        async with self._uow(read_only=True) as uow:
            return await uow.snapshots.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> Snapshot:
        return await self._find(p, ident, "snapshot:read")

    async def _find(self, p: Principal, ident: str, action: str) -> Snapshot:
        async with self._uow(read_only=True) as uow:
            snap = await by_id(uow.snapshots, "snapshot", p.tenant_id, ident)
        self.allow(p, action, "snapshot", snap.id)
        return snap

    async def delete(self, p: Principal, ident: str) -> None:
        snap = await self._find(p, ident, "snapshot:delete")
        if snap.status == SnapshotStatus.CREATING:
            raise Conflict(f"snapshot {snap.id} is still being taken")
        await self._backend.delete_snapshot(snap.id)
        async with self._uow() as uow:
            await uow.snapshots.delete(snap.id)
            await self._record(uow, p, "snapshot:delete", "snapshot", snap.id, {})
            await uow.commit()

    async def restore(self, p: Principal, ident: str, new_volume_name: str) -> Volume:
        snap = await self._find(p, ident, "snapshot:restore")
        if snap.status != SnapshotStatus.AVAILABLE:
            raise Conflict(f"snapshot {snap.id} is {snap.status}")
        return await self._volumes.create(
            p, new_volume_name, snap.size_gb, description=f"restored from snapshot {snap.id}",
            snapshot=snap,
        )  # fmt: skip
