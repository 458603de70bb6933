"""The resolver instances of a VPC ask: a small DNS forwarder on each VPC's router address.

Instances in a VPC get the VPC router (its gateway address, on the host's side of the bridge)
as their DNS server. A query that arrives on a VPC's address is answered by zone:
  * a name in a zone this VPC may see (its own private zones, every public zone): forwarded
    to the authoritative server (PowerDNS) and its answer relayed;
  * a name in any other zone of the platform (another VPC's, another tenant's): NXDOMAIN,
    exactly as if the zone did not exist;
  * any other name: forwarded to the host's own resolvers (/etc/resolv.conf), or REFUSED when
    the host has none.
UDP only; the zone view comes from a callback and is cached for `view_ttl` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from thecloud.ports.dns import ZoneView

log = logging.getLogger(__name__)
NXDOMAIN, SERVFAIL, REFUSED = 3, 2, 5


async def _no_zones() -> ZoneView:
    return ZoneView()


def question_name(packet: bytes) -> str | None:
    """The first question's name, lowercase with a trailing dot; None if it is malformed."""
    if len(packet) < 12 or int.from_bytes(packet[4:6], "big") < 1:
        return None
    labels: list[str] = []
    at = 12
    while at < len(packet):
        size = packet[at]
        if size == 0:
            return (".".join(labels) + ".").lower() if labels else "."
        if size & 0xC0 or at + 1 + size > len(packet):
            return None  # no compression in a question
        labels.append(packet[at + 1 : at + 1 + size].decode("ascii", "replace"))
        at += 1 + size
    return None


def error_reply(query: bytes, rcode: int) -> bytes:
    """An answer with no records and `rcode`, echoing the query's id and question."""
    end = 12
    while end < len(query) and query[end] != 0:
        end += 1 + query[end]
    question = query[12 : end + 5] if end + 5 <= len(query) else b""
    flags = 0x8000 | (int.from_bytes(query[2:4], "big") & 0x0100) | 0x0080 | rcode
    count = 1 if question else 0
    header = query[:2] + flags.to_bytes(2, "big") + count.to_bytes(2, "big") + bytes(6)
    return header + question


def zone_of(name: str, zones: frozenset[str]) -> str | None:
    """The longest zone `name` is in."""
    best = None
    for zone in zones:
        if (name == zone or name.endswith("." + zone)) and (best is None or len(zone) > len(best)):
            best = zone
    return best


def host_resolvers(path: Path = Path("/etc/resolv.conf")) -> list[tuple[str, int]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and ":" not in parts[1]:
            out.append((parts[1], 53))
    return out


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, owner: DnsForwarder, vpc_id: str) -> None:
        self._owner, self._vpc = owner, vpc_id
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._owner.answer(self._vpc, data))
        task.add_done_callback(lambda t: self._reply(t, addr))

    def _reply(self, task: asyncio.Future[bytes], addr: tuple[str, int]) -> None:
        if task.cancelled() or task.exception() is not None or self.transport is None:
            return
        with contextlib.suppress(OSError):
            self.transport.sendto(task.result(), addr)


class DnsForwarder:
    def __init__(
        self,
        authoritative: tuple[str, int],
        view: Callable[[], Awaitable[ZoneView]] | None = None,
        upstream: list[tuple[str, int]] | None = None,
        port: int = 53,
        view_ttl: float = 2.0,
        timeout: float = 2.0,
    ) -> None:
        self._auth, self._load_view = authoritative, view or _no_zones
        self._upstream = host_resolvers() if upstream is None else upstream
        self._port, self._ttl, self._timeout = port, view_ttl, timeout
        self._view = ZoneView()
        self._view_at = -1e9
        self._refresh = asyncio.Lock()
        self._listeners: dict[str, tuple[str, asyncio.DatagramTransport]] = {}
        self._warned: set[tuple[str, str]] = set()

    def use(self, view: Callable[[], Awaitable[ZoneView]]) -> None:
        self._load_view = view
        self.forget_view()

    def serving_port(self) -> int:
        return self._port

    def serving(self) -> dict[str, str]:
        """VPC id -> the address its resolver listens on."""
        return {vpc: addr for vpc, (addr, _) in self._listeners.items()}

    async def serve(self, vpc_id: str, address: str) -> bool:
        """Listen for the VPC on `address` (idempotent); False if the address cannot be bound
        yet (its bridge not up) or is taken."""
        current = self._listeners.get(vpc_id)
        if current is not None and current[0] == address:
            return True
        if current is not None:
            await self.stop(vpc_id)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Endpoint(self, vpc_id),
                local_addr=(address, self._port),
                family=socket.AF_INET,
            )
        except OSError as exc:
            if (vpc_id, address) not in self._warned:  # the healer retries every few seconds
                self._warned.add((vpc_id, address))
                log.warning(
                    "VPC %s resolver cannot listen on %s:%s: %s", vpc_id, address, self._port, exc
                )
            return False
        self._listeners[vpc_id] = (address, transport)
        return True

    async def stop(self, vpc_id: str) -> None:
        found = self._listeners.pop(vpc_id, None)
        if found is not None:
            found[1].close()

    async def close(self) -> None:
        for vpc in list(self._listeners):
            await self.stop(vpc)

    def forget_view(self) -> None:
        """Read the zones again on the next query (after a zone was created or deleted)."""
        self._view_at = -1e9

    async def _current_view(self) -> ZoneView:
        if time.monotonic() - self._view_at > self._ttl:
            async with self._refresh:
                if time.monotonic() - self._view_at > self._ttl:
                    self._view = await self._load_view()
                    self._view_at = time.monotonic()
        return self._view

    async def answer(self, vpc_id: str, query: bytes) -> bytes:
        name = question_name(query)
        if name is None:
            return error_reply(query, 1)  # FORMERR
        try:
            view = await self._current_view()
        except Exception:  # noqa: BLE001 - the store is down: say so to the client
            log.exception("resolver: cannot read the zones")
            return error_reply(query, SERVFAIL)
        zone = zone_of(name, view.zones)
        if zone is not None:
            if zone not in view.visible.get(vpc_id, frozenset()):
                return error_reply(query, NXDOMAIN)
            return await self._ask([self._auth], query)
        if not self._upstream:
            return error_reply(query, REFUSED)
        return await self._ask(self._upstream, query)

    async def _ask(self, servers: list[tuple[str, int]], query: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        for server in servers:
            reply: asyncio.Future[bytes] = loop.create_future()
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda reply=reply: _Reply(reply, query[:2]),  # type: ignore[misc]
                    remote_addr=server,
                )
            except OSError:
                continue
            try:
                transport.sendto(query)
                return await asyncio.wait_for(reply, self._timeout)
            except (TimeoutError, OSError):
                continue
            finally:
                transport.close()
        return error_reply(query, SERVFAIL)


class _Reply(asyncio.DatagramProtocol):
    """Takes the first datagram that answers the query id."""

    def __init__(self, reply: asyncio.Future[bytes], ident: bytes) -> None:
        self._reply, self._ident = reply, ident

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # noqa: ARG002
        if not self._reply.done() and data[:2] == self._ident:
            self._reply.set_result(data)
