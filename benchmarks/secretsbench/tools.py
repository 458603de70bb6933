"""External tools: find a binary, install its Debian package when missing, its version."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from .model import BenchError
from .settings import PG_BIN_GLOBS


def ensure_apt_package(binary: str, package: str, search_globs: tuple[str, ...] = ()) -> str:
    """Return the path of ``binary``, installing Debian ``package`` with apt-get if missing."""
    found = find_binary(binary, search_globs)
    if found:
        return found
    print(f"[setup] '{binary}' not found: installing Debian package '{package}' with apt-get")
    if os.geteuid() != 0:
        raise BenchError(f"'{binary}' is missing; install it with: apt-get install -y {package}")
    apt_install(package)
    found = find_binary(binary, search_globs)
    if not found:
        raise BenchError(f"apt-get could not install '{package}' (needed for '{binary}')")
    return found


def apt_install(package: str) -> None:
    """apt-get install ``package``, refreshing the package lists once if that fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)


def find_binary(binary: str, search_globs: tuple[str, ...]) -> str | None:
    """Find ``binary`` in the directories matching ``search_globs`` (in order), else on PATH."""
    for pattern in search_globs:
        for directory in sorted(glob.glob(pattern), reverse=True):  # newest version first
            candidate = Path(directory) / binary
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which(binary)


def postgres_bindir() -> Path:
    """Return the directory of PostgreSQL's server binaries (15 preferred), installing them."""
    return Path(ensure_apt_package("initdb", "postgresql", PG_BIN_GLOBS)).parent


def tool_version(argv: list[str]) -> str:
    """Return the first line a tool prints about its version ('?' when it cannot run)."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"
