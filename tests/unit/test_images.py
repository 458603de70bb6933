"""The image catalog and tenants' own images on fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_instances import launched
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import BackendUnavailable, Conflict, Forbidden, InvalidInput, NotFound
from thecloud.entrypoints.api.app import create_app
from thecloud.entrypoints.api.routes import compute as compute_routes


async def test_own_images_are_registered_uploaded_used_and_deleted(
    h: Harness, owner: Account, tmp_path: Path
) -> None:
    runtime = h.adapters.runtime
    assert isinstance(runtime, MemoryRuntime)
    image = await h.cloud.images.register(owner.principal, "tools", "my tools")
    assert (image.status, image.tenant_id) == ("PENDING_UPLOAD", owner.tenant_id)
    with pytest.raises(Conflict, match="not built"):
        await launched(h, owner, image="tools")
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(b"tar")
    done = await h.cloud.images.upload(owner.principal, "tools", rootfs, "debian", "12")
    assert done.status == "AVAILABLE" and done.reference in runtime.images
    ident = await launched(h, owner, image="tools")
    with pytest.raises(Conflict, match="used by instance"):
        await h.cloud.images.delete(owner.principal, "tools")
    await h.cloud.instances.request(owner.principal, ident, "terminate")
    await h.cloud.worker.step()
    await h.cloud.images.delete(owner.principal, "tools")
    assert done.reference not in runtime.images


async def test_own_images_are_private_and_the_catalog_is_read_only(
    h: Harness, owner: Account
) -> None:
    await h.cloud.images.register(owner.principal, "mine", "")
    stranger = await h.register("stranger")
    names = {i.name for i in (await h.cloud.images.list(stranger.principal, ListQuery())).items}
    assert "mine" not in names and "busybox" in names
    with pytest.raises(NotFound):
        await h.cloud.images.get(stranger.principal, "mine")
    with pytest.raises(NotFound):
        await h.cloud.images.delete(owner.principal, "busybox")
    with pytest.raises(InvalidInput, match="image name"):
        await h.cloud.images.register(owner.principal, "Bad Name", "")
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.images.register(viewer, "nope", "")


async def test_a_pulled_image_joins_the_catalog_under_its_name(h: Harness, owner: Account) -> None:
    runtime = h.adapters.runtime
    assert isinstance(runtime, MemoryRuntime)
    said: list[str] = []
    with pytest.raises(BackendUnavailable, match="no registry"):
        await h.cloud.images.pull("alpine:3.19", "alpine", said.append)
    runtime.registry.add("alpine:3.19")
    row = await h.cloud.images.pull("alpine:3.19", "alpine", said.append)
    assert (row.name, row.reference, row.version, row.status) == (
        "alpine",
        "alpine:3.19",
        "3.19",
        "AVAILABLE",
    )
    assert said == ["alpine:3.19: Pull complete"]
    ident = await launched(h, owner, image="alpine")
    assert (await h.cloud.instances.get(owner.principal, ident)).image_ref == "alpine:3.19"


async def test_an_upload_is_authorized_before_its_body_is_stored(
    h: Harness, owner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await h.cloud.images.register(owner.principal, "tools", "")
    stored: list[str] = []

    @asynccontextmanager
    async def spooled(*_: object) -> AsyncIterator[Path]:
        stored.append("body")
        raise AssertionError("the body was stored")
        yield Path()  # pragma: no cover

    monkeypatch.setattr(compute_routes, "spooled", spooled)
    viewer = await h.register("viewer")
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, viewer.email, "viewer")
    stranger = await h.register("stranger")
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as http:
        for who, image, status in (
            (stranger, "tools", 404),
            (owner, "busybox", 404),  # the catalog's, not the tenant's
            (viewer, "tools", 403),
        ):
            tenant = stranger.tenant_id if who is stranger else owner.tenant_id
            headers = {"X-API-Key": who.key, "X-Tenant-ID": tenant}
            sent = await http.post(f"/images/{image}/upload", content=b"x" * 1024, headers=headers)
            assert sent.status_code == status, sent.text
    assert stored == []
