"""What every service shares: the unit of work factory, the clock, the recorder, authorize."""

from __future__ import annotations

from dataclasses import dataclass

from thecloud.domain.iam import ResourceRef
from thecloud.domain.identity import Principal
from thecloud.ports.clock import Clock
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
