"""Tearing down a throwaway installation (a test or benchmark server): everything it left on
the host goes — containers, VPC networks, firewall chains, mounted volumes, the pool and the
plug directory, loop devices. A real platform never calls this: its data path and volumes
must outlive a restart of the server."""

from __future__ import annotations

from pathlib import Path

from thecloud.adapters.commands import SubprocessRunner
from thecloud.adapters.docker.network import DockerFabric
from thecloud.adapters.docker.runtime import DockerRuntime
from thecloud.adapters.storage.loop import LoopBackend
from thecloud.ports.compute import LABEL_MANAGED


async def release_installation(installation: str, data_dir: Path) -> None:
    runtime, fabric = DockerRuntime(), DockerFabric(installation)
    try:
        for container in await runtime.list({LABEL_MANAGED: installation}):
            await runtime.remove(container.id)
        for network in await fabric.networks({LABEL_MANAGED: installation}):
            await fabric.remove_network(network.name)
        await fabric.clear()
    finally:
        runtime.close()
        fabric.close()
    root = data_dir / "storage"
    if root.exists():
        run = SubprocessRunner()
        await run.run("umount", "-R", "-l", str(root / "plug"), check=False)
        await LoopBackend(run, root).close()
