"""The offline image builder against the real Docker Engine: the busybox image.

The Debian-built images need the Debian mirror and 15-60 s each; they are built by hand
(`thecloud images build NAME`), not here.
"""

from __future__ import annotations

import asyncio

import docker
import pytest

from tests.integration.docker_support import (
    engine_api,
    exited,
    spec,
    started,
)
from thecloud.adapters.docker import DockerRuntime
from thecloud.adapters.docker.images import build, busybox_binary, busybox_version
from thecloud.domain.errors import BackendUnavailable, InvalidInput


async def test_busybox_build_twice_builds_once(docker_runtime: DockerRuntime) -> None:
    version = busybox_version(busybox_binary())
    previous = await docker_runtime.image(f"thecloud/busybox:{version}")
    lines: list[str] = []
    [first] = await build(docker_runtime, ["busybox"], lines.append, force=True)
    [second] = await build(docker_runtime, ["busybox"], lines.append)
    assert (first.built, second.built) == (True, False)
    assert first.reference == second.reference == f"thecloud/busybox:{version}"
    assert (second.os, second.version) == ("busybox", version)
    assert any("skipped" in line for line in lines)
    image = await docker_runtime.image(first.reference)
    assert image is not None and image.labels["thecloud.version"] == version
    if previous is not None and previous.id != image.id:
        await asyncio.to_thread(_remove_image_if_unused, previous.id)


def _remove_image_if_unused(image_id: str) -> None:
    api = engine_api()
    try:
        api.remove_image(image_id)
    except docker.errors.APIError:
        pass  # still used by a container of someone else
    finally:
        api.close()


async def test_busybox_image_has_applets_users_and_sticky_tmp(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    script = "grep ^root: /etc/passwd; stat -c %a /tmp; wget --help 2>&1 | head -n 1"
    state = await started(docker_runtime, spec(busybox_image, "sh", "-c", script))
    await exited(docker_runtime, state.id)
    texts = [line.text for line in await docker_runtime.logs(state.id)]
    assert texts[:2] == ["root:x:0:0:root:/root:/bin/sh", "1777"]
    assert texts[2].startswith("BusyBox v")


async def test_build_of_an_unknown_image_names_the_catalog(docker_runtime: DockerRuntime) -> None:
    with pytest.raises(InvalidInput, match="busybox"):
        await build(docker_runtime, ["no-such-image"], lambda _line: None)


async def test_a_pull_from_an_unreachable_registry_says_so(docker_runtime: DockerRuntime) -> None:
    said: list[str] = []
    with pytest.raises(BackendUnavailable, match="127.0.0.1:1"):
        await docker_runtime.pull("127.0.0.1:1/nothing:1", said.append)  # port 1: refused
    assert await docker_runtime.image("127.0.0.1:1/nothing:1") is None
