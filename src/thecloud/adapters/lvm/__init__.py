"""Block storage on LVM: a logical volume with ext4 per volume, LVM snapshots (thin or classic)."""

from __future__ import annotations

from thecloud.adapters.lvm.backend import (
    RESTORING_TAG,
    SNAPSHOT_PREFIX,
    VOLUME_PREFIX,
    LvmBackend,
    snapshot_lv,
    volume_lv,
)

__all__ = [
    "RESTORING_TAG",
    "SNAPSHOT_PREFIX",
    "VOLUME_PREFIX",
    "LvmBackend",
    "snapshot_lv",
    "volume_lv",
]
