"""Reads kept until the store's next commit (`UnitOfWorkFactory.version()`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from thecloud.domain.common import ListQuery

K = TypeVar("K")
V = TypeVar("V")


class UntilCommit(Generic[K, V]):
    """What was read while the store stood at version `n`, served while it still does.

    A read is tagged with the version taken *before* it: a commit landing during the read
    moves the version on, so what it returned is never served. The version counts commits
    to the whole store, so any commit drops everything: this pays where reads outnumber
    writes (GETs of objects). Bounded by entries and by a weight the caller counts (bytes),
    the oldest entries going first.
    """

    def __init__(self, max_entries: int, max_weight: int) -> None:
        self._max_entries, self._max_weight = max_entries, max_weight
        self._version = -1
        self._items: dict[K, tuple[V, int]] = {}
        self._weight = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, version: int, key: K) -> V | None:
        if version != self._version:
            self._move_to(version)
            return None
        found = self._items.get(key)
        return found[0] if found is not None else None

    def put(self, version: int, key: K, value: V, weight: int = 0) -> None:
        """Keep `value`, read after the store showed `version` (an older one is dropped)."""
        self._move_to(version)
        if version != self._version or weight > self._max_weight:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        while self._items and (
            len(self._items) >= self._max_entries or self._weight + weight > self._max_weight
        ):
            oldest = next(iter(self._items))
            self._weight -= self._items.pop(oldest)[1]
        self._items[key] = (value, weight)
        self._weight += weight

    async def read(
        self,
        version: int | None,
        key: K | None,
        load: Callable[[], Awaitable[V]],
        weigh: Callable[[V], int] = lambda _: 0,
    ) -> tuple[V, bool]:
        """The value kept for `key` at `version` (and True), or what `load` reads, kept
        when the store has a version and the read a key (and False)."""
        if version is None or key is None:
            return await load(), False
        found = self.get(version, key)
        if found is not None:
            return found, True
        value = await load()
        self.put(version, key, value, weigh(value))
        return value, False

    def _move_to(self, version: int) -> None:
        if version > self._version:
            self._version, self._items, self._weight = version, {}, 0


def query_key(owner: str, query: ListQuery) -> Hashable | None:
    """A list query as a key of what it read (None when a filter value cannot be one)."""
    key = (
        owner, query.page, tuple(sorted(query.filters.items())),
        tuple(sorted(query.labels.items())), query.since, query.until, query.newest_first,
    )  # fmt: skip
    try:
        hash(key)
    except TypeError:
        return None
    return key
