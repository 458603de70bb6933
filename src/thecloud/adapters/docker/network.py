"""NetworkFabric on one host: a Docker bridge network per VPC, policy in iptables chains.

Networks are made through the engine (labelled, with a bridge interface named after the
VPC); the policy is rendered by `firewall.py` and applied with iptables-restore, one
transaction per sync. Syncs of one process are serialised; the caller serialises processes.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping
from typing import Any

from docker import APIClient
from docker import errors as docker_errors
from docker.types import IPAMConfig, IPAMPool

from thecloud.adapters.commands import SubprocessRunner
from thecloud.adapters.docker.client import EngineClient
from thecloud.adapters.docker.errors import engine_message
from thecloud.adapters.docker.firewall import (
    Saved,
    bridge_of,
    clear_script,
    has_changes,
    parse_save,
    render,
    restore_script,
    tag_of,
)
from thecloud.adapters.docker.parse import engine_time
from thecloud.domain.errors import BackendUnavailable, Conflict, RangeInUse
from thecloud.ports.network import FabricState, NetworkSpec, NetworkState

_OVERLAP = ("overlaps", "Pool overlaps")


class DockerFabric:
    def __init__(self, installation: str, base_url: str | None = None) -> None:
        self.installation, self.tag = installation, tag_of(installation)
        self._engine = EngineClient(base_url, 60)
        self._lock = asyncio.Lock()
        self._run = SubprocessRunner("run scripts/docker.sh as root (it installs iptables)").run

    def close(self) -> None:
        self._engine.close()

    async def _save(self) -> str:
        tables = [await self._run("iptables-save", "-t", t) for t in ("filter", "nat")]
        return "".join(r.stdout for r in tables)

    async def _restore(self, script: str) -> None:
        await self._run("iptables-restore", "-w", "5", "--noflush", stdin=script)

    def bridge_name(self, vpc_id: str) -> str:
        return bridge_of(self.tag, vpc_id)

    async def ensure_network(self, spec: NetworkSpec) -> NetworkState:
        return await self._engine.call(lambda api: _ensure(api, spec))

    async def remove_network(self, name: str) -> None:
        await self._engine.call(lambda api: _remove(api, name))

    async def networks(self, labels: Mapping[str, str]) -> builtins.list[NetworkState]:
        return await self._engine.call(lambda api: _list(api, labels))

    async def sync(self, state: FabricState) -> None:
        async with self._lock:
            saved = parse_save(await self._save(), self.tag)
            if not state.vpcs:  # nothing to enforce: leave no chains behind either
                return await self._clear(saved)
            script = restore_script(
                render(state, self.tag), saved.chains, saved.jumps, saved.hashes, saved.misplaced
            )
            if has_changes(script):
                await self._restore(script)

    async def clear(self) -> None:
        async with self._lock:
            await self._clear(parse_save(await self._save(), self.tag))

    async def _clear(self, saved: Saved) -> None:
        jumps = saved.jumps | saved.misplaced
        if saved.chains or jumps:
            await self._restore(clear_script(self.tag, saved.chains, jumps))


def _ensure(api: APIClient, spec: NetworkSpec) -> NetworkState:
    found = _find(api, spec.name)
    if found is not None:
        return found
    try:
        api.create_network(
            spec.name,
            driver="bridge",
            options={"com.docker.network.bridge.name": spec.bridge},
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=spec.cidr, gateway=spec.gateway)]),
            labels=dict(spec.labels),
            check_duplicate=True,
        )
    except docker_errors.APIError as exc:
        message = engine_message(exc)
        if any(word in message for word in _OVERLAP):
            raise RangeInUse(
                f"cidr {spec.cidr} overlaps a network already on this host (another VPC or "
                "a network of the container engine): choose another range"
            ) from exc
        if exc.status_code == 409 and (again := _find(api, spec.name)) is not None:
            return again
        raise
    found = _find(api, spec.name)
    if found is None:
        raise BackendUnavailable(f"the engine lost network {spec.name} right after creating it")
    return found


def _find(api: APIClient, name: str) -> NetworkState | None:
    try:
        return _state(api.inspect_network(name))
    except docker_errors.NotFound:
        return None


def _remove(api: APIClient, name: str) -> None:
    try:
        api.remove_network(name)
    except docker_errors.NotFound:
        return
    except docker_errors.APIError as exc:
        if "active endpoints" in engine_message(exc):
            raise Conflict(f"network {name} still has containers attached") from exc
        raise


def _list(api: APIClient, labels: Mapping[str, str]) -> builtins.list[NetworkState]:
    wanted = [f"{k}={v}" for k, v in labels.items()]
    found = api.networks(filters={"label": wanted}) if wanted else api.networks()
    return [_state(n) for n in found]


def _state(raw: Mapping[str, Any]) -> NetworkState:
    pools = (raw.get("IPAM") or {}).get("Config") or [{}]
    return NetworkState(
        id=str(raw.get("Id", "")),
        name=str(raw.get("Name", "")),
        cidr=str(pools[0].get("Subnet", "")),
        labels=dict(raw.get("Labels") or {}),
        created_at=engine_time(str(raw.get("Created", ""))),
    )
