"""What every service shares: the unit of work factory, the clock, the recorder, authorize."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from thecloud.domain.errors import not_found
from thecloud.domain.iam import ResourceRef
from thecloud.domain.identity import Principal
from thecloud.ports.clock import Clock
from thecloud.ports.repositories import Repository
from thecloud.ports.uow import UnitOfWorkFactory
from thecloud.services.authz import authorize
from thecloud.services.recording import Recorder


@dataclass(frozen=True, slots=True)
class Kernel:
    uow: UnitOfWorkFactory
    clock: Clock
    recorder: Recorder


class Service:
    """Base of the concrete services; `allow` is the one place they authorize."""

    def __init__(self, kernel: Kernel) -> None:
        self._k = kernel
        self._uow = kernel.uow
        self._clock = kernel.clock
        self._record = kernel.recorder.record

    def allow(
        self, principal: Principal, action: str, kind: str, ident: str = "*", name: str = ""
    ) -> None:
        authorize(principal, action, ResourceRef(kind, ident, name), self._clock.now())


T = TypeVar("T")


async def by_id(repo: Repository[T], kind: str, tenant_id: str, ident: str) -> T:
    """A tenant's resource by id; NotFound, in the one wording, when there is none."""
    found = await repo.get(ident, tenant_id)
    if found is None:
        raise not_found(kind, ident)
    return found


async def by_id_or_name(
    repo: Repository[T],
    kind: str,
    tenant_id: str,
    ident: str,
    *,
    field: str = "name",
    **filters: object,
) -> T:
    """A tenant's resource by id, else by `field` (its name unless told; `filters` narrow that
    lookup, e.g. to live rows); NotFound, in the one wording, when neither finds it."""
    found = await repo.get(ident, tenant_id)
    found = found or await repo.find_one(**{"tenant_id": tenant_id, field: ident, **filters})
    if found is None:
        raise not_found(kind, ident)
    return found
