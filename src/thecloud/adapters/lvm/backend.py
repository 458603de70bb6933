"""The StorageBackend on LVM, for production hosts: one logical volume with ext4 per volume.

Layout. Every volume is the LV `tc-vol-<id as 32 hex digits>` of one volume group (thin in
`thin_pool` when one is configured, else a plain linear LV), formatted ext4 (no reserved blocks:
the tenant gets the size it asked for) and mounted at `<mount_root>/<volume id>`. Every
snapshot is the LV `tc-snap-<32 hex>`. Names carry the whole id, so `volumes()` and
`snapshots()` map LVs back to ids; other LVs of the group are never touched.

Snapshots. `lvcreate -s` suspends the origin with the filesystem locked (device-mapper freezes
it and flushes the journal, then resumes), so the snapshot is consistent without a userspace
`fsfreeze` — fsfreeze(8) says so for device-mapper devices, and on kernels before 6.6 a freeze
held from userspace makes that suspend fail with EBUSY, because the two freezes do not nest.
 - Thin pool (recommended): snapshots and restores are copy-on-write, cost no space up front,
   and are independent of their origin (a volume can be deleted while its snapshots live on).
   Restored volumes are made without the activation-skip flag, so they come back on boot.
 - Classic: a copy-on-write store of 100%ORIGIN (LVM adds the exception metadata, so it can
   never overflow), which reserves the origin's size in the group and slows the origin's
   writes while it exists. A restore copies it into a new LV with dd. Classic snapshots die
   with their origin, so deleting a volume that still has some is refused (Conflict).
 Either way the restored filesystem is checked (e2fsck -fy) and given a new UUID (tune2fs -U
 random) so that it and its origin can be mounted at once; the LV carries the tag
 `tc_restoring` until that is done, so a restore interrupted by a crash is finished on retry.

Encryption is not offered: it would need dm-crypt (LUKS) between the LV and the filesystem,
with keys from the platform's key hierarchy; that could come later.

Every host command goes through the CommandRunner (so a privileged helper or `sudo` can run
them, and tests can fake them). Operations on one volume are serialised within the process.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from thecloud.domain.errors import (
    BackendUnavailable,
    ConfigurationError,
    Conflict,
    InvalidInput,
    not_found,
)
from thecloud.ports.storage import CommandResult, CommandRunner, VolumeUsage

VOLUME_PREFIX = "tc-vol-"
SNAPSHOT_PREFIX = "tc-snap-"
RESTORING_TAG = "tc_restoring"
GIB = 1 << 30
_LVM_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_COMMAND_NOT_FOUND = 127
_BLKID_NOTHING_FOUND = 2
_FINDMNT_NOTHING_FOUND = 1
_E2FSCK_FIXED = frozenset({0, 1, 2})  # clean; errors corrected; corrected (reboot advised)
_LV_MISSING = "Failed to find logical volume"
INSTALL_LVM = "install the LVM tools (apt-get install lvm2)"
INSTALL_E2FSPROGS = "install e2fsprogs (apt-get install e2fsprogs)"


def _hex_of(kind: str, ident: str) -> str:
    """The id as 32 lowercase hex digits; only canonical UUIDs (what the platform makes)."""
    try:
        parsed = uuid.UUID(ident)
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(f"{kind} id {ident!r} is not a UUID") from None
    if str(parsed) != ident:
        raise InvalidInput(f"{kind} id {ident!r} is not a canonical lowercase UUID")
    return parsed.hex


def volume_lv(volume_id: str) -> str:
    """The LV name of a volume."""
    return VOLUME_PREFIX + _hex_of("volume", volume_id)


def snapshot_lv(snapshot_id: str) -> str:
    """The LV name of a snapshot."""
    return SNAPSHOT_PREFIX + _hex_of("snapshot", snapshot_id)


def _id_of(lv_name: str, prefix: str) -> str | None:
    """The id an LV name stands for, or None when the LV is not one of ours."""
    if not lv_name.startswith(prefix):
        return None
    digits = lv_name[len(prefix) :]
    if not _HEX32.fullmatch(digits):
        return None
    return str(uuid.UUID(hex=digits))


def _bytes(text: str, what: str) -> int:
    """A size LVM printed with `--units b --nosuffix` ("1073741824", "1073741824.00", "1G"?)."""
    cleaned = text.strip().rstrip("Bb")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BackendUnavailable(f"cannot read {what} from LVM's output {text!r}") from None
    if not value.is_finite() or value < 0:
        raise BackendUnavailable(f"cannot read {what} from LVM's output {text!r}")
    return int(value)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _said(result: CommandResult) -> str:
    return (result.stderr.strip() or result.stdout.strip()) or f"exit status {result.returncode}"


@dataclass(frozen=True, slots=True)
class LvInfo:
    size_bytes: int
    tags: frozenset[str]


class LvmBackend:
    """Volumes as LVs of `volume_group` (thin in `thin_pool` when given), mounted under
    `mount_root`. No encryption (dm-crypt could come later)."""

    name = "lvm"
    encryption = False

    def __init__(
        self,
        runner: CommandRunner,
        volume_group: str,
        mount_root: Path,
        thin_pool: str | None = None,
    ) -> None:
        for label, value in (("volume group", volume_group), ("thin pool", thin_pool)):
            if value is not None and not _LVM_NAME.fullmatch(value):
                raise ConfigurationError(
                    f"{label} name {value!r} is not a valid LVM name ([A-Za-z0-9+_.-], "
                    "not starting with '-')"
                )
        self._runner = runner
        self.volume_group = volume_group
        self.thin_pool = thin_pool
        self.mount_root = Path(mount_root)
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ the port

    async def check(self) -> None:
        vg = self.volume_group
        found = await self._probe("vgs", "--noheadings", "-o", "vg_name", vg)
        if found.returncode != 0 or found.stdout.split() != [vg]:
            if "/dev/mapper/control" in found.stderr:
                raise BackendUnavailable(
                    "device-mapper is not available on this host (no /dev/mapper/control): "
                    "load it with `modprobe dm_mod`; LVM cannot work without it"
                )
            raise BackendUnavailable(f"{self._vg_missing()} ({_said(found)})")
        if self.thin_pool is not None:
            pool = f"{vg}/{self.thin_pool}"
            make = f"lvcreate --type thin-pool -L <size> -n {self.thin_pool} {vg}"
            attrs = await self._probe("lvs", "--noheadings", "-o", "lv_attr", pool)
            if attrs.returncode != 0:
                raise BackendUnavailable(
                    f"thin pool {pool} not found: create it with `{make}` ({_said(attrs)})"
                )
            if not attrs.stdout.strip().startswith("t"):
                raise BackendUnavailable(
                    f"{pool} is not a thin pool (attributes {attrs.stdout.strip()!r}): "
                    f"configure a thin pool, made with `{make}`"
                )
        mkfs = await self._probe("mkfs.ext4", "-V")
        if mkfs.returncode != 0:
            raise BackendUnavailable(f"mkfs.ext4 does not run: {INSTALL_E2FSPROGS} ({_said(mkfs)})")

    async def create(self, volume_id: str, size_gb: int, encrypted: bool = False) -> str:
        if encrypted:
            raise InvalidInput("encrypted volumes need dm-crypt, not available with this backend")
        if isinstance(size_gb, bool) or not isinstance(size_gb, int) or size_gb < 1:
            raise InvalidInput(f"a volume's size is a whole number of GiB >= 1, not {size_gb!r}")
        name = volume_lv(volume_id)
        async with self._locked(name):
            info = await self._lv_info(name)
            if info is None:
                await self._lvcreate_volume(name, size_gb)
            else:
                if info.size_bytes < size_gb * GIB:
                    raise Conflict(
                        f"volume {volume_id} already exists with {info.size_bytes} bytes, "
                        f"less than the {size_gb} GiB asked for"
                    )
                await self._activate(name)
            await self._format(name)
            return await self._mount(volume_id, name)

    async def mountpoint(self, volume_id: str) -> str:
        name = volume_lv(volume_id)
        async with self._locked(name):
            info = await self._lv_info(name)
            if info is None:
                raise not_found("volume", volume_id)
            if RESTORING_TAG in info.tags:
                raise Conflict(f"volume {volume_id} is still being restored: retry the restore")
            mp = self._mp(volume_id)
            if not await self._mounted(name, mp):
                await self._activate(name)
                await self._mount(volume_id, name)
            return mp

    async def delete(self, volume_id: str) -> None:
        name = volume_lv(volume_id)
        mp = self._mp(volume_id)
        async with self._locked(name):
            info = await self._lv_info(name)
            if info is not None:
                await self._refuse_if_classic_snapshots(volume_id, name)
            if await self._mounted(name, mp):
                await self._umount(mp)
            if info is not None:
                await self._lvremove(name)
            await self._rmdir(mp)

    async def snapshot(self, volume_id: str, snapshot_id: str) -> None:
        origin = volume_lv(volume_id)
        snap = snapshot_lv(snapshot_id)
        async with self._locked(origin):
            if await self._lv_info(snap) is not None:
                return
            if await self._lv_info(origin) is None:
                raise not_found("volume", volume_id)
            if self.thin_pool is not None:
                argv: tuple[str, ...] = ("lvcreate", "-s", "-n", snap, self._ref(origin))
            else:
                argv = ("lvcreate", "-s", "-l", "100%ORIGIN", "-n", snap, self._ref(origin))
            await self._allocate(argv, f"a snapshot of volume {volume_id}")

    async def delete_snapshot(self, snapshot_id: str) -> None:
        snap = snapshot_lv(snapshot_id)
        async with self._locked(snap):
            await self._lvremove(snap)

    async def restore(self, snapshot_id: str, volume_id: str) -> str:
        snap = snapshot_lv(snapshot_id)
        name = volume_lv(volume_id)
        async with self._locked(name):
            info = await self._lv_info(name)
            if info is None:
                if await self._lv_info(snap) is None:
                    raise not_found("snapshot", snapshot_id)
                await self._lvcreate_restore(snap, name, volume_id)
                pending = True
            else:
                pending = RESTORING_TAG in info.tags
                await self._activate(name)
                if pending and self.thin_pool is None and await self._lv_info(snap) is None:
                    raise not_found("snapshot", snapshot_id)  # the copy cannot be finished
            if pending:
                if self.thin_pool is None:
                    await self._copy(snap, name)
                await self._new_uuid(name)
                await self._run("lvchange", "--deltag", RESTORING_TAG, self._ref(name))
            return await self._mount(volume_id, name)

    async def usage(self, volume_id: str) -> VolumeUsage:
        mp = await self.mountpoint(volume_id)  # df of an unmounted dir would measure its parent
        result = await self._run("df", "-B1", "--output=size,used", mp)
        lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
        if len(lines) < 2 or len(lines[-1]) != 2 or not all(f.isdigit() for f in lines[-1]):
            raise BackendUnavailable(f"unexpected output of df for {mp}: {result.stdout!r}")
        size, used = (int(field) for field in lines[-1])
        return VolumeUsage(size_bytes=size, used_bytes=used)

    async def volumes(self) -> Sequence[str]:
        return await self._ids(VOLUME_PREFIX)

    async def snapshots(self) -> Sequence[str]:
        return await self._ids(SNAPSHOT_PREFIX)

    # ------------------------------------------------------------------ helpers

    async def sweep(self, older_than: timedelta) -> int:  # noqa: ARG002 - nothing half-made
        """LVM makes an LV whole or not at all, and restores carry a tag until finished
        (`mountpoint` refuses those, a retry finishes them): nothing to sweep."""
        return 0

    def _ref(self, name: str) -> str:
        return f"{self.volume_group}/{name}"

    def _device(self, name: str) -> str:
        return f"/dev/{self.volume_group}/{name}"

    def _mapper(self, name: str) -> str:
        """The device-mapper node (what findmnt reports): dashes in each name doubled."""
        return f"/dev/mapper/{self.volume_group.replace('-', '--')}-{name.replace('-', '--')}"

    def _mp(self, volume_id: str) -> str:
        return str(self.mount_root / volume_id)

    def _vg_missing(self) -> str:
        vg = self.volume_group
        return (
            f"volume group {vg!r} not found: create it (pvcreate /dev/<disk> && "
            f"vgcreate {vg} /dev/<disk>) or configure the volume group that holds the volumes"
        )

    @asynccontextmanager
    async def _locked(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            yield

    async def _run(self, *argv: str) -> CommandResult:
        return await self._runner.run(*argv, check=True)

    async def _probe(self, *argv: str) -> CommandResult:
        """Run a command whose failure check() explains; a missing tool names its package."""
        try:
            result = await self._runner.run(*argv, check=False)
        except BackendUnavailable as exc:
            raise BackendUnavailable(
                f"{argv[0]} does not run: {self._package(argv[0])} ({exc.message})"
            ) from exc
        if result.returncode == _COMMAND_NOT_FOUND:
            raise BackendUnavailable(
                f"{argv[0]} not found: {self._package(argv[0])} ({_said(result)})"
            )
        return result

    @staticmethod
    def _package(tool: str) -> str:
        return INSTALL_E2FSPROGS if tool.startswith(("mkfs", "e2fsck", "tune2fs")) else INSTALL_LVM

    async def _lv_info(self, name: str) -> LvInfo | None:
        """Size and tags of one LV of the group, or None when it does not exist."""
        result = await self._runner.run(
            "lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_size,lv_tags",
            self._ref(name), check=False,
        )  # fmt: skip
        if result.returncode != 0:
            if _LV_MISSING in result.stderr:
                return None
            if "Volume group" in result.stderr and "not found" in result.stderr:
                raise BackendUnavailable(self._vg_missing())
            raise BackendUnavailable(f"lvs {self._ref(name)} failed: {_said(result)}")
        fields = _first_line(result.stdout).split()
        if not fields:
            raise BackendUnavailable(f"lvs printed nothing for {self._ref(name)}")
        tags = frozenset(t for t in fields[1].split(",") if t) if len(fields) > 1 else frozenset()
        return LvInfo(size_bytes=_bytes(fields[0], f"the size of {name}"), tags=tags)

    async def _allocate(self, argv: tuple[str, ...], what: str) -> None:
        """Run an lvcreate; running out of space is a Conflict that says where to add room."""
        try:
            await self._run(*argv)
        except BackendUnavailable as exc:
            if "free space" in exc.message:
                where = (
                    f"thin pool {self._ref(self.thin_pool)}"
                    if self.thin_pool is not None
                    else f"volume group {self.volume_group}"
                )
                raise Conflict(
                    f"no room for {what} in {where}: add space (vgextend / lvextend) or "
                    f"delete volumes or snapshots ({exc.message})"
                ) from exc
            raise

    async def _lvcreate_volume(self, name: str, size_gb: int) -> None:
        wipe = ("-y", "--wipesignatures", "y")
        if self.thin_pool is not None:
            pool = self._ref(self.thin_pool)
            argv: tuple[str, ...] = ("lvcreate", *wipe, "-V", f"{size_gb}G", "-T", pool, "-n", name)
        else:
            argv = ("lvcreate", *wipe, "-L", f"{size_gb}G", "-n", name, self.volume_group)
        await self._allocate(argv, f"a {size_gb} GiB volume")

    async def _lvcreate_restore(self, snap: str, name: str, volume_id: str) -> None:
        """The new LV of a restore, tagged until its filesystem has its own UUID."""
        what = f"volume {volume_id}"
        if self.thin_pool is not None:
            # -kn: no activation-skip flag (thin snapshots get one), so it is active after boot.
            await self._allocate(
                ("lvcreate", "-s", "-kn", "--addtag", RESTORING_TAG, "-n", name, self._ref(snap)),
                what,
            )
            return
        # A classic snapshot's lv_size is its copy-on-write store; the data is the origin's size.
        result = await self._run(
            "lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "origin_size",
            self._ref(snap),
        )  # fmt: skip
        size = _bytes(_first_line(result.stdout), f"the origin size of {snap}")
        if size <= 0:
            raise BackendUnavailable(f"{self._ref(snap)} has no origin size: is it a snapshot?")
        await self._allocate(
            (
                "lvcreate", "-y", "--wipesignatures", "y", "--addtag", RESTORING_TAG,
                "-L", f"{size}b", "-n", name, self.volume_group,
            ),
            what,
        )  # fmt: skip

    async def _copy(self, snap: str, name: str) -> None:
        """Classic restore: the snapshot's blocks into the new LV (again, after a crash)."""
        await self._run("lvchange", "-ay", "-K", self._ref(snap))
        await self._run(
            "dd", f"if={self._device(snap)}", f"of={self._device(name)}",
            "bs=4M", "conv=fsync", "status=none",
        )  # fmt: skip

    async def _new_uuid(self, name: str) -> None:
        device = self._device(name)
        checked = await self._runner.run("e2fsck", "-fy", device, check=False)
        if checked.returncode not in _E2FSCK_FIXED:
            raise BackendUnavailable(
                f"e2fsck could not repair the filesystem restored into {device} "
                f"(exit status {checked.returncode}; the snapshot may be damaged): {_said(checked)}"
            )
        await self._run("tune2fs", "-U", "random", device)

    async def _activate(self, name: str) -> None:
        """Activate an LV that exists (a no-op when active; needed after a reboot)."""
        await self._run("lvchange", "-ay", self._ref(name))

    async def _format(self, name: str) -> None:
        device = self._device(name)
        probe = await self._runner.run(
            "blkid", "-p", "-o", "value", "-s", "TYPE", device, check=False
        )
        fstype = probe.stdout.strip()
        if probe.returncode == 0 and fstype == "ext4":
            return
        if probe.returncode == 0 and fstype:
            raise Conflict(
                f"{device} holds a {fstype} filesystem, not ext4: inspect it; "
                "the backend does not format over another filesystem"
            )
        if probe.returncode not in (0, _BLKID_NOTHING_FOUND):
            raise BackendUnavailable(f"blkid could not probe {device}: {_said(probe)}")
        await self._run("mkfs.ext4", "-q", "-F", "-m", "0", device)

    async def _mounted(self, name: str, mp: str) -> bool:
        """Whether the LV is mounted at mp; something else mounted there is a Conflict."""
        result = await self._runner.run(
            "findmnt", "-n", "-o", "SOURCE", "--mountpoint", mp, check=False
        )
        if result.returncode == _FINDMNT_NOTHING_FOUND:
            return False
        if result.returncode != 0:
            raise BackendUnavailable(f"findmnt {mp} failed: {_said(result)}")
        sources = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        if not sources:
            return False
        if any(source in (self._device(name), self._mapper(name)) for source in sources):
            return True
        raise Conflict(
            f"{mp} has {sources[-1]} mounted, not {self._device(name)}: unmount it "
            "(the mount point belongs to the volume)"
        )

    async def _mount(self, volume_id: str, name: str) -> str:
        mp = self._mp(volume_id)
        if await self._mounted(name, mp):
            return mp
        await self._run("mkdir", "-p", mp)
        await self._run("mount", self._device(name), mp)
        return mp

    async def _umount(self, mp: str) -> None:
        result = await self._runner.run("umount", mp, check=False)
        if result.returncode == 0 or "not mounted" in result.stderr:
            return
        if "busy" in result.stderr:
            raise Conflict(
                f"the volume at {mp} is in use (target is busy): stop the instances that "
                "mount it, then delete it again"
            )
        raise BackendUnavailable(f"umount {mp} failed: {_said(result)}")

    async def _lvremove(self, name: str) -> None:
        result = await self._runner.run("lvremove", "-y", self._ref(name), check=False)
        if result.returncode == 0 or _LV_MISSING in result.stderr:
            return
        if "in use" in result.stderr:
            raise Conflict(
                f"{self._ref(name)} is still open (an instance's bind mount?): stop what "
                f"uses it, then delete it again ({_said(result)})"
            )
        raise BackendUnavailable(f"lvremove {self._ref(name)} failed: {_said(result)}")

    async def _rmdir(self, mp: str) -> None:
        result = await self._runner.run("rmdir", mp, check=False)
        if result.returncode == 0 or "No such file or directory" in result.stderr:
            return
        raise BackendUnavailable(f"could not remove the mount point {mp}: {_said(result)}")

    async def _refuse_if_classic_snapshots(self, volume_id: str, name: str) -> None:
        """`lvremove -y` of an origin silently removes its classic snapshots: refuse instead."""
        result = await self._run(
            "lvs", "--noheadings", "-o", "lv_name,lv_attr", "--select", f"origin={name}",
            self.volume_group,
        )  # fmt: skip
        classic = []
        for line in result.stdout.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[1].startswith("s"):
                classic.append(_id_of(fields[0], SNAPSHOT_PREFIX) or fields[0])
        if classic:
            raise Conflict(
                f"volume {volume_id} still has snapshots {', '.join(sorted(classic))}, which "
                "are classic LVM snapshots and would be removed with it: delete them first "
                "(snapshots in a thin pool outlive their volume)"
            )

    async def _ids(self, prefix: str) -> list[str]:
        result = await self._run("lvs", "--noheadings", "-o", "lv_name", self.volume_group)
        ids = (_id_of(line.strip(), prefix) for line in result.stdout.splitlines())
        return sorted(ident for ident in ids if ident is not None)
