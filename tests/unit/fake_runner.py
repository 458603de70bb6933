"""A CommandRunner that plays a small LVM host: volume groups, LVs, filesystems and mounts.

It records every argv and answers the commands the LVM backend uses the way the real tools
do (their output format, exit status and stderr wording), from a simulated state:
volume groups with free space, LVs (linear, thin pool, thin, classic snapshot) with sizes,
tags, activation and the activation-skip flag, filesystems with a UUID and files, the mount
table and directories. It is strict: an argv it does not know fails the test, so a backend
that changes a command is caught. `fail(...)` makes chosen commands fail on demand.

What it models of the real host, because the backend depends on it:
 - `lvcreate -s` of a thin LV makes a snapshot with the activation-skip flag; classic
   snapshots show their copy-on-write store as lv_size and are removed with their origin.
 - after `reboot()` nothing is mounted and only LVs without the skip flag are active.
 - tune2fs refuses a new UUID until e2fsck -f has checked a filesystem mounted since.
 - a linear LV made without `--wipesignatures y` may show the signature of the filesystem
   that last used its extents.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from dataclasses import dataclass, field

from thecloud.domain.errors import BackendUnavailable
from thecloud.ports.storage import CommandResult

GIB = 1 << 30
MIB = 1 << 20
EXTENT = 4 * MIB
HOST_ROOT_SIZE = 100 * GIB  # what df reports for a directory that is not a mount point
FS_OVERHEAD = 0.02  # ext4's share of the device (journal, inode tables)


@dataclass
class Fs:
    fstype: str = "ext4"
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    files: dict[str, str] = field(default_factory=dict)
    mounted_since_check: bool = False


@dataclass
class Lv:
    kind: str  # "linear", "pool", "thin", "snapshot" (classic)
    size: int  # the visible size (a classic snapshot: its origin's)
    origin: str | None = None
    cow: int = 0  # a classic snapshot's copy-on-write store (what lvs shows as lv_size)
    active: bool = True
    skip: bool = False  # the activation-skip flag
    tags: set[str] = field(default_factory=set)
    fs: Fs | None = None


@dataclass
class Vg:
    size: int
    lvs: dict[str, Lv] = field(default_factory=dict)
    stale: Fs | None = None  # the last filesystem on freed extents

    def free(self) -> int:
        used = 0
        for lv in self.lvs.values():
            if lv.kind in ("linear", "pool"):
                used += lv.size
            elif lv.kind == "snapshot":
                used += lv.cow
        return self.size - used


@dataclass
class Failure:
    prefix: tuple[str, ...]
    stderr: str
    returncode: int
    times: int


def _extents(size: int) -> int:
    return -(-size // EXTENT) * EXTENT


def _size(text: str) -> int:
    unit = text[-1]
    number = int(text[:-1])
    if unit == "G":
        return number * GIB
    if unit == "b":
        return number
    raise AssertionError(f"the fake does not know the size {text!r}")


def _human(size: int) -> str:
    return f"{size / GIB:.2f}g"


class FakeRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.vgs: dict[str, Vg] = {}
        self.mounts: dict[str, tuple[str, str]] = {}  # mount point -> (vg, lv)
        self.dirs: set[str] = set()
        self.busy: set[str] = set()  # mount points whose umount says "target is busy"
        self.open_lvs: set[tuple[str, str]] = set()  # LVs still open (bind mounts elsewhere)
        self.missing: set[str] = set()  # tools that are not installed
        self.device_mapper = True
        self.e2fsck_status = 0
        self.failures: list[Failure] = []

    # ------------------------------------------------------------------ set-up and inspection

    def add_vg(self, name: str, size_gb: int = 100) -> Vg:
        self.vgs[name] = Vg(size=size_gb * GIB)
        return self.vgs[name]

    def add_pool(self, vg: str, name: str, size_gb: int = 50) -> Lv:
        pool = Lv(kind="pool", size=size_gb * GIB)
        self.vgs[vg].lvs[name] = pool
        return pool

    def fail(
        self, *prefix: str, stderr: str = "injected failure", returncode: int = 5, times: int = 1
    ) -> None:
        """The next `times` commands whose argv starts with `prefix` fail like that."""
        self.failures.append(Failure(prefix, stderr, returncode, times))

    def commands(self) -> list[tuple[str, ...]]:
        return list(self.calls)

    def clear(self) -> None:
        self.calls.clear()

    def lv(self, vg: str, name: str) -> Lv:
        return self.vgs[vg].lvs[name]

    def write(self, mp: str, path: str, text: str) -> None:
        """A write through the mounted filesystem (what an instance does)."""
        self._mounted_fs(mp).files[path] = text

    def read(self, mp: str, path: str) -> str:
        return self._mounted_fs(mp).files[path]

    def reboot(self) -> None:
        """Mounts are gone; boot activates every LV without the activation-skip flag."""
        self.mounts.clear()
        for vg in self.vgs.values():
            for lv in vg.lvs.values():
                lv.active = not lv.skip
            for lv in vg.lvs.values():
                if lv.kind == "snapshot" and lv.origin is not None:
                    lv.active = vg.lvs[lv.origin].active

    def _mounted_fs(self, mp: str) -> Fs:
        vg, name = self.mounts[mp]
        fs = self.vgs[vg].lvs[name].fs
        assert fs is not None
        return fs

    # ------------------------------------------------------------------ the runner

    async def run(self, *argv: str, check: bool = True, stdin: str | None = None) -> CommandResult:
        await asyncio.sleep(0)  # a real command takes time: let concurrent callers interleave
        self.calls.append(argv)
        result = self._injected(argv) or self._answer(argv)
        if check and result.returncode != 0:
            raise BackendUnavailable(
                f"`{' '.join(argv)}` failed (exit status {result.returncode}): "
                f"{result.stderr.strip()}"
            )
        return result

    def _injected(self, argv: tuple[str, ...]) -> CommandResult | None:
        for failure in self.failures:
            if failure.times > 0 and argv[: len(failure.prefix)] == failure.prefix:
                failure.times -= 1
                return CommandResult(failure.returncode, "", failure.stderr + "\n")
        return None

    def _answer(self, argv: tuple[str, ...]) -> CommandResult:
        tool, args = argv[0], list(argv[1:])
        if tool in self.missing:  # like thecloud.adapters.commands.SubprocessRunner
            raise BackendUnavailable(f"{tool} is not installed: install it")
        lvm = {"vgs": self._vgs, "lvs": self._lvs, "lvcreate": self._lvcreate}
        lvm |= {"lvchange": self._lvchange, "lvremove": self._lvremove}
        if tool in lvm:
            if not self.device_mapper:
                return CommandResult(
                    5,
                    "",
                    "  /dev/mapper/control: open failed: No such device\n"
                    "  Failure to communicate with kernel device-mapper driver.\n",
                )
            return lvm[tool](args)
        other = {
            "mkfs.ext4": self._mkfs,
            "blkid": self._blkid,
            "findmnt": self._findmnt,
            "mkdir": self._mkdir,
            "rmdir": self._rmdir,
            "mount": self._mount,
            "umount": self._umount,
            "dd": self._dd,
            "e2fsck": self._e2fsck,
            "tune2fs": self._tune2fs,
            "df": self._df,
        }
        if tool not in other:
            raise AssertionError(f"the fake runner does not know {argv}")
        return other[tool](args)

    # ------------------------------------------------------------------ LVM

    @staticmethod
    def _ok(stdout: str = "") -> CommandResult:
        return CommandResult(0, stdout, "")

    @staticmethod
    def _err(returncode: int, stderr: str) -> CommandResult:
        return CommandResult(returncode, "", stderr + "\n")

    @staticmethod
    def _options(
        args: list[str], valued: set[str], flags: set[str]
    ) -> tuple[dict[str, str], list[str]]:
        options: dict[str, str] = {}
        positional: list[str] = []
        it = iter(args)
        for arg in it:
            if arg in valued:
                options[arg] = next(it)
            elif arg in flags:
                options[arg] = ""
            elif arg.startswith("-"):
                raise AssertionError(f"the fake runner does not know the option {arg!r}")
            else:
                positional.append(arg)
        return options, positional

    def _vg_missing(self, vg: str) -> CommandResult:
        return self._err(5, f'  Volume group "{vg}" not found\n  Cannot process volume group {vg}')

    def _lv_missing(self, ref: str) -> CommandResult:
        return self._err(5, f'  Failed to find logical volume "{ref}"')

    def _find(self, ref: str) -> tuple[Vg, str, Lv] | CommandResult:
        vg_name, _, name = ref.partition("/")
        vg = self.vgs.get(vg_name)
        if vg is None:
            return self._vg_missing(vg_name)
        lv = vg.lvs.get(name)
        if lv is None:
            return self._lv_missing(ref)
        return vg, name, lv

    def _vgs(self, args: list[str]) -> CommandResult:
        options, targets = self._options(args, {"-o"}, {"--noheadings"})
        assert options == {"--noheadings": "", "-o": "vg_name"}, args
        (name,) = targets
        if name not in self.vgs:
            return self._vg_missing(name)
        return self._ok(f"  {name}\n")

    def _attr(self, vg: Vg, name: str, lv: Lv) -> str:
        kind = {"pool": "t", "thin": "V", "snapshot": "s"}.get(lv.kind, "-")
        if lv.kind == "linear" and any(
            other.kind == "snapshot" and other.origin == name for other in vg.lvs.values()
        ):
            kind = "o"
        active = "a" if lv.active else "-"
        skip = "k" if lv.skip else "-"
        return f"{kind}wi-{active}o---{skip}"

    def _lvs(self, args: list[str]) -> CommandResult:
        options, targets = self._options(
            args, {"-o", "--units", "--select"}, {"--noheadings", "--nosuffix"}
        )
        assert "--noheadings" in options, args
        (target,) = targets
        in_bytes = options.get("--units") == "b" and "--nosuffix" in options
        if "/" in target:
            found = self._find(target)
            if isinstance(found, CommandResult):
                return found
            vg, name, _ = found
            rows = [name]
        else:
            if target not in self.vgs:
                return self._vg_missing(target)
            vg = self.vgs[target]
            rows = sorted(vg.lvs)
        select = options.get("--select")
        if select is not None:
            key, _, value = select.partition("=")
            assert key == "origin", select
            rows = [row for row in rows if vg.lvs[row].origin == value]

        def size(value: int) -> str:
            return str(value) if in_bytes else _human(value)

        lines = []
        for row in rows:
            lv = vg.lvs[row]
            values = []
            for name in options["-o"].split(","):
                if name == "lv_name":
                    values.append(row)
                elif name == "lv_attr":
                    values.append(self._attr(vg, row, lv))
                elif name == "lv_size":
                    values.append(size(lv.cow if lv.kind == "snapshot" else lv.size))
                elif name == "lv_tags":
                    values.append(",".join(sorted(lv.tags)))
                elif name == "origin_size":
                    values.append(size(lv.size) if lv.origin is not None else "")
                else:
                    raise AssertionError(f"the fake runner does not know the lvs field {name}")
            lines.append("  " + "  ".join(values) + "\n")
        return self._ok("".join(lines))

    def _lvcreate(self, args: list[str]) -> CommandResult:
        options, targets = self._options(
            args,
            {"--wipesignatures", "-L", "-V", "-T", "-n", "-l", "--addtag"},
            {"-y", "-s", "-kn"},
        )
        name = options["-n"]
        tags = {options["--addtag"]} if "--addtag" in options else set()
        if "-s" in options:
            (ref,) = targets
            found = self._find(ref)
            if isinstance(found, CommandResult):
                return found
            vg, _, origin = found
            if name in vg.lvs:
                return self._exists(name, ref)
            fs = copy.deepcopy(origin.fs)
            if origin.kind == "thin":
                assert "-l" not in options and "-L" not in options, args
                skip = "-kn" not in options
                origin_name = ref.partition("/")[2]
                vg.lvs[name] = Lv(
                    kind="thin", size=origin.size, origin=origin_name, active=not skip,
                    skip=skip, tags=tags, fs=fs,
                )  # fmt: skip
                return self._ok(f'  Logical volume "{name}" created.\n')
            if "-l" not in options and "-L" not in options:
                return self._err(3, "  Please specify either size or extents with snapshots.")
            assert options.get("-l") == "100%ORIGIN", args
            # 100%ORIGIN: the origin's size plus the exception store's metadata.
            cow = _extents(origin.size + origin.size // 128)
            if cow > vg.free():
                return self._no_room(ref.partition("/")[0], vg, cow)
            vg.lvs[name] = Lv(
                kind="snapshot", size=origin.size, origin=ref.partition("/")[2], cow=cow,
                active=origin.active, tags=tags, fs=fs,
            )  # fmt: skip
            return self._ok(f'  Logical volume "{name}" created.\n')
        assert "-y" in options, args
        if "-V" in options:
            assert not targets, args
            vg_name, _, pool_name = options["-T"].partition("/")
            if vg_name not in self.vgs:
                return self._vg_missing(vg_name)
            vg = self.vgs[vg_name]
            pool = vg.lvs.get(pool_name)
            if pool is None or pool.kind != "pool":
                return self._err(5, f'  Thin pool "{options["-T"]}" not found.')
            if name in vg.lvs:
                return self._exists(name, vg_name)
            vg.lvs[name] = Lv(kind="thin", size=_size(options["-V"]), tags=tags)
            return self._ok(f'  Logical volume "{name}" created.\n')
        (vg_name,) = targets
        group = self.vgs.get(vg_name)
        if group is None:
            return self._vg_missing(vg_name)
        if name in group.lvs:
            return self._exists(name, vg_name)
        size = _extents(_size(options["-L"]))
        if size > group.free():
            return self._no_room(vg_name, group, size)
        stale = None if options.get("--wipesignatures") == "y" else group.stale
        group.lvs[name] = Lv(kind="linear", size=size, tags=tags, fs=copy.deepcopy(stale))
        return self._ok(f'  Logical volume "{name}" created.\n')

    def _exists(self, name: str, where: str) -> CommandResult:
        return self._err(5, f'  Logical Volume "{name}" already exists in volume group "{where}"')

    def _no_room(self, vg_name: str, vg: Vg, size: int) -> CommandResult:
        return self._err(
            5,
            f'  Volume group "{vg_name}" has insufficient free space '
            f"({vg.free() // EXTENT} extents): {size // EXTENT} required.",
        )

    def _lvchange(self, args: list[str]) -> CommandResult:
        options, targets = self._options(args, {"--deltag"}, {"-ay", "-K"})
        (ref,) = targets
        found = self._find(ref)
        if isinstance(found, CommandResult):
            return found
        vg, _, lv = found
        if "--deltag" in options:
            lv.tags.discard(options["--deltag"])
            return self._ok(f"  Logical volume {ref} changed.\n")
        assert "-ay" in options, args
        if lv.skip and "-K" not in options:
            return self._ok()  # silently skipped, as LVM does
        lv.active = True
        if lv.kind == "snapshot" and lv.origin is not None:
            vg.lvs[lv.origin].active = True
        return self._ok()

    def _lvremove(self, args: list[str]) -> CommandResult:
        options, targets = self._options(args, set(), {"-y"})
        assert "-y" in options, args
        (ref,) = targets
        found = self._find(ref)
        if isinstance(found, CommandResult):
            return found
        vg, name, lv = found
        if (ref.partition("/")[0], name) in self.open_lvs or self._mount_of(vg, name):
            return self._err(5, f"  Logical volume {ref} contains a filesystem in use.")
        removed = [name]
        if lv.kind == "linear":  # -y: its classic snapshots go with it, without a question
            removed += [n for n, o in vg.lvs.items() if o.kind == "snapshot" and o.origin == name]
            vg.stale = lv.fs
        for gone in removed:
            del vg.lvs[gone]
        for other in vg.lvs.values():
            if other.origin == name:
                other.origin = None  # thin snapshots outlive their origin
        return self._ok("".join(f'  Logical volume "{n}" successfully removed.\n' for n in removed))

    # ------------------------------------------------------------------ devices, filesystems

    def _mount_of(self, vg: Vg, name: str) -> str | None:
        for mp, (vg_name, lv_name) in self.mounts.items():
            if self.vgs[vg_name] is vg and lv_name == name:
                return mp
        return None

    def _device(self, path: str) -> tuple[str, str, Lv] | None:
        """The LV behind /dev/<vg>/<lv>, when its node exists (it is active)."""
        parts = path.split("/")
        if len(parts) != 4 or parts[:2] != ["", "dev"]:
            raise AssertionError(f"the fake runner does not know the device {path!r}")
        vg = self.vgs.get(parts[2])
        lv = vg.lvs.get(parts[3]) if vg is not None else None
        if lv is None or not lv.active:
            return None
        return parts[2], parts[3], lv

    def _mkfs(self, args: list[str]) -> CommandResult:
        if args == ["-V"]:
            return CommandResult(0, "", "mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library\n")
        assert args[:-1] == ["-q", "-F", "-m", "0"], args
        device = self._device(args[-1])
        if device is None:
            return self._err(1, f"The file {args[-1]} does not exist and no size was specified.")
        vg_name, name, lv = device
        if self._mount_of(self.vgs[vg_name], name):
            return self._err(
                1,
                f"{args[-1]} contains a ext4 file system\n"
                "\tis mounted; will not make a filesystem here!",
            )
        lv.fs = Fs()
        return self._ok()

    def _blkid(self, args: list[str]) -> CommandResult:
        assert args[:-1] == ["-p", "-o", "value", "-s", "TYPE"], args
        device = self._device(args[-1])
        if device is None:
            return self._err(2, f"error: {args[-1]}: No such file or directory")
        fs = device[2].fs
        return self._ok(f"{fs.fstype}\n") if fs is not None else CommandResult(2, "", "")

    def _findmnt(self, args: list[str]) -> CommandResult:
        assert args[:-1] == ["-n", "-o", "SOURCE", "--mountpoint"], args
        where = self.mounts.get(args[-1])
        if where is None:
            return CommandResult(1, "", "")
        vg, name = where
        return self._ok(f"/dev/mapper/{vg.replace('-', '--')}-{name.replace('-', '--')}\n")

    def _mkdir(self, args: list[str]) -> CommandResult:
        assert args[0] == "-p" and len(args) == 2, args
        self.dirs.add(args[1])
        return self._ok()

    def _rmdir(self, args: list[str]) -> CommandResult:
        (path,) = args
        if path in self.mounts:
            return self._err(1, f"rmdir: failed to remove '{path}': Device or resource busy")
        if path not in self.dirs:
            return self._err(1, f"rmdir: failed to remove '{path}': No such file or directory")
        self.dirs.discard(path)
        return self._ok()

    def _mount(self, args: list[str]) -> CommandResult:
        source, mp = args
        device = self._device(source)
        if device is None:
            return self._err(32, f"mount: {mp}: special device {source} does not exist.")
        if mp not in self.dirs:
            return self._err(32, f"mount: {mp}: mount point does not exist.")
        vg_name, name, lv = device
        if self.mounts.get(mp) == (vg_name, name):
            return self._err(32, f"mount: {mp}: {source} already mounted on {mp}.")
        if lv.fs is None or lv.fs.fstype != "ext4":
            return self._err(
                32, f"mount: {mp}: wrong fs type, bad option, bad superblock on {source}."
            )
        lv.fs.mounted_since_check = True
        self.mounts[mp] = (vg_name, name)
        return self._ok()

    def _umount(self, args: list[str]) -> CommandResult:
        (mp,) = args
        if mp not in self.mounts:
            return self._err(32, f"umount: {mp}: not mounted.")
        if mp in self.busy:
            return self._err(32, f"umount: {mp}: target is busy.")
        del self.mounts[mp]
        return self._ok()

    def _dd(self, args: list[str]) -> CommandResult:
        assert args[2:] == ["bs=4M", "conv=fsync", "status=none"], args
        assert args[0].startswith("if=") and args[1].startswith("of="), args
        source = self._device(args[0][3:])
        target = self._device(args[1][3:])
        if source is None or target is None:
            return self._err(1, f"dd: failed to open '{args[0][3:]}': No such file or directory")
        if target[2].size < source[2].size:
            return self._err(1, f"dd: error writing '{args[1][3:]}': No space left on device")
        target[2].fs = copy.deepcopy(source[2].fs)
        return self._ok()

    def _checked_fs(self, path: str, tool: str) -> Fs | CommandResult:
        device = self._device(path)
        if device is None:
            return self._err(8, f"{tool}: No such file or directory while trying to open {path}")
        vg_name, name, lv = device
        if self._mount_of(self.vgs[vg_name], name):
            return self._err(8, f"{path} is mounted.\n{tool}: Cannot continue, aborting.")
        if lv.fs is None or lv.fs.fstype != "ext4":
            return self._err(
                8, f"{tool}: Bad magic number in super-block while trying to open {path}"
            )
        return lv.fs

    def _e2fsck(self, args: list[str]) -> CommandResult:
        assert args[:-1] == ["-fy"], args
        fs = self._checked_fs(args[-1], "e2fsck")
        if isinstance(fs, CommandResult):
            return fs
        if self.e2fsck_status < 4:
            fs.mounted_since_check = False
        return CommandResult(self.e2fsck_status, f"{args[-1]}: clean\n", "")

    def _tune2fs(self, args: list[str]) -> CommandResult:
        assert args[:-1] == ["-U", "random"], args
        fs = self._checked_fs(args[-1], "tune2fs")
        if isinstance(fs, CommandResult):
            return fs
        if fs.mounted_since_check:
            return self._err(
                1,
                "This operation requires a freshly checked filesystem.\n\n"
                "Please run e2fsck -fD on the filesystem.",
            )
        fs.uuid = str(uuid.uuid4())
        return self._ok()

    def _df(self, args: list[str]) -> CommandResult:
        assert args[:-1] == ["-B1", "--output=size,used"], args
        header = "    1B-blocks       Used\n"
        where = self.mounts.get(args[-1])
        if where is None:  # df of a plain directory measures the filesystem it is on
            return self._ok(f"{header}{HOST_ROOT_SIZE:>13} {HOST_ROOT_SIZE // 3:>10}\n")
        lv = self.vgs[where[0]].lvs[where[1]]
        assert lv.fs is not None
        size = int(lv.size * (1 - FS_OVERHEAD))
        used = 24 * MIB + sum(len(text.encode()) for text in lv.fs.files.values())
        return self._ok(f"{header}{size:>13} {used:>10}\n")
