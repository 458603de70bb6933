"""Authentication with a pushed access generation: cache hits need no store, pushes revoke."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from tests.unit.conftest import SOURCE_IP, WatchedBus, memory_adapters, unit_settings
from thecloud.adapters.memory.clock import ManualClock
from thecloud.adapters.memory.store import MemoryStore
from thecloud.bootstrap import Container, bootstrap
from thecloud.domain.common import RequestContext
from thecloud.domain.errors import Unauthorized
from thecloud.domain.objects import S3Forbidden


class FakeWatch:
    """An access watch whose pushed value the test sets (None: not connected)."""

    def __init__(self) -> None:
        self.value: int | None = None
        self.opened = False

    def current(self) -> int | None:
        return self.value

    def announce(self, generation: int) -> None:
        self.value = generation

    def note(self, generation: int) -> None:
        self.value = generation

    async def open(self) -> None:
        self.opened = True

    async def close(self) -> None:
        self.opened = False


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Container, FakeWatch]]:
    clock, watch = ManualClock(), FakeWatch()
    adapters = replace(memory_adapters(clock, WatchedBus(), MemoryStore(clock)), watch=watch)
    cloud = bootstrap(unit_settings(), adapters=adapters)
    await cloud.start()
    await cloud.open()
    yield cloud, watch
    await cloud.close()


async def generation(cloud: Container) -> int:
    async with cloud.uow(read_only=True) as uow:
        return await uow.auth_state.generation()


async def test_the_container_opens_and_closes_the_watch(setup: tuple[Container, FakeWatch]) -> None:
    cloud, watch = setup
    assert watch.opened
    await cloud.close()
    assert not watch.opened


async def test_a_pushed_bump_revokes_at_once(setup: tuple[Container, FakeWatch]) -> None:
    cloud, watch = setup
    ctx = RequestContext(source_ip=SOURCE_IP)
    reg = await cloud.auth.register("a@example.com", "correct horse", "A", ctx)
    watch.value = await generation(cloud)
    principal = await cloud.auth.authenticate(reg.api_key, None, None, ctx)
    await cloud.api_keys.revoke(principal, reg.key.id)
    watch.value = await generation(cloud)  # what the notification carries
    with pytest.raises(Unauthorized, match="revoked"):
        await cloud.auth.authenticate(reg.api_key, None, None, ctx)


async def test_without_a_push_the_store_decides(setup: tuple[Container, FakeWatch]) -> None:
    cloud, watch = setup
    ctx = RequestContext(source_ip=SOURCE_IP)
    reg = await cloud.auth.register("b@example.com", "correct horse", "B", ctx)
    principal = await cloud.auth.authenticate(reg.api_key, None, None, ctx)
    await cloud.api_keys.revoke(principal, reg.key.id)
    watch.value = None  # disconnected: the generation is read from the store
    with pytest.raises(Unauthorized, match="revoked"):
        await cloud.auth.authenticate(reg.api_key, None, None, ctx)


async def test_with_a_push_a_cache_hit_needs_no_store(
    setup: tuple[Container, FakeWatch], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, watch = setup
    ctx = RequestContext(source_ip=SOURCE_IP)
    reg = await cloud.auth.register("c@example.com", "correct horse", "C", ctx)
    watch.value = await generation(cloud)
    await cloud.auth.authenticate(reg.api_key, None, None, ctx)

    def store_is_down(**_kw: object) -> None:
        raise AssertionError("the store was asked")

    monkeypatch.setattr(cloud.auth, "_uow", store_is_down)
    principal = await cloud.auth.authenticate(reg.api_key, None, None, ctx)
    assert principal.id == reg.user.id
    watch.value = None
    with pytest.raises(AssertionError, match="store was asked"):
        await cloud.auth.authenticate(reg.api_key, None, None, ctx)


async def test_a_value_announced_before_its_commit_never_makes_old_rights_current(
    setup: tuple[Container, FakeWatch],
) -> None:
    """The watch may announce a change the store does not show yet (SQLite's file is written
    before the commit). What a request loads meanwhile is the old state: tagged with the
    announced value, it would pass for current once the change commits."""
    cloud, watch = setup
    ctx = RequestContext(source_ip=SOURCE_IP)
    reg = await cloud.auth.register("d@example.com", "correct horse", "D", ctx)
    principal = await cloud.auth.authenticate(reg.api_key, None, None, ctx)
    extra, raw = await cloud.api_keys.create(principal, "soon revoked")
    watch.value = await generation(cloud) + 1  # the revocation below, announced early
    assert (await cloud.auth.authenticate(raw, None, None, ctx)).id == reg.user.id
    await cloud.api_keys.revoke(principal, extra.id)  # commits what was announced
    assert watch.value == await generation(cloud)
    with pytest.raises(Unauthorized, match="revoked"):
        await cloud.auth.authenticate(raw, None, None, ctx)


async def test_an_access_key_loaded_before_an_announced_revocation_commits_is_not_kept(
    setup: tuple[Container, FakeWatch],
) -> None:
    cloud, watch = setup
    ctx = RequestContext(source_ip=SOURCE_IP)
    reg = await cloud.auth.register("e@example.com", "correct horse", "E", ctx)
    principal = await cloud.auth.authenticate(reg.api_key, None, None, ctx)
    cred, _ = await cloud.storage_credentials.create(principal, "laptop")
    watch.value = await generation(cloud) + 1
    await cloud.storage_credentials.signer(cred.access_key_id, ctx)
    await cloud.storage_credentials.revoke(principal, cred.id)
    assert watch.value == await generation(cloud)
    with pytest.raises(S3Forbidden, match="does not exist"):
        await cloud.storage_credentials.signer(cred.access_key_id, ctx)
