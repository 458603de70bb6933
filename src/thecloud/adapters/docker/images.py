"""The offline image builder: catalog images made from busybox-static or mmdebstrap, no registry.

`build` skips an image whose reference already exists (unless forced) and reports what it did
through a Progress callback; the images carry their os and version as labels.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess  # noqa: S404 - runs the host's package tools with fixed arguments
import tempfile
from dataclasses import dataclass
from pathlib import Path

from thecloud.adapters.docker.recipes import (
    LABEL_OS,
    LABEL_VERSION,
    MIRRORS,
    RECIPES,
    SUITE,
    Recipe,
)
from thecloud.adapters.docker.rootfs import (
    busybox_rootfs,
    debian_version,
    mmdebstrap_command,
)
from thecloud.domain.errors import BackendUnavailable, InvalidInput
from thecloud.ports.compute import ContainerRuntime, Progress

_BANNER = re.compile(r"BusyBox v(\d+(?:\.\d+)+)")


@dataclass(frozen=True, slots=True)
class BuiltImage:
    name: str
    reference: str
    os: str
    version: str
    built: bool  # False: the reference existed already and was left as it was


async def build(
    runtime: ContainerRuntime,
    names: list[str],
    progress: Progress,
    force: bool = False,
    mirrors: tuple[str, ...] = MIRRORS,
) -> list[BuiltImage]:
    """Build the named catalog images (all of them when `names` is empty), in order."""
    recipes = select(names)
    return [await _build_one(runtime, recipe, progress, force, mirrors) for recipe in recipes]


async def discover(runtime: ContainerRuntime) -> list[BuiltImage]:
    """The catalog images already on the engine (those `build` would skip)."""
    found: list[BuiltImage] = []
    for recipe in RECIPES.values():
        reference = await _reference(recipe)
        info = await runtime.image(reference) if reference else None
        if reference and info is not None:
            version = info.labels.get(LABEL_VERSION, "")
            found.append(BuiltImage(recipe.name, reference, recipe.os, version, built=False))
    return found


async def _reference(recipe: Recipe) -> str | None:
    if recipe.kind != "busybox":
        return recipe.reference()
    try:
        binary = await asyncio.to_thread(busybox_binary)
        return recipe.reference(await asyncio.to_thread(busybox_version, binary))
    except BackendUnavailable:
        return None  # no busybox-static here: busybox cannot have been built by this host


def select(names: list[str]) -> list[Recipe]:
    unknown = [name for name in names if name not in RECIPES]
    if unknown:
        known = ", ".join(RECIPES)
        raise InvalidInput(f"unknown image {', '.join(unknown)}: the catalog has {known}")
    return [RECIPES[name] for name in names] if names else list(RECIPES.values())


async def _build_one(
    runtime: ContainerRuntime,
    recipe: Recipe,
    progress: Progress,
    force: bool,
    mirrors: tuple[str, ...],
) -> BuiltImage:
    if recipe.kind == "busybox":
        return await _busybox(runtime, recipe, progress, force)
    return await _debian(runtime, recipe, progress, force, mirrors)


async def _existing(
    runtime: ContainerRuntime, recipe: Recipe, reference: str, progress: Progress
) -> BuiltImage | None:
    info = await runtime.image(reference)
    if info is None:
        return None
    version = info.labels.get(LABEL_VERSION, "")
    progress(f"{recipe.name}: {reference} exists (version {version or 'unknown'}), skipped")
    return BuiltImage(recipe.name, reference, recipe.os, version, built=False)


async def _busybox(
    runtime: ContainerRuntime, recipe: Recipe, progress: Progress, force: bool
) -> BuiltImage:
    binary = await asyncio.to_thread(busybox_binary)
    version = await asyncio.to_thread(busybox_version, binary)
    reference = recipe.reference(version)
    if not force and (found := await _existing(runtime, recipe, reference, progress)):
        return found
    progress(f"{recipe.name}: building {reference} from {binary}")
    with tempfile.TemporaryDirectory(prefix="thecloud-image-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        applets = await asyncio.to_thread(busybox_rootfs, binary, version, tarball)
        progress(f"{recipe.name}: root filesystem with {applets} applets; importing")
        await runtime.import_rootfs(tarball, reference, _changes(recipe, version))
    progress(f"{recipe.name}: built {reference}")
    return BuiltImage(recipe.name, reference, recipe.os, version, built=True)


async def _debian(
    runtime: ContainerRuntime,
    recipe: Recipe,
    progress: Progress,
    force: bool,
    mirrors: tuple[str, ...],
) -> BuiltImage:
    reference = recipe.reference()
    if not force and (found := await _existing(runtime, recipe, reference, progress)):
        return found
    if shutil.which("mmdebstrap") is None:
        raise BackendUnavailable(missing_tool("mmdebstrap"))
    progress(f"{recipe.name}: building {reference} with mmdebstrap ({SUITE}, minbase)")
    with tempfile.TemporaryDirectory(prefix="thecloud-image-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        command = mmdebstrap_command(recipe, Path(tmp), tarball, mirrors)
        await _run(command, recipe.name, progress)
        version = await asyncio.to_thread(debian_version, tarball, recipe.version_of)
        progress(f"{recipe.name}: contains version {version}; importing")
        await runtime.import_rootfs(tarball, reference, _changes(recipe, version))
    progress(f"{recipe.name}: built {reference}")
    return BuiltImage(recipe.name, reference, recipe.os, version, built=True)


def _changes(recipe: Recipe, version: str) -> tuple[str, ...]:
    labels = {LABEL_OS: recipe.os, LABEL_VERSION: version}
    env = tuple(f"ENV {item}" for item in recipe.env)
    label = "LABEL " + " ".join(f"{key}={json.dumps(value)}" for key, value in labels.items())
    return (*env, label, f"CMD {json.dumps(list(recipe.cmd))}")


async def _run(command: list[str], name: str, progress: Progress) -> None:
    """Run a build tool, passing each line of its output to `progress`."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None  # noqa: S101 - PIPE was asked for
    tail: list[str] = []
    async for raw in process.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        tail = [*tail[-9:], line]
        progress(f"{name}: {line}")
    if await process.wait() != 0:
        output = "\n".join(tail)
        raise BackendUnavailable(
            f"{command[0]} failed for {name} ({process.returncode}):\n{output}"
        )


def busybox_binary() -> Path:
    """The static busybox of Debian's busybox-static package."""
    try:
        listing = subprocess.run(  # noqa: S603
            ["dpkg-query", "-L", "busybox-static"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BackendUnavailable(missing_tool("busybox-static")) from exc
    paths = [Path(line) for line in listing.splitlines() if line.endswith("/bin/busybox")]
    binary = next((path for path in paths if path.is_file()), None)
    if binary is None:
        raise BackendUnavailable(missing_tool("busybox-static"))
    return binary


def busybox_version(binary: Path) -> str:
    """The version in the binary's banner ("BusyBox v1.35.0 (...)" -> "1.35.0")."""
    banner = subprocess.run(  # noqa: S603
        [str(binary), "--help"], capture_output=True, text=True, check=False
    )
    match = _BANNER.search(banner.stdout + banner.stderr)
    if match is None:
        raise BackendUnavailable(f"{binary} printed no BusyBox version banner")
    return match.group(1)


def missing_tool(package: str) -> str:
    return (
        f"{package} is not installed: run `apt-get install {package}` as root "
        "(scripts/docker.sh installs it)"
    )
