"""The per-VPC resolver against the real PowerDNS and real `dig`: a VPC's own zones answer,
another VPC's zones are NXDOMAIN, and names of no platform zone go to the upstream resolvers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import free_port
from tests.integration.test_powerdns import ACCOUNT, new_zone_name, pdns, settings  # noqa: F401
from thecloud.adapters.powerdns import PowerDnsBackend
from thecloud.adapters.resolver.forwarder import DnsForwarder, error_reply, question_name, zone_of
from thecloud.ports.dns import RecordSet, ZoneView


async def dig(port: int, name: str, kind: str = "A") -> tuple[str, list[str]]:
    """(status, answers) of `dig @127.0.0.1 -p port name kind`, without blocking the loop the
    resolver runs on."""
    proc = await asyncio.create_subprocess_exec(
        "dig", "@127.0.0.1", "-p", str(port), "+time=3", "+tries=1", name, kind,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    text = out.decode()
    found = re.search(r"status: ([A-Z]+)", text)
    assert found, text
    section = (
        text.split(";; ANSWER SECTION:")[1].split("\n\n")[0] if "ANSWER SECTION" in text else ""
    )
    return found.group(1), [line.split()[-1] for line in section.splitlines() if line.strip()]


@pytest.fixture
async def zones(pdns: PowerDnsBackend) -> AsyncIterator[tuple[str, str, str]]:  # noqa: F811
    """Two platform zones and one the platform does not know (the "internet")."""
    mine, theirs, outside = new_zone_name(), new_zone_name(), new_zone_name()
    for zone, address in ((mine, "10.0.1.2"), (theirs, "10.1.1.2"), (outside, "192.0.2.1")):
        await pdns.ensure_zone(zone, ACCOUNT)
        await pdns.replace(zone, RecordSet(f"web.{zone}", "A", 60, (address,)))
    try:
        yield mine, theirs, outside
    finally:
        for zone in (mine, theirs, outside):
            await pdns.delete_zone(zone)


async def test_a_vpc_sees_its_own_zones_only(zones: tuple[str, str, str]) -> None:
    mine, theirs, outside = zones
    host, port = settings()[2].rsplit(":", 1)
    view = ZoneView(frozenset({mine, theirs}), {"vpc-a": frozenset({mine})})

    async def current() -> ZoneView:
        return view

    listen = free_port()
    upstream = (host, int(port))  # stands in for the host's resolvers: the same PowerDNS
    forwarder = DnsForwarder((host, int(port)), current, upstream=[upstream], port=listen)
    assert await forwarder.serve("vpc-a", "127.0.0.1")
    assert await forwarder.serve("vpc-a", "127.0.0.1")  # idempotent
    try:
        assert await dig(listen, f"web.{mine}") == ("NOERROR", ["10.0.1.2"])
        assert await dig(listen, f"WEB.{mine.upper()}") == ("NOERROR", ["10.0.1.2"])
        assert await dig(listen, f"web.{theirs}") == ("NXDOMAIN", [])
        assert (await dig(listen, f"nothing.{mine}"))[0] == "NXDOMAIN"
        # not a platform zone: the upstream answers; without upstream resolvers, REFUSED
        assert await dig(listen, f"web.{outside}") == ("NOERROR", ["192.0.2.1"])
        alone = DnsForwarder((host, int(port)), current, upstream=[], port=free_port())
        assert await alone.serve("vpc-a", "127.0.0.1")
        try:
            assert (await dig(alone.serving_port(), f"web.{outside}"))[0] == "REFUSED"
        finally:
            await alone.close()
    finally:
        await forwarder.close()
    assert forwarder.serving() == {}


def test_the_wire_helpers() -> None:
    query = (
        bytes.fromhex("abcd01000001000000000000") + b"\x03www\x07Example\x03com\x00\x00\x01\x00\x01"
    )
    assert question_name(query) == "www.example.com."
    assert question_name(b"\x00" * 5) is None
    reply = error_reply(query, 3)
    assert reply[:2] == b"\xab\xcd" and reply[3] & 0x0F == 3 and reply[2] & 0x80
    assert reply[12:] == query[12:]
    assert (
        zone_of("a.b.corp.internal.", frozenset({"corp.internal.", "b.corp.internal."}))
        == "b.corp.internal."
    )
    assert zone_of("xcorp.internal.", frozenset({"corp.internal."})) is None
