"""Block storage: volumes (a filesystem of a fixed size, mounted into instances) and snapshots.

Creates, restores, attaches and detaches are synchronous: the volume is AVAILABLE (or IN-USE,
and mounted) when the call returns, so there is nothing to wait for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Ref, Resource, Stream, ident

_VOLUMES = "/volumes"
_SNAPSHOTS = "/snapshots"

# A volume to mount at launch: `(volume, "/data")` (the volume by id, name or object) or
# `{"volume_id": ..., "mount_path": ...}` as the API takes it.
VolumeMount = tuple[Ref, str] | Mapping[str, Any]


def volume_mounts(volumes: Iterable[VolumeMount] | None) -> list[dict[str, Any]] | None:
    """`[{volume_id, mount_path}, ...]` as `POST /instances` takes it (None: none given)."""
    if volumes is None:
        return None
    out: list[dict[str, Any]] = []
    for spec in volumes:
        if isinstance(spec, Mapping):
            out.append(dict(spec))  # the API checks it: volume_id and mount_path, nothing else
            continue
        volume, mount_path = spec
        out.append({"volume_id": ident(volume)[0], "mount_path": mount_path})
    return out or None


class Volumes(Resource[One, PageT, ListT, Done, Stream]):
    """`/volumes`: block storage that outlives instances.

    A volume is its own filesystem of exactly `size_gb` GiB (writing past it fails with ENOSPC
    inside the instance) and counts against the tenant's `storage_gb` quota. Its data stays
    through stop/start, detach and the termination of its instance.
    """

    def create(
        self,
        name: str,
        size_gb: int,
        *,
        encrypted: bool = False,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Create a volume of `size_gb` GiB (1-1024); AVAILABLE when this returns.

        `encrypted` is refused (ValidationError) where the storage backend cannot encrypt.
        """
        payload = body(
            name=name,
            size_gb=size_gb,
            encrypted=True if encrypted else None,
            description=description,
            labels=dict(labels) if labels is not None else None,
        )
        return self._x.one(Call("POST", _VOLUMES, payload, idempotency_key=idempotency_key))

    def list(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        instance_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of the tenant's volumes, optionally of one name, one status (AVAILABLE,
        IN-USE, ...) or attached to one instance (by id)."""
        filters = {"name": name, "status": status, "instance_id": instance_id}
        return self._x.page(listing(_VOLUMES, limit, offset, **filters))

    def iterate(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        instance_id: str | None = None,
        page_size: int = 100,
    ) -> Stream:
        """All the tenant's volumes (filtered as `list` is)."""
        filters = {"name": name, "status": status, "instance_id": instance_id}
        return self._x.iterate(listing(_VOLUMES, page_size, 0, **filters), page_size)

    def get(self, volume: str) -> One:
        """A volume by id or name."""
        return self._x.one(Call("GET", f"{_VOLUMES}/{seg(volume)}"))

    def delete(self, volume: str) -> Done:
        """Delete a volume and its data. Refused (ConflictError) while it is attached; its
        snapshots stay."""
        return self._x.done(Call("DELETE", f"{_VOLUMES}/{seg(volume)}"))

    def attach(self, volume: str, instance: str, mount_path: str) -> One:
        """Attach an AVAILABLE volume (id or name) to an instance (id or name) at `mount_path`
        (absolute, not hiding a system directory such as /etc or /usr); the volume.

        A running instance has it mounted when this returns, without a restart
        (`attached_live: true`); a stopped one gets it when it next starts (`false`).
        """
        payload = {"instance_id": instance, "mount_path": mount_path}
        return self._x.one(Call("POST", f"{_VOLUMES}/{seg(volume)}/attach", payload))

    def detach(self, volume: str) -> One:
        """Take the volume out of its instance (unmounted at once if it runs); the volume,
        AVAILABLE again, its data kept."""
        return self._x.one(Call("POST", f"{_VOLUMES}/{seg(volume)}/detach"))


class Snapshots(Resource[One, PageT, ListT, Done, Stream]):
    """`/snapshots`: crash-consistent, copy-on-write copies of a volume at one moment.

    A snapshot is taken in about the same time whatever the volume's size, attached or not,
    without touching the volume; it outlives the volume, and `restore` makes a new volume of it.
    """

    def create(
        self,
        volume: str,
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Snapshot a volume (id or name); AVAILABLE when this returns."""
        payload = body(volume_id=volume, description=description)
        return self._x.one(Call("POST", _SNAPSHOTS, payload, idempotency_key=idempotency_key))

    def list(
        self,
        *,
        volume_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of the tenant's snapshots, optionally of one volume (by id)."""
        return self._x.page(listing(_SNAPSHOTS, limit, offset, volume_id=volume_id))

    def iterate(self, *, volume_id: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's snapshots (of one volume, by id, if given)."""
        call = listing(_SNAPSHOTS, page_size, 0, volume_id=volume_id)
        return self._x.iterate(call, page_size)

    def get(self, snapshot: str) -> One:
        """A snapshot by id."""
        return self._x.one(Call("GET", f"{_SNAPSHOTS}/{seg(snapshot)}"))

    def delete(self, snapshot: str) -> Done:
        """Delete a snapshot (volumes restored from it keep their data)."""
        return self._x.done(Call("DELETE", f"{_SNAPSHOTS}/{seg(snapshot)}"))

    def restore(
        self, snapshot: str, new_volume_name: str, *, idempotency_key: str | None = None
    ) -> One:
        """A new volume named `new_volume_name` holding exactly the snapshot's data (its size,
        a new filesystem UUID, `snapshot_id` set); AVAILABLE when this returns."""
        payload = {"new_volume_name": new_volume_name}
        path = f"{_SNAPSHOTS}/{seg(snapshot)}/restore"
        return self._x.one(Call("POST", path, payload, idempotency_key=idempotency_key))
