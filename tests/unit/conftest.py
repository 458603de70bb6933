"""The platform on in-memory fakes: a started Container, a hand-driven clock, helpers for users."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from thecloud.adapters.crypto.primitives import AesGcmCipher, HmacKeyHasher
from thecloud.adapters.memory import (
    FakePasswordHasher,
    FakeTokenCodec,
    ManualClock,
    MemoryStore,
    MemoryUnitOfWorkFactory,
)
from thecloud.adapters.memory.crypto import PlainDataKeys
from thecloud.adapters.memory.dns import MemoryDnsBackend, MemoryVpcResolverServer
from thecloud.adapters.memory.fabric import MemoryFabric
from thecloud.adapters.memory.objects import MemoryObjectStore
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.adapters.memory.storage_backend import MemoryMounter, MemoryStorage
from thecloud.bootstrap import Adapters, Container, bootstrap
from thecloud.config import Settings
from thecloud.domain.audit import Event
from thecloud.domain.common import RequestContext
from thecloud.domain.identity import Principal
from thecloud.ports.clock import Clock
from thecloud.services.activity import EventBus
from thecloud.services.auth import Registration

MASTER_KEY = bytes(range(32))
BUSYBOX_REF = "thecloud/busybox:1.35.0"
SOURCE_IP = "203.0.113.7"


def memory_adapters(
    clock: Clock | None = None, bus: EventBus | None = None, store: MemoryStore | None = None
) -> Adapters:
    """Fakes for every port; the real HMAC and AES-GCM adapters (pure computation, no I/O)."""
    clock = clock or ManualClock()
    store = store or MemoryStore(clock)
    uow = (
        MemoryUnitOfWorkFactory(store, bus.publish)
        if bus is not None
        else MemoryUnitOfWorkFactory(store)
    )
    runtime = MemoryRuntime(images=(BUSYBOX_REF,))
    return Adapters(
        uow=uow,
        clock=clock,
        passwords=FakePasswordHasher(),
        hasher=HmacKeyHasher(MASTER_KEY),
        cipher=AesGcmCipher(MASTER_KEY),
        tokens=FakeTokenCodec(clock),
        runtime=runtime,
        fabric=MemoryFabric(),
        resolver=MemoryVpcResolverServer(),
        storage=MemoryStorage(),
        mounter=MemoryMounter(runtime),
        dns=MemoryDnsBackend(),
        objects=MemoryObjectStore(clock),
        data_keys=PlainDataKeys(),
    )


def unit_settings() -> Settings:
    """Explicit values for every knob the services read, so the environment cannot change them."""
    return Settings(
        env="test",
        jwt_ttl_seconds=3600,
        service_token_ttl_seconds=900,
        login_max_failures=5,
        login_lockout_seconds=900,
        idempotency_ttl_hours=24,
        compute_worker=False,  # tests drive the worker by hand (cloud.worker.step/heal)
        s3_inline_max=0,  # every body in a blob, which tests count (test_objects_inline.py: on)
    )


class WatchedBus(EventBus):
    """The real bus, plus a flag tests await to know a stream has subscribed."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribed = asyncio.Event()
        self.published: list[Event] = []
        self.listening = 0

    def publish(self, events: list[Event]) -> None:
        self.published.extend(events)
        super().publish(events)

    def waiter(self) -> asyncio.Event:
        waiter = super().waiter()
        self.listening += 1
        self.subscribed.set()
        return waiter

    def forget(self, waiter: asyncio.Event) -> None:
        self.listening -= 1
        super().forget(waiter)


@dataclass
class Account:
    """A registered user, signed in to their personal tenant."""

    reg: Registration
    principal: Principal

    @property
    def id(self) -> str:
        return self.reg.user.id

    @property
    def email(self) -> str:
        return self.reg.user.email

    @property
    def tenant_id(self) -> str:
        return self.reg.tenant.id

    @property
    def key(self) -> str:
        return self.reg.api_key


class Harness:
    """The started platform and the shortcuts most tests need."""

    def __init__(
        self, cloud: Container, adapters: Adapters, store: MemoryStore, bus: WatchedBus
    ) -> None:
        self.cloud, self.adapters, self.store, self.bus = cloud, adapters, store, bus
        self.clock: ManualClock = cloud.clock  # type: ignore[assignment]
        self._requests = 0

    def ctx(self, ip: str = SOURCE_IP) -> RequestContext:
        self._requests += 1
        return RequestContext(request_id=f"req-{self._requests}", source_ip=ip)

    async def register(self, name: str = "user") -> Account:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        reg = await self.cloud.auth.register(email, "correct horse", name.title(), self.ctx())
        return Account(reg, await self.login_key(reg.api_key))

    async def login_key(
        self, key: str, tenant: str | None = None, ip: str = SOURCE_IP
    ) -> Principal:
        return await self.cloud.auth.authenticate(key, None, tenant, self.ctx(ip))

    async def sa_login(self, client_id: str, client_secret: str, ip: str = SOURCE_IP) -> Principal:
        """The service account's principal, via the client_credentials token exchange."""
        token = await self.cloud.service_accounts.token(client_id, client_secret)
        return await self.cloud.auth.authenticate(None, token.access_token, None, self.ctx(ip))

    async def member(self, owner: Account, role: str, name: str = "member") -> Principal:
        """A new user invited into the owner's tenant with `role`, acting in that tenant."""
        other = await self.register(name)
        await self.cloud.tenants.invite(owner.principal, owner.tenant_id, other.email, role)
        return await self.login_key(other.key, owner.tenant_id)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def bus() -> WatchedBus:
    return WatchedBus()


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock)


@pytest.fixture
def adapters(clock: ManualClock, bus: WatchedBus, store: MemoryStore) -> Adapters:
    return memory_adapters(clock, bus, store)


@pytest.fixture
async def cloud(adapters: Adapters, bus: WatchedBus) -> AsyncIterator[Container]:
    container = bootstrap(unit_settings(), adapters=adapters, bus=bus)
    await container.start()
    yield container
    await container.close()


@pytest.fixture
def h(cloud: Container, adapters: Adapters, store: MemoryStore, bus: WatchedBus) -> Harness:
    return Harness(cloud, adapters, store, bus)


@pytest.fixture
async def owner(h: Harness) -> Account:
    return await h.register("owner")
