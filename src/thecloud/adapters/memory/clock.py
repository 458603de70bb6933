"""Clocks for tests: one that stands still, one that tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return at.astimezone(UTC)


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime = DEFAULT_START) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at


class ManualClock(FixedClock):
    """Stands still until a test sets or advances it."""

    def set(self, at: datetime) -> None:
        self._at = _aware(at)

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Move forward by `seconds` plus any timedelta keywords (minutes=, hours=, ...)."""
        step = timedelta(seconds=seconds, **delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards; use set()")
        self._at += step
        return self._at
