"""Push of the identity/access generation, so requests need not read it from the store."""

from __future__ import annotations

from typing import Protocol


class AccessWatch(Protocol):
    """Follows the generation counter that every change to keys, roles, bindings, policies or
    service accounts bumps. While connected it knows the value without a query; when it is
    not (starting, reconnecting) `current()` is None and callers read the store instead."""

    def current(self) -> int | None: ...

    def note(self, generation: int) -> None:
        """This process committed `generation` (seen at once, before any notification)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...
