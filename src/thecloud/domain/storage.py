"""Block storage: volumes (a filesystem of a fixed size an instance mounts at a path) and
their snapshots (point-in-time copies a new volume can be restored from)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from thecloud.domain.errors import InvalidInput

MIN_SIZE_GB, MAX_SIZE_GB = 1, 1024


class VolumeStatus(StrEnum):
    CREATING = "CREATING"  # recorded; the backend is making it
    AVAILABLE = "AVAILABLE"
    IN_USE = "IN-USE"  # attached to an instance
    DELETING = "DELETING"
    ERROR = "ERROR"


class SnapshotStatus(StrEnum):
    CREATING = "CREATING"
    AVAILABLE = "AVAILABLE"
    DELETING = "DELETING"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    tenant_id: str
    name: str
    size_gb: int
    status: VolumeStatus
    backend: str  # which StorageBackend holds it ("loop", "lvm")
    encrypted: bool
    description: str
    labels: Mapping[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    instance_id: str | None = None
    mount_path: str | None = None
    snapshot_id: str | None = None  # the snapshot it was restored from
    status_reason: str = ""
    version: int = 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    id: str
    tenant_id: str
    volume_id: str
    size_gb: int
    status: SnapshotStatus
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    status_reason: str = ""


def validate_size(size_gb: int) -> int:
    if not MIN_SIZE_GB <= size_gb <= MAX_SIZE_GB:
        raise InvalidInput(f"size_gb must be {MIN_SIZE_GB}-{MAX_SIZE_GB} (GiB)")
    return size_gb


# Paths an instance's own system needs; a volume must not hide them.
_RESERVED = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sbin", "/sys",
             "/usr", "/run", "/.thecloud")  # fmt: skip


def validate_mount_path(path: str) -> str:
    """An absolute, normalised directory path that hides nothing the system needs."""
    if not path.startswith("/") or len(path) > 255 or "\x00" in path:
        raise InvalidInput(f"mount_path {path!r} must be an absolute path, e.g. /data")
    clean = posixpath.normpath(path)
    if clean != path.rstrip("/") and clean != path:
        raise InvalidInput(f"mount_path {path!r} is not normalised: use {clean}")
    if any(part in ("..", ".") for part in path.split("/")):
        raise InvalidInput(f"mount_path {path!r} must not contain . or ..")
    if clean in _RESERVED or any(clean.startswith(r + "/") for r in _RESERVED[1:] if r != "/run"):
        raise InvalidInput(f"mount_path {clean} would hide a system directory: use e.g. /data")
    return clean


def changed(v: Volume, now: datetime, **changes: Any) -> Volume:
    return replace(v, **changes, updated_at=now, version=v.version + 1)
