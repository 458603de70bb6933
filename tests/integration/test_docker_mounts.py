"""Volumes plugged into and out of running containers (no restart), on the real engine with
real loop-backed volumes."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.docker_support import busybox_image, docker_runtime  # noqa: F401
from tests.integration.test_storage_loop import loop  # noqa: F401
from thecloud.adapters.commands import SubprocessRunner
from thecloud.adapters.docker.mounts import DockerVolumeMounter
from thecloud.adapters.docker.runtime import PLUG_TARGET
from thecloud.adapters.storage.loop import LoopBackend
from thecloud.domain.errors import BackendUnavailable


def sh(container: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", container, "sh", "-c", script], capture_output=True, text=True
    )


@pytest.fixture
async def mounter(tmp_path: Path) -> AsyncIterator[DockerVolumeMounter]:
    m = DockerVolumeMounter(SubprocessRunner(), tmp_path / "plug")
    try:
        yield m
    finally:
        m.close()
        for leftover in sorted((tmp_path / "plug").rglob("*"), reverse=True):
            subprocess.run(["umount", "-l", str(leftover)], capture_output=True)
        subprocess.run(["umount", "-l", str(tmp_path / "plug")], capture_output=True)


async def test_a_volume_is_plugged_in_and_out_of_a_running_container(
    loop: LoopBackend,  # noqa: F811
    mounter: DockerVolumeMounter,
    busybox_image: str,  # noqa: F811
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    at_start = await loop.create(first, 1)
    later = await loop.create(second, 1)
    Path(later, "note.txt").write_text("from the host")
    await mounter.share()
    instance = str(uuid.uuid4())
    plug = await mounter.plug_dir(instance)
    made = subprocess.run(
        ["docker", "run", "-d", "--label", "thecloud.test=mounts",
         "-v", f"{at_start}:/boot-data:rw", "-v", f"{plug}:{PLUG_TARGET}:rslave",
         busybox_image, "sleep", "300"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    container = made.stdout.strip()
    pid = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Pid}}", container], capture_output=True, text=True
    ).stdout.strip()
    try:
        assert await mounter.mounted(container) == {"/boot-data": at_start}
        await mounter.plug(container, later, "/data")
        await mounter.plug(container, later, "/data")  # again: nothing new
        assert sh(container, "cat /data/note.txt").stdout == "from the host"
        assert sh(container, "echo written > /data/out.txt").returncode == 0
        assert Path(later, "out.txt").read_text() == "written\n"
        df = sh(container, "df -k /data").stdout.splitlines()[-1].split()
        assert 900_000 < int(df[1]) <= 1_048_576, df  # the volume's own filesystem
        await mounter.unplug(container, "/data")
        await mounter.unplug(container, "/data")  # again: fine
        assert sh(container, "cat /data/note.txt").returncode != 0
        with pytest.raises(BackendUnavailable):  # cannot be made inside: nothing stays
            await mounter.plug(container, later, "/proc/sys/nope")
        assert sorted(p.name for p in Path(plug).iterdir()) == []
        await mounter.plug(container, later, "/data")
        subprocess.run(["docker", "stop", "-t", "1", container], capture_output=True, check=True)
        await mounter.unstage(instance, "/data")  # stopped: the host side goes all the same
        assert sorted(p.name for p in Path(plug).iterdir()) == []
        subprocess.run(["docker", "start", container], capture_output=True, check=True)
        pid = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Pid}}", container],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        await mounter.unplug(container, "/boot-data")  # a volume bound at creation, too
        assert " /boot-data " not in Path(f"/proc/{pid}/mountinfo").read_text()
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
