"""Waiting for a resource to reach a status: the bookkeeping both executors share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from thecloud.sdk._core import JSON, Call
from thecloud.sdk.errors import NotFoundError, ResourceFailedError, WaitTimeoutError

StatusCallback = Callable[[JSON], None]
Observer = Callable[[JSON], str | None]


def status_of(current: JSON) -> str | None:
    """What a wait usually watches: the object's `status`."""
    status = current.get("status")
    return None if status is None else str(status)


@dataclass(slots=True)
class Poll:
    """One wait: the GET to repeat, the statuses that end it, and a deadline.

    An executor repeats `call`, hands each result to `settled`, and sleeps `pause()` seconds
    between tries; `settled` and `pause` raise when the wait fails or times out. `gone` is the
    status a 404 stands for (e.g. DELETED): reaching it then ends the wait.
    """

    call: Call
    kind: str
    until: frozenset[str]
    failed: frozenset[str] = frozenset({"ERROR"})
    gone: str | None = None
    timeout: float = 60.0
    interval: float = 0.5
    on_status: StatusCallback | None = None
    last: JSON | None = None
    observe: Observer = status_of
    seen: str | None = field(default=None, init=False)
    deadline: float | None = field(default=None, init=False)

    def vanished(self, exc: NotFoundError) -> JSON:
        """What a 404 means: the `gone` status when that is wanted, else the error itself."""
        if self.gone is None or self.gone not in self.until:
            raise exc
        return {**(self.last or {}), "status": self.gone}

    def settled(self, current: JSON) -> bool:
        """Note what was seen; True once it is wanted; raise if it failed."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout
        status = self.observe(current)
        self._note(current, status)
        if status in self.until:
            return True
        if status in self.failed:
            raise ResourceFailedError(self._failure(current), current)
        return False

    def pause(self) -> float:
        """Seconds to sleep before the next try; raise once the deadline has passed."""
        remaining = (self.deadline or 0.0) - time.monotonic()
        if remaining <= 0:
            wanted = " or ".join(sorted(self.until))
            raise WaitTimeoutError(
                f"{self._label()} is still {self.seen} after {self.timeout:g} s "
                f"(waiting for {wanted})",
                self.last,
            )
        return min(self.interval, remaining)

    def _note(self, current: JSON, status: str | None) -> None:
        if self.on_status is not None and status != self.seen:
            self.on_status(current)
        self.seen, self.last = status, current

    def _label(self) -> str:
        last = self.last or {}
        name, ident = last.get("name"), last.get("id")
        if name and ident and name != ident:
            return f"{self.kind} {name} ({ident})"
        return f"{self.kind} {name or ident or '?'}"

    def _failure(self, current: JSON) -> str:
        reason = current.get("status_reason")
        return f"{self._label()} is {current.get('status')}" + (f": {reason}" if reason else "")
