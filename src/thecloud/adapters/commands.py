"""Host commands (losetup, mkfs, mount, lvcreate, ...) through one runner: the CommandRunner
port, so a fake can stand in for it in tests."""

from __future__ import annotations

import asyncio
import shutil

from thecloud.domain.errors import BackendUnavailable
from thecloud.ports.storage import CommandResult


class SubprocessRunner:
    """Runs commands as child processes, off the event loop."""

    def __init__(self, hint: str = "run scripts/setup.sh as root (it installs it)") -> None:
        self._hint = hint

    async def run(self, *argv: str, check: bool = True, stdin: str | None = None) -> CommandResult:
        if shutil.which(argv[0]) is None:
            raise BackendUnavailable(f"{argv[0]} is not installed: {self._hint}")
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        result = CommandResult(
            proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()[:500]
            raise BackendUnavailable(f"{' '.join(argv[:3])} failed ({result.returncode}): {detail}")
        return result
