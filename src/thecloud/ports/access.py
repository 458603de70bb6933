"""Push of the identity/access generation, so requests need not read it from the store."""

from __future__ import annotations

from typing import Protocol


class AccessWatch(Protocol):
    """Follows the generation counter that every change to keys, roles, bindings, policies or
    service accounts bumps. While connected it knows the value without a query; when it is
    not (starting, reconnecting) `current()` is None and callers read the store instead.

    The value may run ahead of the store (a change announced before its commit), and may
    trail a commit only while the news travels (PostgreSQL's notification). A cached entry
    is current while the value equals the generation it was read under; so callers tag
    what they load with the generation they read from the store, never with this value,
    which may announce a change the store does not show yet."""

    def current(self) -> int | None: ...

    def announce(self, generation: int) -> None:
        """A transaction of this process bumped the counter to `generation` and has not
        committed yet (it may still roll back)."""
        ...

    def note(self, generation: int) -> None:
        """This process committed `generation` (seen at once, before any notification)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...
