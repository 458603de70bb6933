"""Container deployments: an image kept running as N replicas, scaled, waited for, deleted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from thecloud.sdk._core import JSON, Call, body, listing, seg
from thecloud.sdk._wait import Poll, StatusCallback
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Ref, Resource, Stream, ident
from thecloud.sdk.resources.compute import env_list, join_ports

_PATH = "/containers/deployments"
_ENDING = frozenset({"DELETING", "DELETED"})


def replicas_running(deployment: JSON) -> str | None:
    """What a wait for replicas watches: `N running`, or the status once it is being deleted."""
    status = deployment.get("status")
    if status in _ENDING:
        return str(status)
    return f"{deployment.get('running', 0)} running"


class Deployments(Resource[One, PageT, ListT, Done, Stream]):
    """`/containers/deployments`: the worker keeps `replicas` instances of an image running."""

    def create(
        self,
        name: str,
        image: str,
        replicas: int,
        *,
        ports: str | Sequence[str] | None = None,
        instance_type: str | None = None,
        env: Mapping[str, str] | Sequence[str] | None = None,
        cmd: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Create a deployment (202); its replicas are instances named `<name>-<random>`."""
        payload = body(
            name=name,
            image=image,
            replicas=replicas,
            ports=join_ports(ports),
            instance_type=instance_type,
            env=env_list(env),
            cmd=list(cmd) if cmd is not None else None,
        )
        return self._x.one(Call("POST", _PATH, payload, idempotency_key=idempotency_key))

    def list(
        self, *, name: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's deployments, optionally of one name."""
        return self._x.page(listing(_PATH, limit, offset, name=name))

    def iterate(self, *, name: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's deployments."""
        return self._x.iterate(listing(_PATH, page_size, 0, name=name), page_size)

    def get(self, deployment: str) -> One:
        """A deployment by id or name, with its `instances` and how many are `running`."""
        return self._x.one(Call("GET", f"{_PATH}/{seg(deployment)}"))

    def scale(self, deployment: str, replicas: int) -> One:
        """A new replica count (202); the worker launches or terminates replicas to reach it."""
        payload = {"replicas": replicas}
        return self._x.one(Call("PUT", f"{_PATH}/{seg(deployment)}/scale", payload))

    def delete(self, deployment: str) -> One:
        """Terminate every replica, then remove the deployment (202, status DELETING)."""
        return self._x.one(Call("DELETE", f"{_PATH}/{seg(deployment)}"))

    def wait(
        self,
        deployment: Ref,
        running: int | None = None,
        *,
        deleted: bool = False,
        timeout: float = 120.0,
        interval: float = 0.5,
        on_status: StatusCallback | None = None,
    ) -> One:
        """Poll a deployment (id, name or object) until `running` replicas are RUNNING, or,
        with `deleted=True`, until it is gone (then its last state, status DELETED).

        Raises ResourceFailedError if it is being deleted while you wait for replicas, and
        WaitTimeoutError after `timeout` seconds. `on_status(deployment)` is called whenever
        the number running (or the status) changes.
        """
        if (running is None) == (not deleted):
            raise ValueError("wait for a number of running replicas or for deleted=True")
        ref, last = ident(deployment)
        wanted = frozenset({"DELETED" if deleted else f"{running} running"})
        poll = Poll(
            Call("GET", f"{_PATH}/{seg(ref)}"),
            "deployment",
            wanted,
            failed=frozenset() if deleted else _ENDING,
            gone="DELETED",
            timeout=timeout,
            interval=interval,
            on_status=on_status,
            last=last,
            observe=replicas_running,
        )
        return self._x.wait(poll)
