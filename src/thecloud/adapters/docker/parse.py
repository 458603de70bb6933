"""The Docker Engine's JSON (container list and inspect, image inspect) as the port's value
objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from thecloud.domain.compute import PortMapping
from thecloud.ports.compute import ContainerState, ContainerStatus, ImageInfo

_FINISHED = (ContainerStatus.EXITED, ContainerStatus.DEAD)
# states whose listing says all a ContainerState needs besides start time and limits; the
# others (exited, dead, created, ...) are inspected for their exit code and OOM kill
LISTED = (ContainerStatus.RUNNING, ContainerStatus.PAUSED, ContainerStatus.RESTARTING)


def engine_time(value: str | None) -> datetime | None:
    """An engine timestamp (RFC 3339, nanoseconds) as aware UTC; Docker's zero time is None."""
    if not value or value.startswith("0001-01-01"):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def container_state(data: Mapping[str, Any]) -> ContainerState:
    """A ContainerState from `GET /containers/{id}/json`."""
    state, config, host = data["State"], data.get("Config") or {}, data.get("HostConfig") or {}
    status = state.get("Status", "")
    return ContainerState(
        id=data["Id"],
        name=data.get("Name", "").lstrip("/"),
        status=status,
        labels=dict(config.get("Labels") or {}),
        image=config.get("Image", ""),
        exit_code=state.get("ExitCode") if status in _FINISHED else None,
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error", ""),
        started_at=engine_time(state.get("StartedAt")),
        finished_at=engine_time(state.get("FinishedAt")),
        ports=bound_ports(data),
        nano_cpus=host.get("NanoCpus") or 0,
        memory_bytes=host.get("Memory") or 0,
    )


def listed_state(item: Mapping[str, Any]) -> ContainerState:
    """A ContainerState from one entry of `GET /containers/json` (no inspect): id, name,
    status, labels, image and the bound host ports; no start time or limits."""
    names = item.get("Names") or [""]
    bound = {
        (int(p["PublicPort"]), int(p["PrivatePort"]), p.get("Type") or "tcp")
        for p in item.get("Ports") or ()
        if p.get("PublicPort")
    }
    return ContainerState(
        id=item["Id"],
        name=names[0].lstrip("/"),
        status=item.get("State", ""),
        labels=dict(item.get("Labels") or {}),
        image=item.get("Image", ""),
        ports=tuple(PortMapping(h, c, p) for h, c, p in sorted(bound, key=lambda k: (k[1], k[2]))),
    )


def bound_ports(data: Mapping[str, Any]) -> tuple[PortMapping, ...]:
    """The host ports the engine bound once running, else the requested bindings (0: any)."""
    running = (data.get("NetworkSettings") or {}).get("Ports") or {}
    requested = (data.get("HostConfig") or {}).get("PortBindings") or {}
    return _mappings(running if any(running.values()) else requested)


def _mappings(
    bindings: Mapping[str, Iterable[Mapping[str, str]] | None],
) -> tuple[PortMapping, ...]:
    found: dict[tuple[int, int, str], None] = {}
    for key, hosts in bindings.items():
        port, _, protocol = key.partition("/")
        for host in hosts or ():
            found[(int(host.get("HostPort") or 0), int(port), protocol or "tcp")] = None
    return tuple(PortMapping(h, c, p) for h, c, p in sorted(found, key=lambda k: (k[1], k[2])))


def image_info(reference: str, data: Mapping[str, Any]) -> ImageInfo:
    """An ImageInfo from `GET /images/{name}/json`."""
    config = data.get("Config") or {}
    return ImageInfo(
        reference=reference,
        id=data["Id"],
        size=int(data.get("Size") or 0),
        created_at=engine_time(data.get("Created")),
        labels=dict(config.get("Labels") or {}),
    )
