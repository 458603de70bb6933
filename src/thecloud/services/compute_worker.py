"""The compute worker: drives instances to the state the API recorded, heals, reconciles.

It acts idempotently (a container's name is derived from its instance id, so a repeated
create finds the first one) and writes results with optimistic locking, so it is safe to
run in every server process and to kill at any point: the next pass picks up where the
last one stopped. Every change it makes is an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from thecloud.domain.audit import Event
from thecloud.domain.common import new_id
from thecloud.domain.compute import PENDING, Instance, InstanceStatus, MetricSample, moved
from thecloud.domain.errors import BackendUnavailable, CloudError
from thecloud.ports.compute import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_TENANT,
    ContainerRuntime,
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ContainerStatus,
)
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel
from thecloud.services.fabric import network_name
from thecloud.services.first_boot import first_boot_commands
from thecloud.services.instances import usage
from thecloud.services.recording import system_event
from thecloud.services.tenancy import QuotaService

S = InstanceStatus
MAX_BACKOFF = 60.0
log = logging.getLogger(__name__)


def container_name(instance_id: str) -> str:
    return f"thecloud-{instance_id}"


def spec_of(
    i: Instance,
    installation: str,
    dns: tuple[str, ...] = (),
    mounts: tuple[tuple[str, str], ...] = (),
    plug_dir: str = "",
) -> ContainerSpec:
    """`installation` tells this platform's containers from another one's on a shared engine."""
    return ContainerSpec(
        name=container_name(i.id),
        image=i.image_ref,
        labels={LABEL_INSTANCE: i.id, LABEL_TENANT: i.tenant_id, LABEL_MANAGED: installation},
        nano_cpus=i.vcpus * 1_000_000_000,
        memory_bytes=i.memory_mb * 1024 * 1024,
        env=i.env,
        command=i.cmd,
        ports=i.ports,
        network=network_name(i.vpc_id) if i.vpc_id else "",
        ip=i.private_ip,
        dns=dns,
        mounts=mounts,
        plug_dir=plug_dir,
    )


class VolumeHooks(Protocol):
    """What block storage does around an instance's container (services/volumes.py)."""

    async def plug_dir(self, i: Instance) -> str: ...

    async def mounts_for(self, i: Instance) -> tuple[tuple[str, str], ...]: ...

    async def started(self, i: Instance, container: str) -> None: ...

    async def detach_all(self, uow: UnitOfWork, i: Instance) -> None: ...


class NetworkHooks(Protocol):
    """What the network side does around an instance's container (services/fabric.py)."""

    async def prepare(self, i: Instance) -> None: ...

    async def released(self, i: Instance) -> None: ...


class ComputeWorker:
    def __init__(
        self,
        kernel: Kernel,
        runtime: ContainerRuntime,
        quotas: QuotaService,
        wake: asyncio.Event,
        installation: str,
        *,
        heal_seconds: float = 5.0,
        metrics_seconds: float = 30.0,
        retention: timedelta = timedelta(hours=24),
        concurrency: int = 16,
        network: NetworkHooks | None = None,
        dns_for: Callable[[Instance], tuple[str, ...]] | None = None,
        volumes: VolumeHooks | None = None,
    ) -> None:
        self._volumes = volumes
        self._network, self._dns_for = network, dns_for
        self._uow, self._clock, self._runtime = kernel.uow, kernel.clock, runtime
        self._quotas, self._wake, self._heal_seconds = quotas, wake, heal_seconds
        self._installation = installation
        self._metrics_seconds, self._retention = metrics_seconds, retention
        self._busy: set[str] = set()
        self._reconcilers: list[Callable[[], Awaitable[int]]] = []
        self._healers: list[Callable[[], Awaitable[int]]] = []
        self._slots = asyncio.Semaphore(concurrency)
        self._sampling = asyncio.Semaphore(8)  # its own: samples never take a launch's place

    async def run(self) -> None:
        """Forever: handle pending instances when woken (or every second), heal and reconcile
        every `heal_seconds`; stats are sampled beside it, so a slow engine answering stats
        never holds up a launch."""
        sampler = asyncio.create_task(self._sample_forever())
        loop = asyncio.get_running_loop()
        next_heal = 0.0
        try:
            while True:
                self._wake.clear()
                with contextlib.suppress(Exception):
                    await self.step()
                if loop.time() >= next_heal:
                    with contextlib.suppress(Exception):
                        await self.heal()
                    next_heal = loop.time() + self._heal_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)

    async def _sample_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.sample()
            await asyncio.sleep(self._metrics_seconds)

    def also_heal(self, reconcile: Callable[[], Awaitable[int]]) -> None:
        """Run `reconcile` (e.g. the network fabric's) with every heal."""
        self._healers.append(reconcile)

    def also(self, reconcile: Callable[[], Awaitable[int]]) -> None:
        """Run `reconcile` (e.g. the container deployments') at the start of every step."""
        self._reconcilers.append(reconcile)

    async def step(self) -> int:
        """Work on every instance with a pending request; the number handled."""
        for reconcile in self._reconcilers:
            await reconcile()
        async with self._uow(read_only=True) as uow:
            pending = [
                i for i in await uow.instances.live(sorted(PENDING)) if i.id not in self._busy
            ]
        await asyncio.gather(*(self._guarded(i) for i in pending))
        return len(pending)

    async def _guarded(self, i: Instance) -> None:
        self._busy.add(i.id)
        try:
            async with self._slots:
                await self._advance(i)
        except Exception:
            log.exception("compute worker: instance %s", i.id)
        finally:
            self._busy.discard(i.id)

    async def _advance(self, i: Instance) -> None:
        try:
            outcome = await self._act(i)
        except BackendUnavailable as exc:
            if await self._engine_down():
                log.warning("compute worker: engine unavailable (%s); will retry", exc)
                return
            outcome = self._failed(i, str(exc))
        except CloudError as exc:
            outcome = self._failed(i, str(exc))
        await self._commit(i, outcome)

    async def _engine_down(self) -> bool:
        try:
            await self._runtime.ping()
        except BackendUnavailable:
            return True
        return False

    async def _act(self, i: Instance) -> Instance:
        if i.status == S.STARTING:
            state = await self._start(i)
            running = self._running(i, state)
            if i.started_at is None and (problem := await self._first_boot(i, state.id)):
                running = replace(running, status_reason=problem)
            return running
        if i.status == S.REBOOTING:
            restarted = await self._runtime.restart(i.container_id or container_name(i.id))
            return self._running(i, await self._started(i, restarted))
        if i.status == S.STOPPING:
            await self._stop(i.container_id or container_name(i.id))
            return self._moved(i, S.STOPPED, "stopped")
        await self._runtime.remove(i.container_id or container_name(i.id))
        return replace(self._moved(i, S.DELETED, "terminated"), deleted_at=self._clock.now())

    async def _first_boot(self, i: Instance, container: str) -> str:
        """Install the SSH keys and start the user-data script; what failed, if anything."""
        for command in first_boot_commands(i):
            done = await self._runtime.exec(container, command, timeout=30)
            if done.exit_code != 0:
                return f"first boot: {command[-1][:40]}... failed: {done.stderr.strip()[:200]}"
        return ""

    async def _stop(self, ident: str) -> None:
        found = await self._runtime.inspect(ident)
        if found is not None and found.status == ContainerStatus.PAUSED:
            await self._runtime.unpause(ident)  # a frozen process cannot take its SIGTERM
        if found is not None:
            await self._runtime.stop(ident)

    async def _start(self, i: Instance) -> ContainerState:
        if await self._runtime.image(i.image_ref) is None:
            raise CloudError(
                f"image {i.image_ref} is not on this host; an operator runs "
                f"`thecloud images build {i.image}`"
            )
        if self._network is not None:
            await self._network.prepare(i)
        dns = self._dns_for(i) if self._dns_for is not None else ()
        mounts: tuple[tuple[str, str], ...] = ()
        plug = ""
        if self._volumes is not None:
            mounts, plug = await self._volumes.mounts_for(i), await self._volumes.plug_dir(i)
        created = await self._runtime.create(spec_of(i, self._installation, dns, mounts, plug))
        return await self._started(i, await self._runtime.start(created.id))

    async def _started(self, i: Instance, state: ContainerState) -> ContainerState:
        """Every (re)start: the attached volumes are in, the detached ones out."""
        if self._volumes is not None:
            await self._volumes.started(i, state.id)
        return state

    def _running(self, i: Instance, state: ContainerState) -> Instance:
        moved = self._moved(i, S.RUNNING, "running")
        return replace(
            moved,
            container_id=state.id,
            host_ports=state.ports,
            started_at=state.started_at or self._clock.now(),
        )

    def _moved(self, i: Instance, status: InstanceStatus, reason: str) -> Instance:
        return moved(i, self._clock.now(), status, reason)

    def _failed(self, i: Instance, reason: str) -> Instance:
        return self._moved(i, S.ERROR, reason)

    async def _commit(self, before: Instance, after: Instance) -> None:
        """Write the outcome unless the row changed meanwhile (the next pass sees the new
        request); a terminated instance gives its quota back in the same transaction."""
        async with self._uow() as uow:
            if not await uow.instances.swap(after, before.version):
                return
            if after.status == S.DELETED:
                await self._quotas.release(uow, after.tenant_id, usage(after))
                if self._volumes is not None:  # its volumes are free with it, data intact
                    await self._volumes.detach_all(uow, after)
            await uow.emit(self._event(after, before.status))
            await uow.commit()
        if after.status == S.DELETED and self._network is not None:
            await self._network.released(after)

    def _event(self, i: Instance, was: InstanceStatus) -> Event:
        data: dict[str, object] = {"name": i.name, "from": str(was), "to": str(i.status)}
        if i.status_reason:
            data["reason"] = i.status_reason
        kind = f"instance.{str(i.status).lower()}"
        return system_event(i.tenant_id, kind, "instance", i.id, self._clock.now(), data)

    async def sample(self) -> int:
        """Store a stats sample of every running instance; drop samples past retention."""
        async with self._uow(read_only=True) as uow:
            running = await uow.instances.live([str(S.RUNNING)])
        taken = await asyncio.gather(*(self._stats(i) for i in running))
        samples = [s for s in taken if s is not None]
        async with self._uow() as uow:
            for sample in samples:
                await uow.metrics.add(sample)
            await uow.metrics.prune(self._clock.now() - self._retention)
            await uow.commit()
        return len(samples)

    async def _stats(self, i: Instance) -> MetricSample | None:
        """One sample (the engine takes about a second for one); None if it cannot."""
        async with self._sampling:
            try:
                stats = await self._runtime.stats(i.container_id or "")
            except CloudError:
                return None
        return _sample(i, stats, self._clock.now())

    async def heal(self) -> None:
        """Restart dead RUNNING instances and failed ones (with backoff); remove containers
        that belong to no live instance; adopt containers a crash left unrecorded."""
        mine = await self._runtime.list({LABEL_MANAGED: self._installation})
        containers = {c.labels.get(LABEL_INSTANCE, ""): c for c in mine}
        async with self._uow(read_only=True) as uow:
            live = {i.id: i for i in await uow.instances.live()}
        for ident, container in containers.items():
            if ident not in live:
                await self._runtime.remove(container.id)
        for i in live.values():
            if i.id not in self._busy:
                await self._check(i, containers.get(i.id))
        for healer in self._healers:
            try:
                await healer()
            except Exception:
                log.exception("compute worker: reconciler %s", getattr(healer, "__name__", ""))

    async def _check(self, i: Instance, c: ContainerState | None) -> None:
        alive = c is not None and c.status in (ContainerStatus.RUNNING, ContainerStatus.RESTARTING)
        frozen = c is not None and c.status == ContainerStatus.PAUSED
        if (i.status == S.RUNNING and not alive) or (i.status == S.PAUSED and not frozen):
            await self._commit(i, self._failed(i, _death(c)))
        elif i.status == S.ERROR and self._backed_off(i):
            await self._commit(i, self._retry(i, f"retrying after: {i.status_reason}"))
        elif i.status == S.STOPPED and c is not None and c.status == ContainerStatus.RUNNING:
            await self._runtime.stop(c.id)

    def _retry(self, i: Instance, reason: str) -> Instance:
        moved = self._moved(i, S.STARTING, reason)
        return replace(moved, restart_count=i.restart_count + 1)

    def _backed_off(self, i: Instance) -> bool:
        wait = min(2.0 ** min(i.restart_count, 10), MAX_BACKOFF)
        return self._clock.now() - i.updated_at >= timedelta(seconds=wait)


def _sample(i: Instance, x: ContainerStats, at: datetime) -> MetricSample:
    return MetricSample(
        new_id(), i.tenant_id, i.id, at, x.cpu_percent, x.memory_bytes, x.memory_limit_bytes,
        x.network_rx_bytes, x.network_tx_bytes, x.block_read_bytes, x.block_write_bytes,
    )  # fmt: skip


def _death(c: ContainerState | None) -> str:
    if c is None:
        return "the container disappeared"
    if c.oom_killed:
        return "the container was killed for exceeding its memory limit"
    return f"the container {c.status} (exit code {c.exit_code})"
