"""The SDK's SSH keys, deployments, own images and launch options over httpx.MockTransport."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.test_sdk_compute import FakeAPI, fail, instance, ok
from thecloud.sdk import (
    ConflictError,
    NotFoundError,
    ResourceFailedError,
    ServerError,
    WaitTimeoutError,
)
from thecloud.sdk._upload import CHUNK

PUB = "ssh-ed25519 AAAA me"
KEY = {"id": "k-1", "name": "laptop", "public_key": PUB, "fingerprint": "SHA256:x"}
IMAGE = {"id": "img-1", "name": "tools", "status": "PENDING_UPLOAD", "tenant_id": "t-1"}


def listed(items: list[Any], **meta: Any) -> httpx.Response:
    return ok(items, **{"total": len(items), "limit": 100, "offset": 0, "has_more": False, **meta})


def deployment(running: int = 0, status: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
    base = {"id": "d-1", "name": "web", "image": "busybox", "replicas": 2, "status": status}
    return {**base, "status_reason": "", "running": running, "instances": [], **fields}


def unavailable() -> httpx.Response:
    error = {"type": "UNAVAILABLE", "code": "UNAVAILABLE", "message": "busy"}
    return httpx.Response(503, json={"error": error}, headers={"Retry-After": "0"})


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
def tarball(tmp_path: Path) -> Path:
    """A file of two and a half chunks, each byte telling where it is."""
    path = tmp_path / "rootfs.tar.gz"
    path.write_bytes(bytes(i % 251 for i in range(CHUNK * 5 // 2)))
    return path


def test_ssh_key_create_list_get_delete(api: FakeAPI) -> None:
    api.on("POST /ssh-keys", ok(KEY, 201))
    api.on("GET /ssh-keys", listed([KEY]))
    api.on("GET /ssh-keys/laptop", ok(KEY))
    api.on("DELETE /ssh-keys/laptop", httpx.Response(204))
    keys = api.client().ssh_keys
    assert keys.create("laptop", PUB, idempotency_key="k")["id"] == "k-1"
    assert json.loads(api.requests[0].content) == {"name": "laptop", "public_key": PUB}
    assert api.requests[0].headers["Idempotency-Key"] == "k"
    assert keys.list(name="laptop", limit=5).items == [KEY]
    assert dict(api.requests[1].url.params) == {"name": "laptop", "limit": "5"}
    assert keys.get("laptop")["fingerprint"] == "SHA256:x"
    assert keys.delete("laptop") is None
    assert [r.method for r in api.requests] == ["POST", "GET", "GET", "DELETE"]


def test_ssh_keys_iterate_walks_every_page(api: FakeAPI) -> None:
    api.on(
        "GET /ssh-keys",
        listed([KEY], total=2, limit=1, has_more=True),
        listed([{**KEY, "id": "k-2"}], total=2, limit=1, offset=1),
    )
    assert [k["id"] for k in api.client().ssh_keys.iterate(page_size=1)] == ["k-1", "k-2"]
    assert [r.url.params["offset"] for r in api.requests] == ["0", "1"]


def test_launch_sends_the_ssh_key_and_user_data(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(has_ssh_keys=True, has_user_data=True), 202))
    script = "#!/bin/sh\necho hi > /tmp/hi\n"
    got = api.client().instances.launch("web", "busybox", ssh_key="laptop", user_data=script)
    assert json.loads(api.requests[0].content) == {
        "name": "web",
        "image": "busybox",
        "ssh_key_id": "laptop",
        "user_data": script,
    }
    assert got["has_ssh_keys"] and got["has_user_data"]


def test_deployment_create_list_get_scale_delete(api: FakeAPI) -> None:
    api.on("POST /containers/deployments", ok(deployment(), 202))
    api.on("GET /containers/deployments", listed([deployment()]))
    api.on("GET /containers/deployments/web", ok(deployment(2)))
    api.on("PUT /containers/deployments/web/scale", ok(deployment(replicas=3), 202))
    api.on("DELETE /containers/deployments/web", ok(deployment(status="DELETING"), 202))
    deployments = api.client().deployments
    deployments.create("web", "busybox", 2, ports=["0:80"], instance_type="basic-1",
                       env={"MODE": "prod"}, cmd=["httpd", "-f"], idempotency_key="d")  # fmt: skip
    assert json.loads(api.requests[0].content) == {
        "name": "web",
        "image": "busybox",
        "replicas": 2,
        "ports": "0:80",
        "instance_type": "basic-1",
        "env": ["MODE=prod"],
        "cmd": ["httpd", "-f"],
    }
    assert deployments.list(name="web").items == [deployment()]
    assert api.requests[1].url.params["name"] == "web"
    assert deployments.get("web")["running"] == 2
    assert deployments.scale("web", 3)["replicas"] == 3
    assert json.loads(api.requests[3].content) == {"replicas": 3}
    assert deployments.delete("web")["status"] == "DELETING"


def test_deployment_create_sends_only_what_was_given(api: FakeAPI) -> None:
    api.on("POST /containers/deployments", ok(deployment(), 202))
    api.client().deployments.create("web", "busybox", 0)
    sent = json.loads(api.requests[0].content)
    assert sent == {"name": "web", "image": "busybox", "replicas": 0}
    assert "idempotency-key" not in api.requests[0].headers


def test_wait_polls_until_that_many_replicas_run(api: FakeAPI) -> None:
    api.on("GET /containers/deployments/d-1", *[ok(deployment(n)) for n in (0, 0, 1, 2)])
    seen: list[int] = []
    got = api.client().deployments.wait(
        deployment(), 2, timeout=5, interval=0.01, on_status=lambda d: seen.append(d["running"])
    )
    assert got["running"] == 2
    assert seen == [0, 1, 2]
    assert len(api.sent("GET /containers/deployments/d-1")) == 4


def test_wait_for_fewer_replicas_after_scaling_down(api: FakeAPI) -> None:
    api.on("GET /containers/deployments/web", ok(deployment(3)), ok(deployment(1, replicas=1)))
    assert api.client().deployments.wait("web", 1, interval=0.01)["running"] == 1


def test_wait_for_deleted_ends_when_the_deployment_is_gone(api: FakeAPI) -> None:
    gone = fail(404, "NOT_FOUND", "no deployment web")
    api.on("GET /containers/deployments/d-1", ok(deployment(1, "DELETING")), gone)
    got = api.client().deployments.wait(deployment(2), deleted=True, interval=0.01)
    assert (got["id"], got["status"]) == ("d-1", "DELETED")


def test_wait_for_replicas_fails_when_the_deployment_is_being_deleted(api: FakeAPI) -> None:
    api.on("GET /containers/deployments/web", ok(deployment(1)), ok(deployment(0, "DELETING")))
    with pytest.raises(ResourceFailedError) as caught:
        api.client().deployments.wait("web", 2, interval=0.01)
    assert caught.value.message == "deployment web (d-1) is DELETING"


def test_wait_for_replicas_of_an_unknown_deployment_is_not_found(api: FakeAPI) -> None:
    with pytest.raises(NotFoundError):
        api.client().deployments.wait("nope", 1, interval=0.01)


def test_wait_times_out_with_the_count_and_the_reason(api: FakeAPI) -> None:
    stalled = deployment(1, status_reason="quota instances exceeded")
    api.on("GET /containers/deployments/web", ok(stalled))
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        api.client().deployments.wait("web", 2, timeout=0.05, interval=0.01)
    assert time.monotonic() - started < 2
    assert caught.value.message == (
        "deployment web (d-1) is still 1 running after 0.05 s (waiting for 2 running)"
    )
    assert caught.value.resource["status_reason"] == "quota instances exceeded"


@pytest.mark.parametrize("args", [{}, {"running": 1, "deleted": True}])
def test_wait_wants_a_count_or_deleted(api: FakeAPI, args: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="deleted=True"):
        api.client().deployments.wait("web", **args)
    assert api.requests == []


def test_image_register_and_delete(api: FakeAPI) -> None:
    api.on("POST /images", ok(IMAGE, 201))
    api.on("DELETE /images/tools", httpx.Response(204), fail(409, "CONFLICT", "in use"))
    images = api.client().images
    assert images.register("tools", description="ours")["status"] == "PENDING_UPLOAD"
    assert json.loads(api.requests[0].content) == {"name": "tools", "description": "ours"}
    assert images.delete("tools") is None
    with pytest.raises(ConflictError):
        images.delete("tools")


def test_upload_streams_a_file_in_chunks_with_its_length(api: FakeAPI, tarball: Path) -> None:
    api.on("POST /images/tools/upload", ok({**IMAGE, "status": "AVAILABLE"}))
    sent: list[int] = []
    got = api.client().images.upload("tools", tarball, on_progress=sent.append)
    assert got["status"] == "AVAILABLE"
    request = api.requests[0]
    assert request.content == tarball.read_bytes()
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["content-length"] == str(tarball.stat().st_size)
    assert "transfer-encoding" not in request.headers
    assert sent == [CHUNK, 2 * CHUNK, tarball.stat().st_size]


def test_upload_from_a_file_object_starts_where_it_stands(api: FakeAPI) -> None:
    api.on("POST /images/tools/upload", ok(IMAGE))
    data = io.BytesIO(b"skip-the-tar-archive")
    data.seek(5)
    api.client().images.upload("tools", data)
    assert api.requests[0].content == b"the-tar-archive"
    assert api.requests[0].headers["content-length"] == "15"


class Pipe(io.RawIOBase):
    """A stream that cannot seek, like stdin from a pipe."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_upload_of_an_unseekable_stream_is_chunked_and_never_retried(api: FakeAPI) -> None:
    api.on("POST /images/tools/upload", unavailable(), ok(IMAGE))
    with pytest.raises(ServerError):
        api.client().images.upload("tools", io.BufferedReader(Pipe(b"tar-bytes")))
    assert len(api.requests) == 1
    assert api.requests[0].content == b"tar-bytes"
    assert api.requests[0].headers["transfer-encoding"] == "chunked"


def test_upload_of_a_path_is_retried_whole(api: FakeAPI, tarball: Path) -> None:
    api.on("POST /images/tools/upload", unavailable(), ok(IMAGE))
    api.client().images.upload("tools", tarball)
    assert [len(r.content) for r in api.requests] == [tarball.stat().st_size] * 2


async def test_async_upload_streams_the_file(api: FakeAPI, tarball: Path) -> None:
    api.on("POST /images/tools/upload", ok({**IMAGE, "status": "AVAILABLE"}))
    sent: list[int] = []
    async with api.async_client() as client:
        got = await client.images.upload("tools", str(tarball), on_progress=sent.append)
    assert got["status"] == "AVAILABLE"
    assert api.requests[0].content == tarball.read_bytes()
    assert sent[-1] == tarball.stat().st_size and len(sent) == 3


async def test_async_ssh_keys_and_deployment_wait(api: FakeAPI) -> None:
    api.on("POST /ssh-keys", ok(KEY, 201))
    api.on("POST /containers/deployments", ok(deployment(), 202))
    api.on("GET /containers/deployments/d-1", ok(deployment(1)), ok(deployment(2)))
    async with api.async_client() as client:
        assert (await client.ssh_keys.create("laptop", "ssh-ed25519 AAAA me"))["id"] == "k-1"
        created = await client.deployments.create("web", "busybox", 2)
        running = await client.deployments.wait(created, 2, interval=0.01)
    assert running["running"] == 2
