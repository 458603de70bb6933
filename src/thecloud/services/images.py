"""The image catalog: logical image names, what they really contain, and aliases."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.compute import CATALOG, Image, ImageStatus
from thecloud.domain.errors import Conflict, InvalidInput, not_found
from thecloud.domain.identity import Principal
from thecloud.ports.compute import ContainerRuntime, Progress
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id_or_name


class ImageService(Service):
    def __init__(self, kernel: Kernel, runtime: ContainerRuntime) -> None:
        super().__init__(kernel)
        self._runtime = runtime

    async def register(self, p: Principal, name: str, description: str) -> Image:
        """A tenant image waiting for its root filesystem (PENDING_UPLOAD)."""
        _check_name(name)
        self.allow(p, "image:create", "image", name=name)
        row = replace(
            self._row(name, "", "", "", ImageStatus.PENDING_UPLOAD, description),
            tenant_id=p.tenant_id,
        )
        async with self._uow() as uow:
            if await uow.images.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"an image named {name!r} already exists in this tenant")
            await uow.images.add(row)
            await self._record(uow, p, "image:create", "image", row.id, {"name": name})
            await uow.commit()
        return row

    async def uploadable(self, p: Principal, ident: str) -> Image:
        """The tenant's own image `ident`, if the caller may upload its root filesystem: the
        check to make before receiving an upload."""
        async with self._uow(read_only=True) as uow:
            row = await self._own(uow, p, ident)
        self.allow(p, "image:create", "image", row.id, row.name)
        return row

    async def upload(self, p: Principal, ident: str, rootfs: Path, os: str, version: str) -> Image:
        """Import the uploaded root filesystem tarball as the image's local reference."""
        row = await self.uploadable(p, ident)
        reference = (
            f"thecloud-user/{(row.tenant_id or p.tenant_id)[:8]}-{_slug(row.name)}:{row.id[:8]}"
        )
        await self._runtime.import_rootfs(rootfs, reference, ('CMD ["/bin/sh"]',))
        done = self._pointed(row, reference, os, version)
        async with self._uow() as uow:
            await uow.images.update(done)
            await self._record(uow, p, "image:upload", "image", row.id, {"reference": reference})
            await uow.commit()
        return done

    async def delete(self, p: Principal, ident: str) -> None:
        """Delete one of the tenant's own images (not while an instance uses it)."""
        async with self._uow() as uow:
            row = await self._own(uow, p, ident)
            self.allow(p, "image:delete", "image", row.id, row.name)
            if row.reference:
                users = await uow.instances.find(image_ref=row.reference, deleted_at=None)
                if users:
                    raise Conflict(f"image {row.name} is used by instance {users[0].name}")
                await self._runtime.remove_image(row.reference)
            await uow.images.delete(row.id, p.tenant_id)
            await self._record(uow, p, "image:delete", "image", row.id, {"name": row.name})
            await uow.commit()

    async def _own(self, uow: UnitOfWork, p: Principal, ident: str) -> Image:
        # catalog images (no tenant) are not the tenant's to change: NotFound
        return await by_id_or_name(uow.images, "image", p.tenant_id, ident)

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

    async def pull(self, reference: str, name: str, progress: Progress) -> Image:
        """Where a registry is reachable: pull `reference` (e.g. `alpine:3.19`) and make it
        the catalog image `name`, which launches exactly that image."""
        info = await self._runtime.pull(reference, progress)
        tag = reference.rpartition(":")[2] if ":" in reference.rpartition("/")[2] else "latest"
        async with self._uow() as uow:
            row = await uow.images.find_one(tenant_id=None, name=name)
            text = f"pulled from its registry as {info.reference}"
            fresh = self._row(
                name, info.reference, "registry image", tag, ImageStatus.AVAILABLE, text
            )
            pulled = replace(fresh, id=row.id, created_at=row.created_at) if row else fresh
            await (uow.images.update(pulled) if row else uow.images.add(pulled))
            await uow.commit()
        return pulled

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


_NAME = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,127}$")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInput(
            f"image name {name!r} is invalid: 1-128 lower-case letters, digits, '.', '_', ':' "
            "or '-', starting with a letter or digit"
        )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", name)[:40]
