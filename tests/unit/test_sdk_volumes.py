"""The SDK's volumes and snapshots: requests over httpx.MockTransport, then the real API
(in-process, on the in-memory platform) driven through the async client, checking what the
storage backend holds and what is mounted in which container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from tests.unit.test_sdk_compute import FakeAPI, fail, instance
from tests.unit.test_sdk_network import listed, ok, sent
from thecloud.adapters.memory.storage_backend import MemoryMounter, MemoryStorage
from thecloud.entrypoints.api.app import create_app
from thecloud.sdk import AsyncClient, ConflictError, NotFoundError, ValidationError

VOLUME = {"id": "vol-1", "name": "data", "size_gb": 10, "status": "AVAILABLE",
          "encrypted": False, "instance_id": None, "mount_path": None}  # fmt: skip
ATTACHED = {**VOLUME, "status": "IN-USE", "instance_id": "i-1", "mount_path": "/data"}
SNAPSHOT = {"id": "snap-1", "volume_id": "vol-1", "size_gb": 10, "status": "AVAILABLE"}


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def test_volume_create_sends_only_what_was_given(api: FakeAPI) -> None:
    api.on("POST /volumes", ok(VOLUME, 201))
    client = api.client()
    assert client.volumes.create("data", 10) == VOLUME
    assert sent(api.requests[-1]) == {"name": "data", "size_gb": 10}
    assert "Idempotency-Key" not in api.requests[-1].headers
    client.volumes.create(
        "data",
        10,
        encrypted=True,
        description="the database",
        labels={"team": "blue"},
        idempotency_key="vol-1",
    )
    request = api.requests[-1]
    assert request.headers["Idempotency-Key"] == "vol-1"
    assert sent(request) == {
        "name": "data",
        "size_gb": 10,
        "encrypted": True,
        "description": "the database",
        "labels": {"team": "blue"},
    }


def test_encrypted_refused_by_the_backend_is_a_validation_error(api: FakeAPI) -> None:
    message = "encrypted volumes are not available with the loop storage backend on this host"
    api.on("POST /volumes", fail(400, "INVALID_INPUT", message))
    with pytest.raises(ValidationError, match="not available with the loop"):
        api.client().volumes.create("secret", 1, encrypted=True)


def test_volume_list_iterate_get_delete(api: FakeAPI) -> None:
    second = {**ATTACHED, "id": "vol-2", "name": "logs"}
    api.on("GET /volumes", listed([VOLUME], total=2, has_more=True), listed([second]))
    api.on("GET /volumes/a/b", ok(VOLUME))
    api.on("DELETE /volumes/data", httpx.Response(204))
    client = api.client()
    page = client.volumes.list(name="data", status="IN-USE", instance_id="i-1", limit=1)
    assert page.items == [VOLUME] and page.has_more
    assert dict(api.requests[-1].url.params) == {
        "name": "data",
        "status": "IN-USE",
        "instance_id": "i-1",
        "limit": "1",
    }
    api.on("GET /volumes", listed([VOLUME], total=2, has_more=True), listed([second]))
    assert [v["id"] for v in client.volumes.iterate(status="IN-USE", page_size=1)] == [
        "vol-1",
        "vol-2",
    ]
    walked = api.sent("GET /volumes")[-2:]
    assert [r.url.params["offset"] for r in walked] == ["0", "1"]
    assert all(r.url.params["status"] == "IN-USE" for r in walked)
    assert client.volumes.get("a/b") == VOLUME
    assert api.requests[-1].url.raw_path == b"/volumes/a%2Fb"  # always one path segment
    assert client.volumes.delete("data") is None


def test_attach_and_detach_send_the_api_fields(api: FakeAPI) -> None:
    api.on("POST /volumes/data/attach", ok({**ATTACHED, "attached_live": True}))
    api.on("POST /volumes/data/detach", ok(VOLUME))
    client = api.client()
    attached = client.volumes.attach("data", "web", "/data")
    assert attached["attached_live"] is True and attached["mount_path"] == "/data"
    assert sent(api.requests[-1]) == {"instance_id": "web", "mount_path": "/data"}
    assert client.volumes.detach("data")["status"] == "AVAILABLE"
    assert api.requests[-1].content == b""


def test_delete_while_attached_is_a_conflict(api: FakeAPI) -> None:
    api.on("DELETE /volumes/data", fail(409, "CONFLICT", "volume data is attached: detach it"))
    with pytest.raises(ConflictError, match="detach it"):
        api.client().volumes.delete("data")


def test_snapshot_calls(api: FakeAPI) -> None:
    restored = {**VOLUME, "id": "vol-9", "name": "copy", "snapshot_id": "snap-1"}
    api.on("POST /snapshots", ok(SNAPSHOT, 201))
    api.on("GET /snapshots", listed([SNAPSHOT]))
    api.on("GET /snapshots/snap-1", ok(SNAPSHOT))
    api.on("DELETE /snapshots/snap-1", httpx.Response(204))
    api.on("POST /snapshots/snap-1/restore", ok(restored, 201))
    client = api.client()
    assert client.snapshots.create("data") == SNAPSHOT
    assert sent(api.requests[-1]) == {"volume_id": "data"}
    client.snapshots.create("vol-1", description="before the upgrade", idempotency_key="s")
    assert sent(api.requests[-1]) == {"volume_id": "vol-1", "description": "before the upgrade"}
    assert api.requests[-1].headers["Idempotency-Key"] == "s"
    assert client.snapshots.list(volume_id="vol-1", limit=5).items == [SNAPSHOT]
    assert dict(api.requests[-1].url.params) == {"volume_id": "vol-1", "limit": "5"}
    assert [s["id"] for s in client.snapshots.iterate(volume_id="vol-1")] == ["snap-1"]
    assert api.requests[-1].url.params["volume_id"] == "vol-1"
    assert client.snapshots.get("snap-1") == SNAPSHOT
    assert client.snapshots.restore("snap-1", "copy", idempotency_key="r") == restored
    assert sent(api.requests[-1]) == {"new_volume_name": "copy"}
    assert api.requests[-1].headers["Idempotency-Key"] == "r"
    assert client.snapshots.delete("snap-1") is None


def test_launch_with_volumes_sends_volume_id_and_mount_path(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    client = api.client()
    client.instances.launch(
        "web",
        "busybox",
        volumes=[
            ("data", "/data"),  # by name
            (VOLUME, "/srv/db"),  # the object a call returned: its id
            {"volume_id": "vol-3", "mount_path": "/logs"},  # as the API takes it
        ],
    )
    assert sent(api.requests[-1]) == {
        "name": "web",
        "image": "busybox",
        "volumes": [
            {"volume_id": "data", "mount_path": "/data"},
            {"volume_id": "vol-1", "mount_path": "/srv/db"},
            {"volume_id": "vol-3", "mount_path": "/logs"},
        ],
    }
    client.instances.launch("db", "busybox", volumes=[])
    assert sent(api.requests[-1]) == {"name": "db", "image": "busybox"}


async def test_the_async_client_shares_the_implementation(api: FakeAPI) -> None:
    api.on("POST /volumes", ok(VOLUME, 201))
    api.on("POST /volumes/vol-1/attach", ok({**ATTACHED, "attached_live": False}))
    api.on("POST /snapshots", ok(SNAPSHOT, 201))
    api.on("POST /snapshots/snap-1/restore", ok({**VOLUME, "id": "vol-2", "name": "copy"}, 201))
    async with api.async_client() as client:
        volume = await client.volumes.create("data", 10)
        attached = await client.volumes.attach(volume["id"], "web", "/data")
        snap = await client.snapshots.create(volume["id"])
        copy = await client.snapshots.restore(snap["id"], "copy")
    assert attached["attached_live"] is False and copy["name"] == "copy"
    assert sent(api.requests[1]) == {"instance_id": "web", "mount_path": "/data"}
    assert sent(api.requests[3]) == {"new_volume_name": "copy"}


# --- the real API, in-process ----------------------------------------------------------------


@pytest.fixture
async def cloud_client(h: Harness, owner: Account) -> AsyncIterator[AsyncClient]:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with AsyncClient("http://cloud.test", api_key=owner.key, transport=transport) as c:
        yield c


async def storage_used(c: AsyncClient) -> Any:
    return {line["resource"]: line["used"] for line in await c.quotas.get()}["storage_gb"]


async def container_of(h: Harness, c: AsyncClient, name: str) -> str:
    """The container the worker runs the instance in, once the worker has started it."""
    await h.cloud.worker.step()
    found = await c.instances.get(name)
    assert found["status"] == "RUNNING" and found["container_id"], found
    return str(found["container_id"])


async def test_volumes_and_snapshots_against_the_api(h: Harness, cloud_client: AsyncClient) -> None:
    c, storage, mounter = cloud_client, h.adapters.storage, h.adapters.mounter
    assert isinstance(storage, MemoryStorage) and isinstance(mounter, MemoryMounter)
    data = await c.volumes.create("data", 2, labels={"tier": "db"})
    assert (data["status"], data["size_gb"], data["labels"]) == ("AVAILABLE", 2, {"tier": "db"})
    assert storage.sizes == {data["id"]: 2}
    assert await storage_used(c) == 2
    with pytest.raises(ValidationError, match="encrypted"):
        await c.volumes.create("secret", 1, encrypted=True)
    with pytest.raises(ValidationError):
        await c.volumes.create("huge", 5000)
    with pytest.raises(ConflictError, match="already exists"):
        await c.volumes.create("data", 1)
    assert await storage_used(c) == 2  # refused creates hold no quota

    # mounted from the first start
    vm = await c.instances.launch("vm", "busybox", volumes=[(data, "/data")], cmd=["sleep", "1d"])
    used = await c.volumes.get("data")
    assert (used["status"], used["instance_id"], used["mount_path"]) == (
        "IN-USE",
        vm["id"],
        "/data",
    )
    container = await container_of(h, c, "vm")
    assert mounter.seen(container) == {"/data": f"/volumes/{data['id']}"}
    with pytest.raises(ConflictError, match="detach it first"):
        await c.volumes.delete("data")

    # attached to the running instance: in it at once
    logs = await c.volumes.create("logs", 1)
    with pytest.raises(ValidationError, match="system directory"):
        await c.volumes.attach("logs", "vm", "/etc")
    live = await c.volumes.attach("logs", "vm", "/var/log/app")
    assert live["attached_live"] is True and live["status"] == "IN-USE"
    assert mounter.seen(container)["/var/log/app"] == f"/volumes/{logs['id']}"
    mine = (await c.volumes.list(instance_id=vm["id"])).items
    assert sorted(v["name"] for v in mine) == ["data", "logs"]
    assert [v["name"] for v in (await c.volumes.list(status="AVAILABLE")).items] == []
    freed = await c.volumes.detach("logs")
    assert (freed["status"], freed["instance_id"]) == ("AVAILABLE", None)
    assert "/var/log/app" not in mounter.seen(container)

    # a snapshot is that moment's data; a restore is a new volume of it
    storage.data[data["id"]]["state.txt"] = "original"
    snap = await c.snapshots.create("data", description="before")
    assert (snap["status"], snap["volume_id"], snap["size_gb"]) == ("AVAILABLE", data["id"], 2)
    storage.data[data["id"]]["state.txt"] = "overwritten"
    copy = await c.snapshots.restore(snap["id"], "copy")
    assert (copy["snapshot_id"], copy["size_gb"], copy["status"]) == (snap["id"], 2, "AVAILABLE")
    assert storage.data[copy["id"]] == {"state.txt": "original"}
    assert storage.data[data["id"]] == {"state.txt": "overwritten"}
    assert [s["id"] for s in (await c.snapshots.list(volume_id=data["id"])).items] == [snap["id"]]
    assert await storage_used(c) == 2 + 1 + 2

    # a stopped instance gets a volume when it starts
    await c.instances.stop("vm")
    await h.cloud.worker.step()
    later = await c.volumes.attach(copy["id"], "vm", "/copy")
    assert later["attached_live"] is False
    mounter.plugged.clear()  # a stopped container has nothing plugged
    await c.instances.start("vm")
    assert set(mounter.seen(await container_of(h, c, "vm"))) == {"/data", "/copy"}

    # termination lets go of the volumes; their data stays
    await c.instances.terminate("vm")
    await h.cloud.worker.step()
    for name in ("data", "copy"):
        after = await c.volumes.get(name)
        assert (after["status"], after["instance_id"], after["mount_path"]) == (
            "AVAILABLE",
            None,
            None,
        )
    assert storage.data[copy["id"]] == {"state.txt": "original"}

    for name in ("data", "logs", "copy"):
        assert await c.volumes.delete(name) is None
    with pytest.raises(NotFoundError):
        await c.volumes.get("data")
    assert (await c.snapshots.get(snap["id"]))["volume_id"] == data["id"]  # it outlives it
    assert await c.snapshots.delete(snap["id"]) is None
    assert (storage.data, storage.snaps) == ({}, {})
    assert await storage_used(c) == 0
