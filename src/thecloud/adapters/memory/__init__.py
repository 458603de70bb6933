"""In-memory fakes of every port, for tests (never a production default)."""

from __future__ import annotations

from thecloud.adapters.memory.clock import FixedClock, ManualClock
from thecloud.adapters.memory.crypto import FakePasswordHasher, FakeTokenCodec
from thecloud.adapters.memory.store import MemoryStore, NestedWrite, ReadOnlyViolation
from thecloud.adapters.memory.uow import MemoryUnitOfWork, MemoryUnitOfWorkFactory

__all__ = [
    "FakePasswordHasher",
    "FakeTokenCodec",
    "FixedClock",
    "ManualClock",
    "MemoryStore",
    "MemoryUnitOfWork",
    "MemoryUnitOfWorkFactory",
    "NestedWrite",
    "ReadOnlyViolation",
]
