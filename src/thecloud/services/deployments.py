"""Container deployments: image + replicas + ports. The API records the desired count; the
compute worker (`reconcile`) launches or terminates replicas until it holds, and replaces
replicas that went away."""

from __future__ import annotations

import builtins
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, replace

from thecloud.domain.audit import Event
from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.compute import (
    DEFAULT_INSTANCE_TYPE,
    Deployment,
    DeploymentStatus,
    Instance,
    InstanceStatus,
    moved,
    parse_ports,
    validate_env,
    validate_instance_name,
    validate_replicas,
)
from thecloud.domain.errors import CloudError, Conflict
from thecloud.domain.identity import Principal
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id_or_name
from thecloud.services.instances import InstanceService, instance_type
from thecloud.services.recording import system_event

S = InstanceStatus
_GONE = (S.DELETING, S.DELETED)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeploymentRequest:
    name: str
    image: str
    replicas: int
    ports: str = ""
    instance_type: str = DEFAULT_INSTANCE_TYPE
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


class DeploymentService(Service):
    def __init__(self, kernel: Kernel, instances: InstanceService) -> None:
        super().__init__(kernel)
        self._instances = instances

    async def create(self, p: Principal, req: DeploymentRequest) -> Deployment:
        validate_instance_name(req.name)
        self.allow(p, "container:create", "container", name=req.name)
        now = self._clock.now()
        d = Deployment(
            new_id(), p.tenant_id, req.name, req.image,
            instance_type(req.instance_type or DEFAULT_INSTANCE_TYPE).id,
            validate_replicas(req.replicas), parse_ports(req.ports), validate_env(req.env),
            tuple(req.cmd), DeploymentStatus.ACTIVE, "", p.id, now, now,
        )  # fmt: skip
        async with self._uow() as uow:
            if await uow.deployments.find_one(tenant_id=p.tenant_id, name=req.name):
                raise Conflict(f"a deployment named {req.name!r} already exists")
            image = await uow.images.by_name(p.tenant_id, req.image)
            self._instances.resolve_image(req.image, image)  # refuse unknown or unbuilt images now
            await uow.deployments.add(d)
            await self._record(uow, p, "container:create", "deployment", d.id, {"name": d.name})
            await uow.commit()
        self._instances.wake.set()
        return d

    async def list(self, p: Principal, query: ListQuery) -> Page[Deployment]:
        self.allow(p, "container:read", "container")
        async with self._uow(read_only=True) as uow:
            return await uow.deployments.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> tuple[Deployment, builtins.list[Instance]]:
        """The deployment and its live replicas."""
        async with self._uow(read_only=True) as uow:
            d = await self._find(uow, p, ident)
            replicas = await uow.instances.find(deployment_id=d.id, deleted_at=None)
        self.allow(p, "container:read", "container", d.id, d.name)
        return d, replicas

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> Deployment:
        return await by_id_or_name(uow.deployments, "deployment", p.tenant_id, ident)

    async def scale(self, p: Principal, ident: str, replicas: int) -> Deployment:
        validate_replicas(replicas)
        return await self._change(p, ident, "container:scale", replicas=replicas)

    async def delete(self, p: Principal, ident: str) -> Deployment:
        """DELETING: the worker terminates the replicas, then removes the deployment."""
        return await self._change(p, ident, "container:delete", status=DeploymentStatus.DELETING)

    async def _change(self, p: Principal, ident: str, action: str, **fields: object) -> Deployment:
        async with self._uow() as uow:
            d = await self._find(uow, p, ident)
            self.allow(p, action, "container", d.id, d.name)
            if d.status == DeploymentStatus.DELETING:
                raise Conflict(f"deployment {d.name} is being deleted")
            changed = replace(d, updated_at=self._clock.now(), version=d.version + 1, **fields)  # type: ignore[arg-type]
            await uow.deployments.update(changed)
            await self._record(uow, p, action, "deployment", d.id, {"name": d.name, **fields})
            await uow.commit()
        self._instances.wake.set()
        return changed

    async def reconcile(self) -> int:
        """Make every deployment's replica count true; the number of replicas started or
        stopped. Runs in the compute worker: two reads per pass, whatever the count."""
        async with self._uow(read_only=True) as uow:
            wanted = await uow.deployments.find()
            replicas: dict[str, builtins.list[Instance]] = defaultdict(list)
            if wanted:
                for i in await uow.instances.live():  # not DELETED: DELETING ones count too
                    if i.deployment_id is not None:
                        replicas[i.deployment_id].append(i)
        changes = 0
        for d in wanted:
            try:
                changes += await self._converge(d, replicas[d.id])
            except CloudError as exc:
                await self._note(d, str(exc))
        return changes

    async def _converge(self, d: Deployment, replicas: builtins.list[Instance]) -> int:
        live = [i for i in replicas if i.status not in _GONE]
        target = 0 if d.status == DeploymentStatus.DELETING else d.replicas
        if d.status == DeploymentStatus.DELETING and not live:
            await self._remove(d, any(i.status == S.DELETING for i in replicas))
        for _ in range(target - len(live)):  # one transaction each: a quota stops the rest only
            async with self._uow() as uow:
                replica = await self._instances.launch_replica(uow, d, _replica_name(d))
                await uow.emit(
                    self._event(d, "container.replica_launched", {"instance": replica.id})
                )
                await uow.commit()
        newest_first = sorted(live, key=lambda i: i.created_at, reverse=True)
        for extra in newest_first[: max(len(live) - target, 0)]:
            async with self._uow() as uow:
                if await uow.instances.swap(self._terminating(extra), extra.version):
                    await uow.emit(
                        self._event(d, "container.replica_removed", {"instance": extra.id})
                    )
                    await uow.commit()
        if len(live) != target:
            self._instances.wake.set()
        elif d.status_reason and d.status == DeploymentStatus.ACTIVE:
            await self._note(d, "")  # converged: what stalled it is over
        return abs(target - len(live))

    async def _remove(self, d: Deployment, replicas_terminating: bool) -> None:
        if replicas_terminating:
            return  # the worker is still removing the last ones
        async with self._uow() as uow:
            await uow.deployments.delete(d.id)
            await uow.emit(self._event(d, "container.deleted", {}))
            await uow.commit()

    def _terminating(self, i: Instance) -> Instance:
        return moved(i, self._clock.now(), S.DELETING, "scaled down")

    async def _note(self, d: Deployment, reason: str) -> None:
        """Record why the deployment cannot converge (e.g. the quota), once per reason; an
        empty reason clears it once the deployment has converged."""
        if d.status_reason == reason:
            return
        if reason:
            log.warning("deployment %s: %s", d.id, reason)
        async with self._uow() as uow:
            current = await uow.deployments.get(d.id)
            if current is not None and current.status_reason != reason:
                await uow.deployments.update(replace(current, status_reason=reason))
                if reason:
                    await uow.emit(self._event(d, "container.stalled", {"reason": reason}))
                else:
                    await uow.emit(self._event(d, "container.converged", {}))
                await uow.commit()

    def _event(self, d: Deployment, kind: str, data: dict[str, object]) -> Event:
        data = {"name": d.name, **data}
        return system_event(d.tenant_id, kind, "deployment", d.id, self._clock.now(), data)


def _replica_name(d: Deployment) -> str:
    return f"{d.name[:56]}-{secrets.token_hex(3)}"
