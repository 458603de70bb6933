"""Root filesystem tarballs: a BusyBox tree written directly, and Debian trees via mmdebstrap."""

from __future__ import annotations

import functools
import io
import re
import subprocess  # noqa: S404 - runs the busybox binary to list its applets
import tarfile
from pathlib import Path, PurePosixPath

from thecloud.adapters.docker.recipes import SUITE, Recipe
from thecloud.domain.errors import BackendUnavailable

_DIRECTORIES = {
    "bin": 0o755,
    "sbin": 0o755,
    "usr": 0o755,
    "usr/bin": 0o755,
    "usr/sbin": 0o755,
    "etc": 0o755,
    "root": 0o700,
    "home": 0o755,
    "tmp": 0o1777,
    "var": 0o755,
    "var/tmp": 0o1777,
    "run": 0o755,
    "dev": 0o755,
    "proc": 0o555,
    "sys": 0o555,
}
# Documentation, manuals and translations stay out of the images (copyright notices stay in).
_DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
)
_UPSTREAM = re.compile(r"^(?:\d+:)?(\d[0-9.]*\d|\d)")


def _busybox_files(version: str) -> dict[str, str]:
    return {
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        "etc/group": "root:x:0:\nnogroup:x:65534:\n",
        "etc/hostname": "busybox\n",
        "etc/os-release": f'NAME="BusyBox"\nID=busybox\nVERSION_ID="{version}"\n',
    }


def busybox_rootfs(binary: Path, version: str, tarball: Path) -> int:
    """Write a BusyBox root filesystem (one symlink per applet) to `tarball`; the applet count."""
    applets, stat = busybox_applets(binary), binary.stat()
    entry = functools.partial(_entry, mtime=int(stat.st_mtime))
    with tarfile.open(tarball, "w") as tar:
        for path in _directories(applets):
            tar.addfile(entry(path, tarfile.DIRTYPE, _DIRECTORIES.get(path, 0o755)))
        with binary.open("rb") as data:
            tar.addfile(entry("bin/busybox", tarfile.REGTYPE, 0o755, stat.st_size), data)
        for applet in applets:
            tar.addfile(entry(applet, tarfile.SYMTYPE, 0o777, link="/bin/busybox"))
        for path, text in _busybox_files(version).items():
            body = text.encode()
            tar.addfile(entry(path, tarfile.REGTYPE, 0o644, len(body)), io.BytesIO(body))
    return len(applets)


def busybox_applets(binary: Path) -> list[str]:
    """The applets' install paths ("usr/bin/awk", ...), from `busybox --list-full`."""
    listing = subprocess.run(  # noqa: S603
        [str(binary), "--list-full"], capture_output=True, text=True, check=False
    ).stdout
    applets = sorted({line.strip().lstrip("/") for line in listing.splitlines() if line.strip()})
    applets = [path for path in applets if path != "bin/busybox"]
    if not applets:
        raise BackendUnavailable(f"{binary} --list-full listed no applets")
    return applets


def _directories(applets: list[str]) -> list[str]:
    parents = {str(parent) for path in applets for parent in PurePosixPath(path).parents}
    return sorted((parents - {"."}) | set(_DIRECTORIES))


def _entry(
    path: str, kind: bytes, mode: int, size: int = 0, *, mtime: int, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.mode, info.size, info.mtime, info.linkname = kind, mode, size, mtime, link
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def mmdebstrap_command(
    recipe: Recipe, workdir: Path, tarball: Path, mirrors: tuple[str, ...]
) -> list[str]:
    """The mmdebstrap command line for `recipe`; writes the recipe's files into `workdir`."""
    command = ["mmdebstrap", "--variant=minbase", "--mode=auto", "--format=tar"]
    command += [f"--dpkgopt={option}" for option in _DPKG_OPTIONS]
    if recipe.packages:
        command.append(f"--include={','.join(recipe.packages)}")
    for index, (inside, text) in enumerate(recipe.files.items()):
        outside = workdir / f"file-{index}"
        outside.write_text(text)
        command.append(f"--customize-hook=upload {outside} {inside}")
        command.append(f'--customize-hook=chmod 0755 "$1{inside}"')
    command += [f"--customize-hook={hook}" for hook in recipe.hooks]
    return [*command, SUITE, str(tarball), *mirrors]


def debian_version(tarball: Path, package: str) -> str:
    """The upstream version of `package` in the tree (the Debian release if no package)."""
    with tarfile.open(tarball) as tar:
        if not package:
            return _member_text(tar, "etc/debian_version").strip()
        status = _member_text(tar, "var/lib/dpkg/status")
    for stanza in status.split("\n\n"):
        fields = dict(_fields(stanza))
        if fields.get("Package") == package and "installed" in fields.get("Status", ""):
            return upstream_version(fields.get("Version", ""))
    raise BackendUnavailable(f"the built tree has no installed package {package}")


def _fields(stanza: str) -> list[tuple[str, str]]:
    pairs = (line.partition(":") for line in stanza.splitlines() if not line.startswith(" "))
    return [(key, value.strip()) for key, _, value in pairs]


def upstream_version(version: str) -> str:
    """A Debian version's upstream part ("1:10.11.6-0+deb12u1" -> "10.11.6")."""
    match = _UPSTREAM.match(version)
    return match.group(1) if match else version


def _member_text(tar: tarfile.TarFile, path: str) -> str:
    for name in (f"./{path}", path):
        try:
            member = tar.extractfile(name)
        except KeyError:
            continue
        if member is not None:
            return member.read().decode("utf-8", "replace")
    raise BackendUnavailable(f"the built tree has no /{path}")
