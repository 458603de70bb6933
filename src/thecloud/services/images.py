"""The image catalog: logical image names, what they really contain, and aliases."""

from __future__ import annotations

from dataclasses import replace

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.compute import CATALOG, Image, ImageStatus
from thecloud.domain.errors import InvalidInput, not_found
from thecloud.domain.identity import Principal
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service


class ImageService(Service):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)

    async def sync_catalog(self) -> None:
        """One catalog row per known name (MISSING until built); run at start."""
        async with self._uow() as uow:
            for name, description in CATALOG.items():
                if await uow.images.find_one(tenant_id=None, name=name) is None:
                    await uow.images.add(
                        self._row(name, "", "", "", ImageStatus.MISSING, description)
                    )
            await uow.commit()

    def _row(
        self, name: str, reference: str, os: str, version: str, status: ImageStatus, text: str
    ) -> Image:
        now = self._clock.now()
        return Image(new_id(), None, name, reference, os, version, status, text, None, now, now)

    async def record_build(self, name: str, reference: str, os: str, version: str) -> Image:
        """The operator built `name` locally: the catalog row (and its aliases) point at it."""
        async with self._uow() as uow:
            row = await uow.images.find_one(tenant_id=None, name=name)
            if row is None:
                row = self._row(name, "", "", "", ImageStatus.MISSING, CATALOG.get(name, ""))
                await uow.images.add(row)
            built = self._pointed(row, reference, os, version)
            await uow.images.update(built)
            for alias in await uow.images.find(tenant_id=None, alias_of=name):
                await uow.images.update(self._pointed(alias, reference, os, version))
            await uow.commit()
        return built

    def _pointed(self, row: Image, reference: str, os: str, version: str) -> Image:
        return replace(
            row,
            reference=reference,
            os=os,
            version=version,
            status=ImageStatus.AVAILABLE,
            updated_at=self._clock.now(),
        )

    async def alias(self, alias: str, target: str) -> Image:
        """`alias` launches what `target` is (e.g. alpine -> busybox on an offline host)."""
        async with self._uow() as uow:
            real = await uow.images.find_one(tenant_id=None, name=target)
            if real is None or real.alias_of:
                raise InvalidInput(f"{target!r} is not an image of the catalog")
            found = await uow.images.find_one(tenant_id=None, name=alias)
            text = f"alias of {target}: {real.description}"
            row = self._row(alias, real.reference, real.os, real.version, real.status, text)
            row = replace(row, alias_of=target, id=found.id if found else row.id)
            await (uow.images.update(row) if found else uow.images.add(row))
            await uow.commit()
        return row

    async def list(self, p: Principal, query: ListQuery) -> Page[Image]:
        self.allow(p, "image:read", "image")
        async with self._uow(read_only=True) as uow:
            return await uow.images.visible(p.tenant_id, query)

    async def get(self, p: Principal, ident: str) -> Image:
        async with self._uow(read_only=True) as uow:
            found = await self._find(uow, p, ident)
        self.allow(p, "image:read", "image", found.id, found.name)
        return found

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> Image:
        found = await uow.images.get(ident)
        if found is not None and found.tenant_id not in (None, p.tenant_id):
            found = None
        found = found or await uow.images.by_name(p.tenant_id, ident)
        if found is None:
            raise not_found("image", ident)
        return found
