"""Quotas: reserving and releasing capacity inside a caller's transaction, and changing limits."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.errors import Forbidden, InvalidInput, QuotaExceeded
from thecloud.domain.quotas import DEFAULT_LIMITS, QuotaResource

INSTANCES, VCPUS = QuotaResource.INSTANCES, QuotaResource.VCPUS


async def usage(h: Harness, owner: Account) -> dict[QuotaResource, tuple[int, int]]:
    lines = await h.cloud.quotas.get(owner.principal)
    return {line.resource: (line.limit, line.used) for line in lines}


async def reserve(h: Harness, tenant_id: str, amounts: dict[QuotaResource, int]) -> None:
    async with h.cloud.uow() as uow:
        await h.cloud.quotas.reserve(uow, tenant_id, amounts)
        await uow.commit()


async def release(h: Harness, tenant_id: str, amounts: dict[QuotaResource, int]) -> None:
    async with h.cloud.uow() as uow:
        await h.cloud.quotas.release(uow, tenant_id, amounts)
        await uow.commit()


async def test_a_new_tenant_has_the_default_limits(h: Harness, owner: Account) -> None:
    assert await usage(h, owner) == {r: (limit, 0) for r, limit in DEFAULT_LIMITS.items()}


async def test_reserve_within_the_limit_counts_usage(h: Harness, owner: Account) -> None:
    await reserve(h, owner.tenant_id, {INSTANCES: 3, VCPUS: 6})
    await reserve(h, owner.tenant_id, {INSTANCES: DEFAULT_LIMITS[INSTANCES] - 3})
    now = await usage(h, owner)
    assert now[INSTANCES] == (DEFAULT_LIMITS[INSTANCES], DEFAULT_LIMITS[INSTANCES])
    assert now[VCPUS] == (DEFAULT_LIMITS[VCPUS], 6)


async def test_exceeding_raises_and_the_rollback_changes_nothing(
    h: Harness, owner: Account
) -> None:
    await reserve(h, owner.tenant_id, {INSTANCES: 5})
    before = await usage(h, owner)
    too_many = {VCPUS: 2, INSTANCES: DEFAULT_LIMITS[INSTANCES]}
    with pytest.raises(QuotaExceeded, match="instances"):
        await reserve(h, owner.tenant_id, too_many)
    assert await usage(h, owner) == before


async def test_release_frees_capacity(h: Harness, owner: Account) -> None:
    limit = DEFAULT_LIMITS[INSTANCES]
    await reserve(h, owner.tenant_id, {INSTANCES: limit})
    with pytest.raises(QuotaExceeded):
        await reserve(h, owner.tenant_id, {INSTANCES: 1})
    await release(h, owner.tenant_id, {INSTANCES: 2})
    await reserve(h, owner.tenant_id, {INSTANCES: 1})
    assert (await usage(h, owner))[INSTANCES] == (limit, limit - 1)


async def test_quotas_are_per_tenant(h: Harness, owner: Account) -> None:
    other = await h.register("other")
    await reserve(h, other.tenant_id, {INSTANCES: DEFAULT_LIMITS[INSTANCES]})
    await reserve(h, owner.tenant_id, {INSTANCES: 1})
    assert (await usage(h, owner))[INSTANCES][1] == 1


async def test_set_limits_keeps_usage_and_applies_to_reservations(
    h: Harness, owner: Account
) -> None:
    await reserve(h, owner.tenant_id, {INSTANCES: 4})
    lines = await h.cloud.quotas.set_limits(owner.principal, {"instances": 5, "vpcs": 0})
    shown = {line.resource: (line.limit, line.used) for line in lines}
    assert shown[INSTANCES] == (5, 4) and shown[QuotaResource.VPCS] == (0, 0)
    await reserve(h, owner.tenant_id, {INSTANCES: 1})
    with pytest.raises(QuotaExceeded, match="vpcs"):
        await reserve(h, owner.tenant_id, {QuotaResource.VPCS: 1})


async def test_lowering_a_limit_below_usage_blocks_growth_not_release(
    h: Harness, owner: Account
) -> None:
    await reserve(h, owner.tenant_id, {INSTANCES: 4})
    await h.cloud.quotas.set_limits(owner.principal, {"instances": 2})
    with pytest.raises(QuotaExceeded):
        await reserve(h, owner.tenant_id, {INSTANCES: 1})
    await release(h, owner.tenant_id, {INSTANCES: 1})
    assert (await usage(h, owner))[INSTANCES] == (2, 3)


@pytest.mark.parametrize(
    ("limits", "message"),
    [({"gpus": 1, "instances": 2}, "gpus"), ({"instances": -1}, "zero or more")],
)
async def test_set_limits_validates(
    h: Harness, owner: Account, limits: dict[str, int], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await h.cloud.quotas.set_limits(owner.principal, limits)
    assert (await usage(h, owner))[INSTANCES] == (DEFAULT_LIMITS[INSTANCES], 0)


async def test_developers_read_quotas_but_cannot_change_them(h: Harness, owner: Account) -> None:
    dev = await h.member(owner, "developer")
    assert len(await h.cloud.quotas.get(dev)) == len(QuotaResource)
    with pytest.raises(Forbidden):
        await h.cloud.quotas.set_limits(dev, {"instances": 100})
