"""The one composition root: settings -> adapters -> services. No I/O happens at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thecloud.config import Settings
from thecloud.domain.errors import BackendUnavailable
from thecloud.ports.access import AccessWatch
from thecloud.ports.clock import Clock
from thecloud.ports.compute import ContainerRuntime
from thecloud.ports.crypto import DataKeys, KeyHasher, PasswordHasher, SecretCipher, TokenCodec
from thecloud.ports.dns import DnsBackend, VpcResolverServer
from thecloud.ports.network import NetworkFabric
from thecloud.ports.objects import ObjectStore
from thecloud.ports.storage import StorageBackend, VolumeMounter
from thecloud.ports.uow import UnitOfWorkFactory
from thecloud.services.activity import ActivityService, EventBus
from thecloud.services.api_keys import ApiKeyService
from thecloud.services.auth import AuthService, AuthSettings
from thecloud.services.base import Kernel
from thecloud.services.buckets import BucketService
from thecloud.services.compute_worker import ComputeWorker
from thecloud.services.deployments import DeploymentService
from thecloud.services.dns import DnsService
from thecloud.services.dns_instances import DnsRegistrar
from thecloud.services.dns_sync import DnsSync
from thecloud.services.fabric import FabricSync
from thecloud.services.gateways import ElasticIpService, InternetGatewayService, NatGatewayService
from thecloud.services.iam import IamService
from thecloud.services.idempotency import IdempotencyService
from thecloud.services.images import ImageService
from thecloud.services.instance_hooks import InstanceHooks
from thecloud.services.instance_ops import InstanceOps
from thecloud.services.instances import InstanceService
from thecloud.services.multipart import MultipartService
from thecloud.services.object_data import ObjectData
from thecloud.services.object_listing import ObjectListing
from thecloud.services.object_presign import Presigner
from thecloud.services.object_reaper import ObjectReaper
from thecloud.services.objects import ObjectService
from thecloud.services.peerings import PeeringService
from thecloud.services.rbac import RbacService
from thecloud.services.recording import Recorder
from thecloud.services.route_tables import RouteTableService
from thecloud.services.secrets import SecretService
from thecloud.services.security_groups import SecurityGroupService
from thecloud.services.service_accounts import ServiceAccountService
from thecloud.services.ssh_keys import SshKeyService
from thecloud.services.storage_credentials import StorageCredentialService
from thecloud.services.tenancy import QuotaService, TenantService, TenantSetup
from thecloud.services.volumes import SnapshotService, VolumeService
from thecloud.services.vpc_resolver import VpcResolver
from thecloud.services.vpcs import SubnetService, VpcService

if TYPE_CHECKING:
    from thecloud.adapters.docker.images import BuiltImage


@dataclass
class Container:
    """Every service of a running platform, plus what shutdown must close."""

    settings: Settings
    uow: UnitOfWorkFactory
    clock: Clock
    bus: EventBus
    auth: AuthService
    api_keys: ApiKeyService
    tenants: TenantService
    quotas: QuotaService
    rbac: RbacService
    iam: IamService
    service_accounts: ServiceAccountService
    secrets: SecretService
    activity: ActivityService
    idempotency: IdempotencyService
    images: ImageService
    instances: InstanceService
    instance_ops: InstanceOps
    ssh_keys: SshKeyService
    deployments: DeploymentService
    worker: ComputeWorker
    runtime: ContainerRuntime
    fabric: FabricSync
    vpcs: VpcService
    subnets: SubnetService
    security_groups: SecurityGroupService
    peerings: PeeringService
    elastic_ips: ElasticIpService
    internet_gateways: InternetGatewayService
    nat_gateways: NatGatewayService
    route_tables: RouteTableService
    volumes: VolumeService
    snapshots: SnapshotService
    dns: DnsService
    dns_sync: DnsSync
    storage_credentials: StorageCredentialService
    buckets: BucketService
    objects: ObjectService
    listing: ObjectListing
    multipart: MultipartService
    object_reaper: ObjectReaper
    presigner: Presigner
    kernel: Kernel | None = None
    dns_backend: DnsBackend | None = None
    engine: Any = None
    watch: AccessWatch | None = None
    discover_images: Callable[[], Awaitable[list[BuiltImage]]] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """Bring stored reference data (built-in roles) in line with the code."""
        from thecloud.services.rbac import sync_builtin_roles

        assert self.kernel is not None  # noqa: S101
        await sync_builtin_roles(self.kernel)
        await self.images.sync_catalog()
        await self._discover()

    async def _discover(self) -> None:
        """Record the catalog images on the engine; an unreachable engine is only logged
        (the API serves without it, and compute calls answer 503 until it returns)."""
        try:
            found = await self.discover_images() if self.discover_images else []
        except BackendUnavailable as exc:
            logging.getLogger(__name__).warning("catalog not refreshed: %s", exc)
            return
        for image in found:
            await self.images.record_build(image.name, image.reference, image.os, image.version)

    async def open(self) -> None:
        """Start what each server process keeps running: the access watch, if any, and
        the compute worker (unless THECLOUD_COMPUTE_WORKER=false)."""
        if self.watch is not None:
            await self.watch.open()
        if self.settings.compute_worker:
            self._tasks.append(asyncio.create_task(self.worker.run(), name="compute-worker"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.watch is not None:
            await self.watch.close()
        if self.engine is not None:
            await self.engine.dispose()
        dispose = getattr(self.uow, "dispose", None)
        if dispose is not None:
            await dispose()
        for part in (self.runtime, self.fabric.fabric, self.volumes.mounter):
            close = getattr(part, "close", None)
            if close is not None:
                close()
        aclose = getattr(self.dns_backend, "aclose", None)
        if aclose is not None:
            await aclose()


@dataclass
class Adapters:
    uow: UnitOfWorkFactory
    clock: Clock
    passwords: PasswordHasher
    hasher: KeyHasher
    cipher: SecretCipher
    tokens: TokenCodec
    engine: Any = None
    watch: AccessWatch | None = None
    runtime: ContainerRuntime | None = None
    fabric: NetworkFabric | None = None
    resolver: VpcResolverServer | None = None
    storage: StorageBackend | None = None
    mounter: VolumeMounter | None = None
    dns: DnsBackend | None = None  # None: DNS calls answer 503 (not configured)
    objects: ObjectStore | None = None
    data_keys: DataKeys | None = None
    # signs presigned object URLs; real_adapters derives it from the master key (every server
    # process agrees on it), fakes get a random one
    presign_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    discover_images: Callable[[], Awaitable[list[BuiltImage]]] | None = None


def real_adapters(settings: Settings, bus: EventBus) -> Adapters:
    from concurrent.futures import ThreadPoolExecutor

    from thecloud.adapters.commands import SubprocessRunner
    from thecloud.adapters.crypto.keys import derive, load_or_create_master_key
    from thecloud.adapters.crypto.primitives import (
        AesGcmCipher,
        AesGcmDataKeys,
        BcryptHasher,
        HmacKeyHasher,
        JwtCodec,
    )
    from thecloud.adapters.docker.images import discover
    from thecloud.adapters.docker.mounts import DockerVolumeMounter
    from thecloud.adapters.docker.network import DockerFabric
    from thecloud.adapters.docker.runtime import DockerRuntime
    from thecloud.adapters.objects.filesystem import FilesystemObjectStore
    from thecloud.adapters.powerdns import PowerDnsBackend
    from thecloud.adapters.resolver.forwarder import DnsForwarder
    from thecloud.adapters.sql.access_file import access_watch
    from thecloud.adapters.sql.engine import create_engine
    from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory
    from thecloud.adapters.system import SystemClock

    url = settings.effective_database_url
    watch = access_watch(url)
    master = load_or_create_master_key(
        settings.master_key, settings.master_key_path, production=settings.production
    )
    engine = create_engine(settings.effective_database_url)
    storage_root = settings.data_dir / "storage"
    runtime = DockerRuntime()
    return Adapters(
        uow=SqlUnitOfWorkFactory(
            engine,
            bus.publish,
            watch.note if watch else None,
            on_bump=watch.announce if watch else None,
            durable=settings.s3_fsync,
        ),
        clock=SystemClock(),
        passwords=BcryptHasher(settings.bcrypt_rounds),
        hasher=HmacKeyHasher(master),
        cipher=AesGcmCipher(master),
        tokens=JwtCodec(master),
        engine=engine,
        watch=watch,
        runtime=runtime,
        fabric=DockerFabric(settings.installation),
        resolver=DnsForwarder(_host_port(settings.dns_server), port=settings.resolver_port),
        storage=storage_backend(settings, storage_root),
        mounter=DockerVolumeMounter(SubprocessRunner(), storage_root / "plug"),
        dns=PowerDnsBackend(
            settings.dns_api_url,
            settings.effective_dns_api_key,
            nameserver=settings.dns_nameserver,
        ),
        discover_images=lambda: discover(runtime),
        objects=FilesystemObjectStore(
            settings.data_dir / "objects",
            fsync=settings.s3_fsync,
            # its own threads: slow fsyncs do not hold up bcrypt or the engine's calls
            executor=ThreadPoolExecutor(max_workers=8, thread_name_prefix="objects"),
        ),
        data_keys=AesGcmDataKeys(master),
        presign_key=derive(master, "thecloud/storage-presign"),
    )


def storage_backend(settings: Settings, root: Path) -> StorageBackend:
    """The loop backend (any Linux host), or LVM (THECLOUD_STORAGE_BACKEND=lvm, with a volume
    group, optionally a thin pool) on hosts with device-mapper."""
    from thecloud.adapters.commands import SubprocessRunner

    if settings.storage_backend == "lvm":
        from thecloud.adapters.lvm.backend import LvmBackend

        if not settings.storage_lvm_vg:
            raise ValueError("THECLOUD_STORAGE_BACKEND=lvm needs THECLOUD_STORAGE_LVM_VG")
        return LvmBackend(
            SubprocessRunner(), settings.storage_lvm_vg, root / "mnt",
            settings.storage_lvm_thin_pool,
        )  # fmt: skip
    from thecloud.adapters.storage.loop import LoopBackend

    return LoopBackend(SubprocessRunner(), root, settings.storage_pool_gb)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1", int(port or 53))


def bootstrap(
    settings: Settings, adapters: Adapters | None = None, bus: EventBus | None = None
) -> Container:
    """Build the platform; tests pass fake `adapters` (see adapters/memory)."""
    bus = bus or EventBus()
    a = adapters or real_adapters(settings, bus)
    kernel = Kernel(a.uow, a.clock, Recorder(a.clock))
    setup = TenantSetup(kernel)
    auth_settings = AuthSettings(
        settings.jwt_ttl_seconds, settings.login_max_failures, settings.login_lockout_seconds
    )
    auth = AuthService(kernel, a.passwords, a.hasher, a.tokens, setup, auth_settings, a.watch)
    quotas = QuotaService(kernel)
    runtime = a.runtime
    if runtime is None:
        raise ValueError("bootstrap needs a container runtime (Adapters.runtime)")
    if a.fabric is None:
        raise ValueError("bootstrap needs a network fabric (Adapters.fabric)")
    instances = InstanceService(kernel, quotas, runtime)
    fabric = FabricSync(
        a.uow,
        a.fabric,
        a.clock,
        settings.installation,
        settings.data_dir / "network.lock",
        timedelta(seconds=settings.network_orphan_grace_seconds),
    )
    dns_sync = DnsSync(a.uow, a.dns, settings.installation)
    registrar = DnsRegistrar(a.uow, a.clock, dns_sync)
    if a.resolver is None:
        raise ValueError("bootstrap needs a VPC resolver server (Adapters.resolver)")
    resolver = VpcResolver(a.uow, a.resolver)
    if a.storage is None or a.mounter is None:
        raise ValueError("bootstrap needs block storage (Adapters.storage and .mounter)")
    volumes = VolumeService(kernel, quotas, a.storage, a.mounter, runtime)
    worker = ComputeWorker(
        kernel,
        runtime,
        quotas,
        instances.wake,
        settings.installation,
        metrics_seconds=settings.metrics_seconds,
        retention=timedelta(hours=settings.metrics_retention_hours),
        network=InstanceHooks([fabric, registrar, resolver, volumes]),
        dns_for=resolver.container_dns,
        volumes=volumes,
    )
    deployments = DeploymentService(kernel, instances)
    worker.also(deployments.reconcile)
    vpcs = VpcService(kernel, quotas, fabric, instances.wake)
    worker.also(vpcs.finish_deletes)
    worker.also_heal(fabric.reconcile)
    worker.also_heal(registrar.reconcile)
    worker.also_heal(dns_sync.reconcile)
    worker.also_heal(resolver.reconcile)
    worker.also_heal(volumes.reconcile)
    if a.objects is None or a.data_keys is None:
        raise ValueError("bootstrap needs object storage (Adapters.objects and .data_keys)")
    data = ObjectData(a.objects, a.data_keys, settings.s3_inline_max)
    buckets = BucketService(kernel, data)
    objects = ObjectService(kernel, buckets, data)
    reaper = ObjectReaper(
        kernel, a.objects, data, objects, timedelta(seconds=settings.s3_orphan_grace_seconds),
        settings.s3_sweep_seconds, settings.s3_lifecycle_seconds,
    )  # fmt: skip
    worker.also_heal(reaper.reconcile)
    return Container(
        settings=settings,
        uow=a.uow,
        clock=a.clock,
        bus=bus,
        auth=auth,
        api_keys=ApiKeyService(kernel, auth),
        tenants=TenantService(kernel, setup),
        quotas=quotas,
        rbac=RbacService(kernel, setup),
        iam=IamService(kernel),
        service_accounts=ServiceAccountService(
            kernel, a.hasher, auth, settings.service_token_ttl_seconds
        ),
        secrets=SecretService(kernel, a.cipher),
        activity=ActivityService(kernel, bus),
        idempotency=IdempotencyService(kernel, settings.idempotency_ttl_hours, a.cipher),
        images=ImageService(kernel, runtime),
        instances=instances,
        instance_ops=InstanceOps(kernel, quotas, runtime),
        ssh_keys=SshKeyService(kernel),
        deployments=deployments,
        worker=worker,
        runtime=runtime,
        fabric=fabric,
        vpcs=vpcs,
        subnets=SubnetService(kernel),
        security_groups=SecurityGroupService(kernel, fabric),
        peerings=PeeringService(kernel, fabric),
        elastic_ips=ElasticIpService(kernel, fabric, settings.eip_pool),
        internet_gateways=InternetGatewayService(kernel, fabric),
        nat_gateways=NatGatewayService(kernel, fabric),
        route_tables=RouteTableService(kernel, fabric),
        volumes=volumes,
        snapshots=SnapshotService(kernel, volumes),
        dns=DnsService(kernel, dns_sync, registrar, settings.dns_server),
        dns_sync=dns_sync,
        storage_credentials=StorageCredentialService(kernel, a.cipher, a.watch),
        buckets=buckets,
        objects=objects,
        listing=ObjectListing(kernel, buckets),
        multipart=MultipartService(kernel, buckets, objects, data),
        object_reaper=reaper,
        presigner=Presigner(kernel, buckets, a.presign_key),
        dns_backend=a.dns,
        discover_images=a.discover_images,
        kernel=kernel,
        engine=a.engine,
        watch=a.watch,
    )
