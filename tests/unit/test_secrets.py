"""The secrets manager: sealed at rest, values only on reveal, versions, isolation, limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import CloudError, Conflict, Forbidden, InvalidInput, NotFound
from thecloud.domain.secrets import MAX_VALUE_BYTES, Secret

VALUE = "postgres://app:s3cr3t-value@db/app"


async def stored(h: Harness, secret_id: str) -> Secret:
    async with h.cloud.uow(read_only=True) as uow:
        found = await uow.secrets.get(secret_id)
    assert found is not None
    return found


async def test_the_store_holds_ciphertext_that_reveals_the_value(
    h: Harness, owner: Account
) -> None:
    secret = await h.cloud.secrets.create(owner.principal, "db-url", VALUE, "the app database")
    row = await stored(h, secret.id)
    assert VALUE.encode() not in row.ciphertext and len(row.nonce) == 12
    revealed, value = await h.cloud.secrets.reveal(owner.principal, secret.id)
    assert (value, revealed.id, revealed.description) == (VALUE, secret.id, "the app database")


async def test_equal_values_seal_differently(h: Harness, owner: Account) -> None:
    a = await h.cloud.secrets.create(owner.principal, "a", VALUE)
    b = await h.cloud.secrets.create(owner.principal, "b", VALUE)
    assert a.ciphertext != b.ciphertext and a.nonce != b.nonce


async def test_lists_never_carry_values(h: Harness, owner: Account) -> None:
    for i in range(3):
        await h.cloud.secrets.create(owner.principal, f"s{i}", f"{VALUE}-{i}")
    page = await h.cloud.secrets.list(owner.principal, ListQuery())
    assert page.total == 3
    assert all(VALUE.encode() not in s.ciphertext and VALUE not in repr(s) for s in page.items)


async def test_reveal_by_id_or_name_records_the_access_time(h: Harness, owner: Account) -> None:
    secret = await h.cloud.secrets.create(owner.principal, "db-url", VALUE)
    assert (await stored(h, secret.id)).last_accessed_at is None
    for ident in (secret.id, "db-url"):
        h.clock.advance(60)
        revealed, _ = await h.cloud.secrets.reveal(owner.principal, ident)
        assert revealed.last_accessed_at == h.clock.now()
        assert (await stored(h, secret.id)).last_accessed_at == h.clock.now()


async def test_reveal_does_not_change_the_stored_value(h: Harness, owner: Account) -> None:
    secret = await h.cloud.secrets.create(owner.principal, "db-url", VALUE)
    h.clock.advance(5)
    await h.cloud.secrets.reveal(owner.principal, secret.id)
    row = await stored(h, secret.id)
    assert (row.ciphertext, row.nonce, row.version) == (secret.ciphertext, secret.nonce, 1)


async def test_secrets_of_another_tenant_are_not_found(h: Harness, owner: Account) -> None:
    other = await h.register("other")
    theirs = await h.cloud.secrets.create(other.principal, "theirs", VALUE)
    for ident in (theirs.id, theirs.name):
        with pytest.raises(NotFound):
            await h.cloud.secrets.reveal(owner.principal, ident)
        with pytest.raises(NotFound):
            await h.cloud.secrets.update(owner.principal, ident, "mine", None)
    assert (await h.cloud.secrets.list(owner.principal, ListQuery())).total == 0


async def test_same_name_in_two_tenants_is_fine_but_unique_within_one(
    h: Harness, owner: Account
) -> None:
    other = await h.register("other")
    await h.cloud.secrets.create(owner.principal, "token", "a")
    await h.cloud.secrets.create(other.principal, "token", "b")
    with pytest.raises(Conflict):
        await h.cloud.secrets.create(owner.principal, "token", "c")
    assert (await h.cloud.secrets.reveal(other.principal, "token"))[1] == "b"


async def test_update_of_the_value_creates_a_new_version(h: Harness, owner: Account) -> None:
    secret = await h.cloud.secrets.create(owner.principal, "db-url", VALUE)
    h.clock.advance(10)
    updated = await h.cloud.secrets.update(owner.principal, "db-url", "new value", None)
    assert (updated.version, updated.updated_at) == (2, h.clock.now())
    assert updated.ciphertext != secret.ciphertext
    assert (await h.cloud.secrets.reveal(owner.principal, secret.id))[1] == "new value"


async def test_update_of_the_description_keeps_the_version(h: Harness, owner: Account) -> None:
    await h.cloud.secrets.create(owner.principal, "db-url", VALUE)
    updated = await h.cloud.secrets.update(owner.principal, "db-url", None, "moved")
    assert (updated.version, updated.description) == (1, "moved")
    assert (await h.cloud.secrets.reveal(owner.principal, "db-url"))[1] == VALUE


@pytest.mark.parametrize("name", ["", "-leading-dash", "has space", "x" * 256, "semi;colon"])
async def test_secret_names_are_validated(h: Harness, owner: Account, name: str) -> None:
    with pytest.raises(InvalidInput, match="secret name"):
        await h.cloud.secrets.create(owner.principal, name, VALUE)


async def test_accepted_names_include_paths_and_symbols(h: Harness, owner: Account) -> None:
    for name in ("prod/db/password", "a", "x" * 255, "key_1+2=3.4@5-6"):
        await h.cloud.secrets.create(owner.principal, name, VALUE)


async def test_value_size_limit(h: Harness, owner: Account) -> None:
    await h.cloud.secrets.create(owner.principal, "max", "v" * MAX_VALUE_BYTES)
    with pytest.raises(InvalidInput, match="at most"):
        await h.cloud.secrets.create(owner.principal, "too-big", "v" * (MAX_VALUE_BYTES + 1))
    with pytest.raises(InvalidInput, match="at most"):
        await h.cloud.secrets.update(owner.principal, "max", "é" * (MAX_VALUE_BYTES // 2 + 1), None)
    with pytest.raises(InvalidInput, match="empty"):
        await h.cloud.secrets.create(owner.principal, "empty", "")


async def test_delete_removes_the_secret(h: Harness, owner: Account) -> None:
    secret = await h.cloud.secrets.create(owner.principal, "gone", VALUE)
    await h.cloud.secrets.delete(owner.principal, "gone")
    with pytest.raises(NotFound):
        await h.cloud.secrets.reveal(owner.principal, secret.id)
    with pytest.raises(NotFound):
        await h.cloud.secrets.delete(owner.principal, secret.id)


async def test_viewers_cannot_read_values(h: Harness, owner: Account) -> None:
    await h.cloud.secrets.create(owner.principal, "db-url", VALUE)
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.secrets.reveal(viewer, "db-url")


async def test_ciphertext_is_bound_to_its_secret(h: Harness, owner: Account) -> None:
    """Copying one secret's ciphertext onto another fails authentication (the id is AAD)."""
    a = await h.cloud.secrets.create(owner.principal, "a", VALUE)
    b = await h.cloud.secrets.create(owner.principal, "b", "other")
    async with h.cloud.uow() as uow:
        await uow.secrets.update(replace(b, ciphertext=a.ciphertext, nonce=a.nonce))
        await uow.commit()
    with pytest.raises(CloudError, match="failed authentication"):
        await h.cloud.secrets.reveal(owner.principal, "b")
