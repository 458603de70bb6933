"""What can be done to a live instance at once: pause, resume, resize, metadata and tags,
exec, stats and a console. Each acts on the engine inside the request, then records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from thecloud.domain.common import ListQuery, Page
from thecloud.domain.compute import (
    Instance,
    InstanceStatus,
    MetricSample,
    advanced,
    validate_labels,
)
from thecloud.domain.errors import Conflict, InvalidInput, not_found
from thecloud.domain.identity import Principal
from thecloud.domain.quotas import QuotaResource
from thecloud.ports.compute import ContainerRuntime, ContainerStats, ExecResult, Session
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.instances import find_instance, instance_type
from thecloud.services.tenancy import QuotaService

S = InstanceStatus
MAX_EXEC_SECONDS = 300.0


class InstanceOps(Service):
    def __init__(self, kernel: Kernel, quotas: QuotaService, runtime: ContainerRuntime) -> None:
        super().__init__(kernel)
        self._quotas, self._runtime = quotas, runtime

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> Instance:
        return await find_instance(uow, p.tenant_id, ident)

    async def _live(self, p: Principal, ident: str, action: str, *states: S) -> Instance:
        async with self._uow(read_only=True) as uow:
            found = await self._find(uow, p, ident)
        self.allow(p, action, "instance", found.id, found.name)
        if found.status not in states or not found.container_id:
            wanted = " or ".join(str(s) for s in states)
            raise Conflict(f"instance {found.name} is {found.status}; it must be {wanted}")
        return found

    async def _save(
        self, p: Principal, before: Instance, action: str, **changes: object
    ) -> Instance:
        after = advanced(before, self._clock.now(), **changes)
        async with self._uow() as uow:
            if not await uow.instances.swap(after, before.version):
                raise Conflict(f"instance {before.name} changed meanwhile; retry")
            details = {"name": after.name, "status": str(after.status)}
            await self._record(uow, p, action, "instance", after.id, details)
            await uow.commit()
        return after

    async def pause(self, p: Principal, ident: str) -> Instance:
        found = await self._live(p, ident, "instance:update", S.RUNNING)
        await self._runtime.pause(found.container_id or "")
        return await self._save(p, found, "instance:pause", status=S.PAUSED, status_reason="paused")

    async def resume(self, p: Principal, ident: str) -> Instance:
        found = await self._live(p, ident, "instance:update", S.PAUSED)
        await self._runtime.unpause(found.container_id or "")
        return await self._save(
            p, found, "instance:resume", status=S.RUNNING, status_reason="resumed"
        )

    async def resize(self, p: Principal, ident: str, type_name: str) -> Instance:
        """New CPU and memory limits, applied to the container at once (running or not)."""
        kind = instance_type(type_name)
        async with self._uow() as uow:
            found = await self._find(uow, p, ident)
            self.allow(p, "instance:resize", "instance", found.id, found.name)
            if found.status in (S.DELETING, S.DELETED):
                raise Conflict(f"instance {found.name} is {found.status}")
            delta = {
                QuotaResource.VCPUS: kind.vcpus - found.vcpus,
                QuotaResource.MEMORY_MB: kind.memory_mb - found.memory_mb,
            }
            await self._quotas.reserve(uow, p.tenant_id, {k: v for k, v in delta.items() if v > 0})
            await self._quotas.release(uow, p.tenant_id, {k: -v for k, v in delta.items() if v < 0})
            resized = advanced(
                found, self._clock.now(), instance_type=kind.id, vcpus=kind.vcpus,
                memory_mb=kind.memory_mb,
            )  # fmt: skip
            if not await uow.instances.swap(resized, found.version):
                raise Conflict(f"instance {found.name} changed meanwhile; retry the resize")
            await self._record(uow, p, "instance:resize", "instance", found.id, {"to": kind.id})
            if found.container_id:  # last: an engine error rolls everything above back
                await self._runtime.update_limits(
                    found.container_id, kind.vcpus * 10**9, kind.memory_mb * 1024 * 1024
                )
            await uow.commit()
        return resized

    async def set_metadata(self, p: Principal, ident: str, metadata: Mapping[str, str]) -> Instance:
        validate_labels(metadata, "metadata")
        return await self._change(
            p, ident, "instance:metadata", lambda _: {"metadata": dict(metadata)}
        )

    async def set_tags(self, p: Principal, ident: str, tags: Mapping[str, str]) -> Instance:
        """Add or replace these tags (the instance's labels); others are kept."""
        validate_labels(tags, "tag")  # before any read: a bad tag is a 400 whatever the instance
        return await self._change(
            p,
            ident,
            "instance:tag",
            lambda found: {"labels": dict(validate_labels({**found.labels, **tags}, "tag"))},
        )

    async def remove_tag(self, p: Principal, ident: str, key: str) -> Instance:
        def without(found: Instance) -> dict[str, object]:
            if key not in found.labels:
                raise not_found("tag", key)
            return {"labels": {k: v for k, v in found.labels.items() if k != key}}

        return await self._change(p, ident, "instance:untag", without)

    async def _change(
        self,
        p: Principal,
        ident: str,
        action: str,
        change: Callable[[Instance], dict[str, object]],
    ) -> Instance:
        """Read the instance once, apply `change` to what was read, and save it only if it
        is still that version (a concurrent change is a Conflict, never a lost update)."""
        async with self._uow(read_only=True) as uow:
            found = await self._find(uow, p, ident)
        self.allow(p, "instance:update", "instance", found.id, found.name)
        if found.status == S.DELETED:
            raise Conflict(f"instance {found.name} is terminated")
        return await self._save(p, found, action, **change(found))

    async def exec(
        self, p: Principal, ident: str, command: tuple[str, ...], timeout: float
    ) -> ExecResult:
        if not command:
            raise InvalidInput('command must name a program, e.g. ["ls", "-l", "/"]')
        if not 0 < timeout <= MAX_EXEC_SECONDS:
            raise InvalidInput(f"timeout must be more than 0 and at most {MAX_EXEC_SECONDS:.0f} s")
        found = await self._live(p, ident, "instance:update", S.RUNNING)
        async with self._uow() as uow:
            await self._record(
                uow, p, "instance:exec", "instance", found.id, {"command": list(command)}
            )
            await uow.commit()
        return await self._runtime.exec(found.container_id or "", command, timeout)

    async def stats(self, p: Principal, ident: str) -> ContainerStats:
        found = await self._live(p, ident, "instance:read", S.RUNNING, S.PAUSED)
        return await self._runtime.stats(found.container_id or "")

    async def metrics(self, p: Principal, ident: str, query: ListQuery) -> Page[MetricSample]:
        """The stored stats history of an instance (sampled by the compute worker)."""
        async with self._uow(read_only=True) as uow:
            found = await self._find(uow, p, ident)
            self.allow(p, "instance:read", "instance", found.id, found.name)
            filters = {**query.filters, "instance_id": found.id}
            return await uow.metrics.list(replace(query, filters=filters), p.tenant_id)

    async def console(self, p: Principal, ident: str, rows: int, cols: int) -> Session:
        """An interactive shell in the instance (the caller closes it)."""
        found = await self._live(p, ident, "instance:update", S.RUNNING)
        async with self._uow() as uow:
            await self._record(
                uow, p, "instance:console", "instance", found.id, {"name": found.name}
            )
            await uow.commit()
        return await self._runtime.shell(found.container_id or "", ("/bin/sh",), rows, cols)
