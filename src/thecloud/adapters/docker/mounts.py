"""Volumes plugged into running containers, without a restart.

Every container of an instance is created with its plug directory (`<plug root>/<instance
id>`, a shared mount on the host) bound at /.thecloud/volumes with slave propagation. To plug
a volume, the host bind-mounts the volume's mount point into that directory (it appears in
the container at once), then bind-mounts it onto the wanted path inside the container's
mount namespace (nsmount.py joins it with setns and mounts: nothing is needed from the
image). Unplugging undoes both. A restart of the container loses plugged mounts; the compute
worker plugs the attached volumes again after every start (`mounted` tells what is there).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Collection
from pathlib import Path

from thecloud.adapters.docker.client import EngineClient
from thecloud.adapters.docker.runtime import PLUG_TARGET
from thecloud.domain.errors import Conflict, NotFound
from thecloud.ports.storage import CommandRunner

NSMOUNT = "thecloud.adapters.docker.nsmount"


def slot(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:16]


class DockerVolumeMounter:
    def __init__(self, runner: CommandRunner, plug_root: Path, base_url: str | None = None) -> None:
        self._run, self.plug_root = runner.run, plug_root.resolve()
        self._engine = EngineClient(base_url, 30)
        self._shared = False
        self._sharing = asyncio.Lock()  # concurrent launches would stack bind mounts

    def close(self) -> None:
        self._engine.close()

    async def plug_dir(self, instance_id: str) -> str:
        """The instance's plug directory (made, under a shared mount) for its container spec."""
        await self.share()
        path = self.plug_root / instance_id
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    async def share(self) -> None:
        """Make the plug root a shared mount (once), so mounts under it reach containers.

        One at a time: launches running at once would each find no mount and each bind one,
        stacked, and the topmost (the one containers see) could stay private. The topmost is
        the last line findmnt prints (a crash may have left it private, or a stack)."""
        async with self._sharing:
            if self._shared:
                return
            self.plug_root.mkdir(parents=True, exist_ok=True)
            found = await self._run(
                "findmnt", "-n", "-o", "PROPAGATION", "--mountpoint", str(self.plug_root),
                check=False,
            )  # fmt: skip
            stack = found.stdout.split() if found.returncode == 0 else []
            if not stack:
                await self._run("mount", "--bind", str(self.plug_root), str(self.plug_root))
            if not stack or "shared" not in stack[-1]:
                await self._run("mount", "--make-rshared", str(self.plug_root))
            self._shared = True

    async def _pid(self, container: str) -> int:
        def pid(api: object) -> int:
            state = api.inspect_container(container)["State"]  # type: ignore[attr-defined]
            return int(state.get("Pid") or 0)

        found = await self._engine.call(pid)
        if found <= 0:
            raise Conflict(f"container {container[:12]} is not running")
        return found

    async def _binds(self, container: str) -> dict[str, str]:
        """The container's bind mounts as it was made: path inside -> host path."""

        def binds(api: object) -> list[str]:
            info = api.inspect_container(container)  # type: ignore[attr-defined]
            return list((info.get("HostConfig") or {}).get("Binds") or [])

        out: dict[str, str] = {}
        for bind in await self._engine.call(binds):
            host, _, rest = bind.partition(":")
            out[rest.split(":", 1)[0]] = host
        return out

    async def _instance_dir(self, container: str) -> Path:
        found = (await self._binds(container)).get(PLUG_TARGET)
        if found is None:
            raise NotFound(f"container {container[:12]} was made without a plug directory")
        return Path(found)

    async def plug(self, container: str, host_path: str, path: str) -> None:
        await self.share()
        where = await self._instance_dir(container)
        pid = await self._pid(container)
        staged = where / slot(path)
        staged.mkdir(exist_ok=True)
        listed = await self._run("findmnt", "-n", "--mountpoint", str(staged), check=False)
        if not listed.stdout.strip():
            await self._run("mount", "--bind", host_path, str(staged))
        inside = f"{PLUG_TARGET}/{slot(path)}"
        try:
            await self._run(sys.executable, "-m", NSMOUNT, str(pid), "plug", inside, path)
        except BaseException:
            await self._unstage(staged)  # not plugged: the host side goes too
            raise

    async def unplug(self, container: str, path: str) -> None:
        where = await self._instance_dir(container)
        pid = await self._pid(container)
        await self._run(sys.executable, "-m", NSMOUNT, str(pid), "unplug", path)
        await self._unstage(where / slot(path))

    async def unstage(self, instance_id: str, path: str) -> None:
        await self._unstage(self.plug_root / instance_id / slot(path))

    async def _unstage(self, staged: Path) -> None:
        listed = await self._run("findmnt", "-n", "--mountpoint", str(staged), check=False)
        if listed.stdout.strip():
            await self._run("umount", str(staged))
        if staged.is_dir():
            staged.rmdir()

    async def prune(self, keep: Collection[str]) -> int:
        if not self.plug_root.is_dir():
            return 0
        gone = 0
        for folder in self.plug_root.iterdir():
            if not folder.is_dir() or folder.name in keep:
                continue
            for staged in folder.iterdir():
                await self._run("umount", "-l", str(staged), check=False)
                staged.rmdir()
            folder.rmdir()
            gone += 1
        return gone

    async def mounted(self, container: str) -> dict[str, str]:
        """The volumes bound when the container was made (path -> host mount point): the
        engine binds them again at every start, attached or not any more."""
        binds = await self._binds(container)
        binds.pop(PLUG_TARGET, None)
        return binds
