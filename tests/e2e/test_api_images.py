"""Users' own images: register, upload a root filesystem tarball, launch from it, delete."""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from pathlib import Path

import httpx

from tests.e2e.conftest import Server, assert_error
from tests.e2e.test_api_compute import launch, until


def rootfs_tarball() -> bytes:
    """A tiny root filesystem: the host's static busybox, `sh`, and an os-release."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(busybox, arcname="bin/busybox")
        for applet in ("sh", "cat", "sleep", "echo"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        release = b'ID=tinybox\nVERSION_ID="0.1"\n'
        info = tarfile.TarInfo("etc/os-release")
        info.size = len(release)
        tar.addfile(info, io.BytesIO(release))
    return buffer.getvalue()


def test_upload_launch_and_delete_an_own_image(server: Server, client: httpx.Client) -> None:
    assert Path(shutil.which("busybox") or "/bin/busybox").exists()
    name = f"tiny-{uuid.uuid4().hex[:6]}"
    made = client.post("/images", json={"name": name, "description": "mine"})
    assert made.status_code == 201 and made.json()["data"]["status"] == "PENDING_UPLOAD", made.text
    ident = made.json()["data"]["id"]
    assert_error(
        client.post(f"/images/{ident}/upload", content=b"not a tarball"), 400, "INVALID_INPUT"
    )
    r = client.post(f"/images/{ident}/upload", content=rootfs_tarball(),
                    headers={"content-type": "application/x-tar"})  # fmt: skip
    image = r.json()["data"]
    assert r.status_code == 200 and image["status"] == "AVAILABLE", r.text
    assert (image["os"], image["version"]) == ("tinybox", "0.1")
    vm = launch(client, image=name, cmd=["sleep", "600"])
    running = until(client, str(vm["id"]), "RUNNING")
    body = {"command": ["cat", "/etc/os-release"]}
    out = client.post(f"/instances/{running['id']}/exec", json=body).json()["data"]["stdout"]
    assert "ID=tinybox" in out
    with server.api(server.register("stranger")) as stranger:
        assert_error(stranger.get(f"/images/{ident}"), 404, "NOT_FOUND")
    assert_error(client.delete(f"/images/{ident}"), 409, "CONFLICT")
    client.delete(f"/instances/{running['id']}")
    until(client, str(running["id"]), "DELETED")
    assert client.delete(f"/images/{ident}").status_code == 204
    assert_error(client.get(f"/images/{ident}"), 404, "NOT_FOUND")
    assert_error(client.delete("/images/busybox"), 404, "NOT_FOUND")  # not the tenant's to delete
