"""Mount or unmount inside a container's mount namespace, needing nothing from its image.

Run as its own (single-threaded) process: `python -m thecloud.adapters.docker.nsmount PID
plug SOURCE TARGET` or `... PID unplug TARGET`. It joins the container's mount namespace with
setns(2) and calls mount(2)/umount2(2) itself, so the container needs no mount binary (busybox
images, scratch images). Whether TARGET is already a mount point is read from the host's view
of the container (/proc/PID/mountinfo) before joining. Exit 0 when done or nothing to do.
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MNT_DETACH = 2


def mounted(pid: str, target: str) -> bool:
    with open(f"/proc/{pid}/mountinfo") as f:
        return any(line.split()[4] == target for line in f if len(line.split()) > 4)


def main(argv: list[str]) -> int:
    pid, action, *paths = argv
    libc = ctypes.CDLL(None, use_errno=True)
    is_mounted = mounted(pid, paths[-1])
    if (action == "plug") == is_mounted:
        return 0  # plugged already, or nothing to unplug
    fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "setns into the container's mount namespace failed")
    os.close(fd)
    if action == "plug":
        source, target = paths
        os.makedirs(target, exist_ok=True)
        if libc.mount(source.encode(), target.encode(), None, MS_BIND, None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount --bind {source} {target}: {os.strerror(err)}")
    elif libc.umount2(paths[0].encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {paths[0]}: {os.strerror(err)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
