"""Instances: launch and lifecycle requests. The API records intent; the compute worker
(services/compute_worker.py) drives the container runtime to it."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from thecloud.domain.common import ListQuery, Page, as_utc, new_id
from thecloud.domain.compute import (
    DEFAULT_INSTANCE_TYPE,
    INSTANCE_TYPES,
    Deployment,
    Image,
    ImageStatus,
    Instance,
    InstanceStatus,
    InstanceType,
    moved,
    parse_ports,
    validate_env,
    validate_instance_name,
    validate_labels,
    validate_user_data,
)
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.identity import Principal
from thecloud.domain.quotas import QuotaResource
from thecloud.ports.compute import ContainerRuntime, LogLine
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id_or_name
from thecloud.services.placement import attach_groups, place
from thecloud.services.ssh_keys import find_key
from thecloud.services.tenancy import QuotaService
from thecloud.services.volume_attach import attach_at_launch

S = InstanceStatus
# Which states each request may start from, and the state it puts the instance in.
_REQUESTS: dict[str, tuple[frozenset[InstanceStatus], InstanceStatus]] = {
    "stop": (frozenset({S.RUNNING, S.STARTING, S.REBOOTING, S.PAUSED, S.ERROR}), S.STOPPING),
    "start": (frozenset({S.STOPPED, S.STOPPING, S.ERROR}), S.STARTING),
    "reboot": (frozenset({S.RUNNING}), S.REBOOTING),
    "terminate": (frozenset(set(S) - {S.DELETED, S.DELETING}), S.DELETING),
}
# A request that finds the instance already where it would put it is answered as is.
_ALREADY: dict[str, frozenset[InstanceStatus]] = {
    "stop": frozenset({S.STOPPED, S.STOPPING}),
    "start": frozenset({S.RUNNING, S.STARTING}),
    "reboot": frozenset({S.REBOOTING}),
    "terminate": frozenset({S.DELETING}),
}


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    name: str
    image: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    ports: str = ""
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    labels: Mapping[str, str] | None = None
    metadata: Mapping[str, str] | None = None
    ssh_key_id: str | None = None
    user_data: str = ""
    vpc_id: str | None = None
    subnet_id: str | None = None
    private_ip: str | None = None
    security_group_ids: tuple[str, ...] = ()
    volumes: tuple[Mapping[str, str], ...] = ()  # [{volume_id, mount_path}]


def instance_type(name: str) -> InstanceType:
    for t in INSTANCE_TYPES:
        if t.id == name:
            return t
    known = ", ".join(t.id for t in INSTANCE_TYPES)
    raise InvalidInput(f"unknown instance type {name!r}; choose one of: {known}")


async def find_instance(uow: UnitOfWork, tenant_id: str, ident: str) -> Instance:
    """By id (terminated ones too), else by the name of a live one."""
    return await by_id_or_name(uow.instances, "instance", tenant_id, ident, deleted_at=None)


def usage(i: Instance) -> dict[QuotaResource, int]:
    return {
        QuotaResource.INSTANCES: 1,
        QuotaResource.VCPUS: i.vcpus,
        QuotaResource.MEMORY_MB: i.memory_mb,
    }


class InstanceService(Service):
    def __init__(self, kernel: Kernel, quotas: QuotaService, runtime: ContainerRuntime) -> None:
        super().__init__(kernel)
        self._quotas, self._runtime = quotas, runtime
        self.wake = asyncio.Event()  # set when there is work for the compute worker

    async def launch(self, p: Principal, req: LaunchRequest) -> Instance:
        validate_instance_name(req.name)
        self.allow(p, "instance:launch", "instance", name=req.name)
        kind = instance_type(req.instance_type or DEFAULT_INSTANCE_TYPE)
        instance = self._new(p.tenant_id, p.id, req, kind)
        async with self._uow() as uow:
            instance = await self._add(uow, instance, req)
            await self._record(
                uow, p, "instance:launch", "instance", instance.id, _summary(instance)
            )
            await uow.commit()
        self.wake.set()
        return instance

    async def launch_replica(self, uow: UnitOfWork, d: Deployment, name: str) -> Instance:
        """A replica of a container deployment, in the caller's (the worker's) transaction;
        the deployment's creator was authorized when it was created or scaled."""
        req = LaunchRequest(name, d.image, d.instance_type, env=d.env, cmd=d.cmd)
        instance = self._new(d.tenant_id, d.created_by, req, instance_type(d.instance_type))
        instance = replace(instance, ports=d.ports, deployment_id=d.id)
        return await self._add(uow, instance, req)

    async def _add(self, uow: UnitOfWork, instance: Instance, req: LaunchRequest) -> Instance:
        """Resolve the image and the SSH key, check the name, reserve quota, insert."""
        tenant = instance.tenant_id
        image = await uow.images.by_name(tenant, req.image)
        instance = replace(instance, image_ref=self.resolve_image(req.image, image))
        if req.ssh_key_id:
            key = await find_key(uow, tenant, req.ssh_key_id)
            instance = replace(instance, authorized_keys=key.public_key + "\n")
        if await uow.instances.find_one(tenant_id=tenant, name=req.name, deleted_at=None):
            raise Conflict(f"an instance named {req.name!r} already exists")
        instance = await place(
            uow, instance, req.vpc_id, req.subnet_id, req.private_ip, req.security_group_ids
        )
        await self._quotas.reserve(uow, tenant, usage(instance))
        await uow.instances.add(instance)
        await attach_groups(uow, instance, req.security_group_ids)
        await attach_at_launch(uow, instance, req.volumes)
        return instance

    @staticmethod
    def resolve_image(name: str, image: Image | None) -> str:
        if image is None:
            raise InvalidInput(f"unknown image {name!r}; `GET /images` lists the catalog")
        if image.status != ImageStatus.AVAILABLE or not image.reference:
            raise Conflict(
                f"image {name!r} is not built on this host yet; an operator runs "
                f"`thecloud images build {image.alias_of or name}`"
            )
        return image.reference

    def _new(self, tenant: str, actor: str, req: LaunchRequest, kind: InstanceType) -> Instance:
        now = self._clock.now()
        return Instance(
            id=new_id(),
            tenant_id=tenant,
            name=req.name,
            image=req.image,
            image_ref="",
            instance_type=kind.id,
            vcpus=kind.vcpus,
            memory_mb=kind.memory_mb,
            status=S.STARTING,
            ports=parse_ports(req.ports),
            env=validate_env(tuple(req.env)),
            cmd=tuple(req.cmd),
            labels=dict(validate_labels(req.labels or {})),
            metadata=dict(validate_labels(req.metadata or {}, "metadata")),
            created_by=actor,
            created_at=now,
            updated_at=now,
            user_data=validate_user_data(req.user_data),
        )

    async def list(self, p: Principal, query: ListQuery) -> Page[Instance]:
        self.allow(p, "instance:read", "instance")
        async with self._uow(read_only=True) as uow:
            if "status" not in query.filters:
                query = replace(query, filters={**query.filters, "deleted_at": None})
            return await uow.instances.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> Instance:
        async with self._uow(read_only=True) as uow:
            found = await self._find(uow, p, ident)
        self.allow(p, "instance:read", "instance", found.id, found.name)
        return found

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> Instance:
        return await find_instance(uow, p.tenant_id, ident)

    async def request(self, p: Principal, ident: str, what: str) -> Instance:
        """stop, start, reboot or terminate: record the new desired state for the worker."""
        allowed, target = _REQUESTS[what]
        action = "instance:terminate" if what == "terminate" else "instance:update"
        async with self._uow() as uow:
            found = await self._find(uow, p, ident)
            self.allow(p, action, "instance", found.id, found.name)
            if found.status in _ALREADY[what]:
                return found
            if found.status not in allowed:
                raise Conflict(f"cannot {what} instance {found.name} while it is {found.status}")
            changed = self._moved(found, target, f"{what} requested")
            if not await uow.instances.swap(changed, found.version):
                raise Conflict(f"instance {found.name} changed meanwhile; retry the {what}")
            await self._record(
                uow, p, f"instance:{what}", "instance", found.id, {"name": found.name}
            )
            await uow.commit()
        self.wake.set()
        return changed

    def _moved(self, i: Instance, status: InstanceStatus, reason: str) -> Instance:
        return moved(i, self._clock.now(), status, reason)

    async def logs(
        self, p: Principal, ident: str, tail: int | None, since: datetime | None
    ) -> builtins.list[LogLine]:
        found = await self.get(p, ident)
        if not found.container_id or found.status == S.DELETED:
            return []
        return await self._runtime.logs(found.container_id, tail, as_utc(since))

    async def follow(
        self, p: Principal, ident: str, since: datetime | None
    ) -> AsyncIterator[LogLine]:
        """Authorize, then the instance's output as it is written (from `since` first, if
        given); Conflict while it has no container yet (STARTING) or any more (DELETED)."""
        found = await self.get(p, ident)
        if not found.container_id or found.status == S.DELETED:
            raise Conflict(f"instance {found.name} is {found.status}; it has no output to follow")
        return self._runtime.follow(found.container_id, as_utc(since))


def _summary(i: Instance) -> dict[str, object]:
    out: dict[str, object] = {"name": i.name, "image": i.image, "instance_type": i.instance_type}
    if i.vpc_id:
        out.update(vpc_id=i.vpc_id, subnet_id=i.subnet_id, private_ip=i.private_ip)
    return out
