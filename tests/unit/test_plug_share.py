"""The plug root is made a shared mount once, even when launches ask for it all at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from thecloud.adapters.docker.mounts import DockerVolumeMounter
from thecloud.ports.storage import CommandResult


class MountTable:
    """findmnt and mount over a stack of propagation flags per mount point; every command
    yields to the loop first, as a real subprocess does."""

    def __init__(self, stack: list[str] | None = None) -> None:
        self.stack = list(stack or [])
        self.commands: list[tuple[str, ...]] = []

    async def run(self, *argv: str, check: bool = True, stdin: str | None = None) -> CommandResult:
        await asyncio.sleep(0)
        self.commands.append(argv)
        if argv[0] == "findmnt":
            if not self.stack:
                return CommandResult(1, "", "")
            return CommandResult(0, "".join(f"{flag}\n" for flag in self.stack), "")
        if argv[:2] == ("mount", "--bind"):
            self.stack.append("private")
        elif argv[:2] == ("mount", "--make-rshared"):
            self.stack[-1] = "shared"
        return CommandResult(0, "", "")


def _mounter(table: MountTable, root: Path) -> DockerVolumeMounter:
    mounter = DockerVolumeMounter(table, root)  # type: ignore[arg-type]
    mounter.close()  # no engine calls here
    return mounter


async def test_launches_at_once_bind_the_plug_root_once_and_share_it(tmp_path: Path) -> None:
    table = MountTable()
    mounter = _mounter(table, tmp_path / "plug")
    await asyncio.gather(*(mounter.plug_dir(f"i-{n}") for n in range(6)))
    assert table.stack == ["shared"]
    assert [c[:2] for c in table.commands] == [
        ("findmnt", "-n"), ("mount", "--bind"), ("mount", "--make-rshared"),
    ]  # fmt: skip


async def test_a_private_mount_left_on_top_by_a_crash_is_made_shared(tmp_path: Path) -> None:
    table = MountTable(["shared", "private"])  # a stack an older version could leave
    await _mounter(table, tmp_path / "plug").share()
    assert table.stack == ["shared", "shared"]
    assert ("mount", "--bind", str((tmp_path / "plug").resolve())) not in [
        c[:3] for c in table.commands
    ]


async def test_an_existing_shared_mount_is_left_alone(tmp_path: Path) -> None:
    table = MountTable(["shared"])
    await _mounter(table, tmp_path / "plug").share()
    assert [c[0] for c in table.commands] == ["findmnt"]
