"""Compute: instances (launch, lifecycle, logs, waiting for a status), images, instance types.

Operations on a live instance (pause, resize, tags, exec, stats, streams) are in instance_ops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from thecloud.sdk._core import Call, body, listing, query, seg
from thecloud.sdk._upload import Progress, Source, Upload
from thecloud.sdk._wait import Poll, StatusCallback
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Ref, Resource, Stream, ident
from thecloud.sdk.resources.instance_ops import InstanceOperations
from thecloud.sdk.resources.storage import VolumeMount, volume_mounts

InstanceRef = Ref
_FAILED = frozenset({"ERROR", "DELETED"})
UPLOAD_TIMEOUT = 600.0  # seconds for each step of an upload, the server's checks included


def join_ports(ports: str | Sequence[str] | None) -> str | None:
    """`"8080:80,0:22"` as the API takes it, from that string or a list of mappings."""
    if ports is None or isinstance(ports, str):
        return ports
    return ",".join(ports)


def env_list(env: Mapping[str, str] | Sequence[str] | None) -> list[str] | None:
    """`["K=V", ...]` from a mapping or a list of `K=V` strings."""
    if env is None:
        return None
    if isinstance(env, Mapping):
        return [f"{k}={v}" for k, v in env.items()]
    return list(env)


def _labels(labels: Mapping[str, str] | None) -> list[str] | None:
    """`label=key=value` query values (all must match)."""
    return [f"{k}={v}" for k, v in labels.items()] if labels else None


def _statuses(until: str | Iterable[str]) -> frozenset[str]:
    return frozenset({until} if isinstance(until, str) else until)


class Instances(InstanceOperations[One, PageT, ListT, Done, Stream]):
    """`/instances`: containers (later VMs) with an asynchronous, durable lifecycle."""

    def launch(
        self,
        name: str,
        image: str,
        *,
        instance_type: str | None = None,
        ports: str | Sequence[str] | None = None,
        env: Mapping[str, str] | Sequence[str] | None = None,
        cmd: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        ssh_key: str | None = None,
        user_data: str | None = None,
        vpc_id: str | None = None,
        subnet_id: str | None = None,
        private_ip: str | None = None,
        security_group_ids: Sequence[str] | None = None,
        volumes: Iterable[VolumeMount] | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Launch an instance (202, status STARTING); `wait` for it to be RUNNING.

        `ssh_key` (an SSH key's id or name) goes to /root/.ssh/authorized_keys and `user_data`
        (a script, at most 16 KiB) runs once, both at the instance's first boot.

        In a VPC (`vpc_id`, id or name, and/or `subnet_id`): the instance gets `private_ip` (an
        address of the subnet, default the lowest free one) in `subnet_id` (default the VPC's
        first subnet with room), and joins `security_group_ids` (ids or names; default the
        VPC's default group).

        `volumes` are mounted from the first start: `(volume, "/data")` pairs (the volume by
        id, name or object) or `{"volume_id": ..., "mount_path": ...}` dicts; each must be
        AVAILABLE, and is IN-USE by the instance when this returns.
        """
        payload = body(
            name=name,
            image=image,
            instance_type=instance_type,
            ports=join_ports(ports),
            env=env_list(env),
            cmd=list(cmd) if cmd is not None else None,
            labels=dict(labels) if labels is not None else None,
            metadata=dict(metadata) if metadata is not None else None,
            ssh_key_id=ssh_key,
            user_data=user_data,
            vpc_id=vpc_id,
            subnet_id=subnet_id,
            private_ip=private_ip,
            security_group_ids=list(security_group_ids) if security_group_ids else None,
            volumes=volume_mounts(volumes),
        )
        return self._x.one(Call("POST", "/instances", payload, idempotency_key=idempotency_key))

    def list(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of the tenant's instances, optionally of one name or status, and only those
        carrying every one of `labels` (tags)."""
        filters = {"name": name, "status": status, "label": _labels(labels)}
        return self._x.page(listing("/instances", limit, offset, **filters))

    def iterate(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 100,
    ) -> Stream:
        """All the tenant's instances (filtered as `list` is)."""
        filters = {"name": name, "status": status, "label": _labels(labels)}
        return self._x.iterate(listing("/instances", page_size, 0, **filters), page_size)

    def get(self, instance: str) -> One:
        """An instance by id or name."""
        return self._x.one(Call("GET", f"/instances/{seg(instance)}"))

    def stop(self, instance: str) -> One:
        """Stop a running instance (202, status STOPPING, then STOPPED)."""
        return self._x.one(Call("POST", f"/instances/{seg(instance)}/stop"))

    def start(self, instance: str) -> One:
        """Start a stopped instance (202, status STARTING, then RUNNING)."""
        return self._x.one(Call("POST", f"/instances/{seg(instance)}/start"))

    def reboot(self, instance: str) -> One:
        """Restart an instance (202, status REBOOTING, then RUNNING)."""
        return self._x.one(Call("POST", f"/instances/{seg(instance)}/reboot"))

    def terminate(self, instance: str) -> One:
        """Delete an instance and its container (202, status DELETING, then DELETED)."""
        return self._x.one(Call("DELETE", f"/instances/{seg(instance)}"))

    def logs(
        self, instance: str, *, tail: int | None = None, since: datetime | str | None = None
    ) -> ListT:
        """The instance's output: a list of `{at, stream, text}`, oldest first."""
        params = query(tail=tail, since=since)
        return self._x.items(Call("GET", f"/instances/{seg(instance)}/logs", params=params))

    def wait(
        self,
        instance: InstanceRef,
        until: str | Iterable[str] = ("RUNNING",),
        *,
        timeout: float = 60.0,
        interval: float = 0.5,
        on_status: StatusCallback | None = None,
    ) -> One:
        """Poll an instance (id, name or object) until its status is one of `until`.

        Returns the instance. Raises ResourceFailedError (its `status_reason` in the message)
        when it lands in ERROR, or DELETED unless that is wanted, and WaitTimeoutError after
        `timeout` seconds. `on_status(instance)` is called whenever the status changes.
        """
        ref, last = ident(instance)
        wanted = _statuses(until)
        poll = Poll(
            Call("GET", f"/instances/{seg(ref)}"),
            "instance",
            wanted,
            failed=_FAILED - wanted,
            gone="DELETED",
            timeout=timeout,
            interval=interval,
            on_status=on_status,
            last=last,
        )
        return self._x.wait(poll)


class Images(Resource[One, PageT, ListT, Done, Stream]):
    """`/images`: the platform catalog (tenant_id null) and the tenant's own images."""

    def list(
        self, *, name: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the images you can launch, optionally of one name."""
        return self._x.page(listing("/images", limit, offset, name=name))

    def iterate(self, *, name: str | None = None, page_size: int = 100) -> Stream:
        """All the images you can launch."""
        return self._x.iterate(listing("/images", page_size, 0, name=name), page_size)

    def get(self, image: str) -> One:
        """An image by id or name (e.g. `alpine`, `python:3.12`)."""
        return self._x.one(Call("GET", f"/images/{seg(image)}"))

    def register(
        self, name: str, *, description: str | None = None, idempotency_key: str | None = None
    ) -> One:
        """Register an image of your own (status PENDING_UPLOAD); then `upload` its files."""
        payload = body(name=name, description=description)
        return self._x.one(Call("POST", "/images", payload, idempotency_key=idempotency_key))

    def upload(
        self,
        image: str,
        rootfs: Source,
        *,
        on_progress: Progress | None = None,
        timeout: float = UPLOAD_TIMEOUT,
    ) -> One:
        """Send the image's root filesystem, a tar archive (plain or gzip), from a path or a
        binary file object, in chunks as it is read; the image becomes AVAILABLE, with the os
        and version of its /etc/os-release. `on_progress(bytes_sent)` follows the upload."""
        content = Upload(rootfs, on_progress)
        path = f"/images/{seg(image)}/upload"
        return self._x.one(Call("POST", path, content=content, timeout=timeout))

    def delete(self, image: str) -> Done:
        """Delete one of your own images (a 409 while an instance uses it)."""
        return self._x.done(Call("DELETE", f"/images/{seg(image)}"))


class InstanceTypes(Resource[One, PageT, ListT, Done, Stream]):
    """`/instance-types`: the sizes an instance can have (vCPUs, memory, disk, price)."""

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the instance types."""
        return self._x.page(listing("/instance-types", limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the instance types."""
        return self._x.iterate(listing("/instance-types", page_size, 0), page_size)
