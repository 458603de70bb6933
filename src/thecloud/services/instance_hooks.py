"""The compute worker's network hooks: the data path first (FabricSync), then DNS names."""

from __future__ import annotations

from collections.abc import Sequence

from thecloud.domain.compute import Instance
from thecloud.services.compute_worker import NetworkHooks


class InstanceHooks:
    """Calls each part's hook in order on the way up (`prepare`) and on the way down
    (`released`); a part that raises stops the ones after it, as a single hook would."""

    def __init__(self, parts: Sequence[NetworkHooks]) -> None:
        self._parts = tuple(parts)

    async def prepare(self, i: Instance) -> None:
        for part in self._parts:
            await part.prepare(i)

    async def released(self, i: Instance) -> None:
        for part in self._parts:
            await part.released(i)
