"""Reads kept until the next commit: the UntilCommit store, and GET/HEAD of objects and
lists of secrets on it (served without a lookup while nothing was committed, still
authorized every time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_objects import code, give_policy, member_with_key, new_bucket, put, read
from thecloud.adapters.memory.uow import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from thecloud.domain.common import ListQuery, PageRequest
from thecloud.domain.errors import Forbidden, NotFound
from thecloud.domain.identity import Principal
from thecloud.domain.objects import S3Forbidden, S3NotFound
from thecloud.services.recent import UntilCommit

# --- UntilCommit ---------------------------------------------------------------------------


def test_an_entry_is_served_while_the_version_stays() -> None:
    kept: UntilCommit[str, str] = UntilCommit(10, 100)
    assert kept.get(1, "a") is None
    kept.put(1, "a", "first")
    assert kept.get(1, "a") == "first" and kept.get(1, "b") is None
    assert kept.get(2, "a") is None  # a commit: everything goes
    assert len(kept) == 0
    kept.put(2, "a", "second")
    assert kept.get(2, "a") == "second"


def test_a_read_begun_before_a_commit_is_not_kept() -> None:
    kept: UntilCommit[str, str] = UntilCommit(10, 100)
    kept.put(5, "a", "new")
    kept.put(4, "b", "read before the commit of 5")  # tagged with an older version
    assert kept.get(5, "b") is None and kept.get(5, "a") == "new"
    assert kept.get(4, "a") is None  # a caller behind the times gets nothing either
    assert kept.get(5, "a") == "new"  # ... and does not drop what is current


def test_the_oldest_entries_go_first_past_either_bound() -> None:
    kept: UntilCommit[str, int] = UntilCommit(3, 100)
    for n, key in enumerate("abcd"):
        kept.put(1, key, n, weight=10)
    assert [kept.get(1, k) for k in "abcd"] == [None, 1, 2, 3]
    kept.put(1, "e", 4, weight=85)  # 10 + 10 + 10 + 85 > 100: b and c go
    assert [kept.get(1, k) for k in "bcde"] == [None, None, 3, 4]
    kept.put(1, "e", 5, weight=10)  # replacing an entry gives its weight back
    kept.put(1, "f", 6, weight=80)
    assert [kept.get(1, k) for k in "def"] == [3, 5, 6]
    kept.put(1, "huge", 7, weight=101)  # heavier than the whole budget: not kept
    assert kept.get(1, "huge") is None and kept.get(1, "f") == 6


# --- GET and HEAD on it --------------------------------------------------------------------


class Lookups(list[bool]):
    """Every unit of work opened, as its read_only flag; `during_read` runs as a read-only
    one opens (what another process does meanwhile)."""

    during_read: Callable[[], None] | None = None


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    opened = Lookups()
    real = MemoryUnitOfWorkFactory.__call__

    def counted(
        self: MemoryUnitOfWorkFactory, *, read_only: bool = False, batched: bool = False
    ) -> MemoryUnitOfWork:
        opened.append(read_only)
        if read_only and opened.during_read is not None:
            opened.during_read()
        return real(self, read_only=read_only, batched=batched)

    monkeypatch.setattr(MemoryUnitOfWorkFactory, "__call__", counted)
    return opened


@pytest.fixture
async def photo(h: Harness, owner: Account) -> Principal:
    """The owner, who put b"v1" at photos/k."""
    await new_bucket(h, owner.principal)
    await put(h, owner.principal, "photos", "k", b"v1")
    return owner.principal


async def test_reads_of_an_unchanged_store_look_nothing_up_again(
    h: Harness, photo: Principal, lookups: Lookups
) -> None:
    assert await read(h, photo, "photos", "k") == b"v1"
    lookups.clear()
    assert await read(h, photo, "photos", "k") == b"v1"
    head = await h.cloud.objects.open(photo, "photos", "k", body=False)
    assert head.version.size == 2 and lookups == []
    await put(h, photo, "photos", "k", b"v2")  # a commit: the next read looks it up
    lookups.clear()
    assert await read(h, photo, "photos", "k") == b"v2" and lookups == [True]


async def test_any_commit_ends_what_reads_kept(
    h: Harness, photo: Principal, lookups: Lookups
) -> None:
    await read(h, photo, "photos", "k")
    await new_bucket(h, photo, "unrelated")  # a commit that has nothing to do with the key
    lookups.clear()
    assert await read(h, photo, "photos", "k") == b"v1" and lookups == [True]


async def test_a_kept_read_is_authorized_for_every_caller(
    h: Harness, photo: Principal, lookups: Lookups
) -> None:
    stranger = (await h.register("stranger")).principal
    await read(h, photo, "photos", "k")
    lookups.clear()
    with pytest.raises(S3NotFound) as missing:
        await read(h, stranger, "photos", "k")
    assert code(missing) == "NoSuchBucket"
    with pytest.raises(S3Forbidden) as denied:
        await read(h, None, "photos", "k")
    assert code(denied) == "AccessDenied"
    assert lookups == []  # both answered from what the owner's read kept


async def test_a_read_that_a_commit_overtakes_is_looked_up_again(
    h: Harness, photo: Principal, lookups: Lookups
) -> None:
    """What a read returns is tagged with the version seen before it: a commit landing
    while it reads (another process's) leaves it unserved."""

    def someone_commits() -> None:
        h.store.version += 1

    lookups.clear()
    lookups.during_read = someone_commits
    await read(h, photo, "photos", "k")
    await read(h, photo, "photos", "k")
    assert lookups == [True, True]


# --- lists of secrets on it ----------------------------------------------------------------


async def test_a_listed_page_is_kept_per_tenant_and_query_until_a_commit(
    h: Harness, owner: Account, lookups: Lookups
) -> None:
    p = owner.principal
    for i in range(3):
        await h.cloud.secrets.create(p, f"s{i}", "value")
    stranger = (await h.register("stranger")).principal
    first = await h.cloud.secrets.list(p, ListQuery())
    lookups.clear()
    first.items.clear()  # what a caller does with its page is its own business
    again = await h.cloud.secrets.list(p, ListQuery())
    assert sorted(s.name for s in again.items) == ["s0", "s1", "s2"] and lookups == []
    two = await h.cloud.secrets.list(p, ListQuery(page=PageRequest(limit=2)))
    assert len(two.items) == 2 and lookups == [True]  # another query is another entry
    assert (await h.cloud.secrets.list(stranger, ListQuery())).total == 0
    assert lookups == [True, True]  # and another tenant another one
    await h.cloud.secrets.create(p, "s3", "value")
    assert (await h.cloud.secrets.list(p, ListQuery())).total == 4


async def denied(h: Harness, owner: Account, action: str) -> Principal:
    """A developer of the owner's tenant, with `action` denied by a policy, after the
    owner made the secret db-url."""
    await h.cloud.secrets.create(owner.principal, "db-url", "value")
    member, key = await member_with_key(h, owner, "developer")
    await give_policy(h, owner, member, {"Effect": "Deny", "Action": action, "Resource": "*"})
    return await h.login_key(key, owner.tenant_id)


async def test_a_kept_page_is_refused_to_who_may_not_list(h: Harness, owner: Account) -> None:
    p = owner.principal
    member = await denied(h, owner, "secret:list")
    assert (await h.cloud.secrets.list(p, ListQuery())).total == 1  # kept now
    with pytest.raises(Forbidden):
        await h.cloud.secrets.list(member, ListQuery())


# --- secrets read by id or name -------------------------------------------------------------


async def test_a_secret_read_is_kept_per_tenant_until_a_commit(
    h: Harness, owner: Account, lookups: Lookups, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("thecloud.services.secrets.ACCESS_RESOLUTION", timedelta(days=1))
    p = owner.principal
    stranger = (await h.register("stranger")).principal
    made = await h.cloud.secrets.create(p, "db-url", "postgres://one")
    for _ in range(2):  # the first read writes the access time (a commit), the second keeps
        assert (await h.cloud.secrets.reveal(p, "db-url"))[1] == "postgres://one"
    lookups.clear()
    assert (await h.cloud.secrets.reveal(p, "db-url"))[1] == "postgres://one"
    assert lookups == []  # nothing looked up (and the access time is a day fresh)
    with pytest.raises(NotFound):  # the same name in another tenant is not this one
        await h.cloud.secrets.reveal(stranger, "db-url")
    await h.cloud.secrets.update(p, made.id, "postgres://two", None)
    lookups.clear()
    assert (await h.cloud.secrets.reveal(p, "db-url"))[1] == "postgres://two"
    assert lookups == [True]
    await h.cloud.secrets.delete(p, "db-url")
    with pytest.raises(NotFound):
        await h.cloud.secrets.reveal(p, "db-url")


async def test_a_kept_secret_is_refused_to_who_may_not_read_it(
    h: Harness, owner: Account, lookups: Lookups, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("thecloud.services.secrets.ACCESS_RESOLUTION", timedelta(days=1))
    p = owner.principal
    member = await denied(h, owner, "secret:read")
    for _ in range(2):  # the first read writes the access time (a commit), the second keeps
        assert (await h.cloud.secrets.reveal(p, "db-url"))[1] == "value"
    lookups.clear()
    with pytest.raises(Forbidden):
        await h.cloud.secrets.reveal(member, "db-url")
    assert lookups == []  # refused on what was kept, not on a fresh lookup
