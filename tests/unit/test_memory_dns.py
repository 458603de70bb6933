"""The in-memory DNS backend keeps the PowerDNS adapter's semantics."""

from __future__ import annotations

import pytest

from thecloud.adapters.memory.dns import MemoryDnsBackend
from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from thecloud.ports.dns import DnsBackend, RecordSet

ACCOUNT = "thecloud:test"
ZONE = "corp.internal."


async def backend_with_zone() -> MemoryDnsBackend:
    dns = MemoryDnsBackend()
    await dns.ensure_zone(ZONE, ACCOUNT)
    return dns


def soa_serial(dns: MemoryDnsBackend) -> int:
    [soa] = dns.lookup(ZONE, "SOA")
    return int(soa.split()[2])


async def test_a_new_zone_has_soa_and_ns_and_an_account() -> None:
    dns: DnsBackend = await backend_with_zone()
    assert isinstance(dns, MemoryDnsBackend)
    assert dns.lookup(ZONE, "NS") == ("ns1.thecloud.internal.",)
    assert dns.lookup("corp.internal", "soa")[0].startswith(
        "ns1.thecloud.internal. hostmaster.corp.internal. "
    )
    assert {(r.name, r.type) for r in await dns.records(ZONE)} == {(ZONE, "SOA"), (ZONE, "NS")}
    assert dns.account_of(ZONE) == ACCOUNT


async def test_ensure_zone_is_idempotent_but_not_across_accounts() -> None:
    dns = await backend_with_zone()
    await dns.replace(ZONE, RecordSet("web.corp.internal.", "A", 60, ("10.0.0.1",)))
    await dns.ensure_zone("CORP.internal", ACCOUNT)
    assert dns.lookup("web.corp.internal", "A") == ("10.0.0.1",)
    with pytest.raises(Conflict, match="for another account \\('thecloud:test'\\)"):
        await dns.ensure_zone(ZONE, "thecloud:other")


async def test_zones_lists_only_the_accounts_zones() -> None:
    dns = await backend_with_zone()
    await dns.ensure_zone("b.example.", ACCOUNT)
    await dns.ensure_zone("other.example.", "someone-else")
    assert await dns.zones(ACCOUNT) == ["b.example.", ZONE]
    assert await dns.zones("someone-else") == ["other.example."]
    assert await dns.zones("nobody") == []


async def test_replace_sets_the_whole_rrset_and_bumps_the_serial() -> None:
    dns = await backend_with_zone()
    before = soa_serial(dns)
    await dns.replace(ZONE, RecordSet("web.corp.internal.", "A", 60, ("10.0.0.1", "10.0.0.2")))
    await dns.replace(ZONE, RecordSet("WEB.corp.internal", "a", 60, ("10.0.0.3",)))
    assert dns.lookup("web.corp.internal.", "A") == ("10.0.0.3",)
    assert soa_serial(dns) == before + 2
    [web] = [r for r in await dns.records(ZONE) if r.type == "A"]
    assert web == RecordSet("web.corp.internal.", "A", 60, ("10.0.0.3",))


async def test_replace_with_no_contents_removes_the_rrset() -> None:
    dns = await backend_with_zone()
    await dns.replace(ZONE, RecordSet("web.corp.internal.", "A", 60, ("10.0.0.1",)))
    await dns.replace(ZONE, RecordSet("web.corp.internal.", "A", 60, ()))
    assert dns.lookup("web.corp.internal.", "A") == ()


async def test_remove_is_idempotent_and_keeps_other_types() -> None:
    dns = await backend_with_zone()
    await dns.replace(ZONE, RecordSet("x.corp.internal.", "A", 60, ("10.0.0.1",)))
    await dns.replace(ZONE, RecordSet("x.corp.internal.", "TXT", 60, ('"hi"',)))
    await dns.remove(ZONE, "x.corp.internal.", "a")
    await dns.remove(ZONE, "x.corp.internal.", "A")
    await dns.remove("missing.example.", "x.missing.example.", "A")
    assert dns.lookup("x.corp.internal.", "A") == ()
    assert dns.lookup("x.corp.internal.", "TXT") == ('"hi"',)


async def test_the_soa_cannot_be_removed() -> None:
    dns = await backend_with_zone()
    with pytest.raises(InvalidInput, match="SOA record of zone corp.internal. cannot be removed"):
        await dns.remove(ZONE, ZONE, "SOA")


async def test_changes_to_a_missing_zone_are_not_found() -> None:
    dns = MemoryDnsBackend()
    with pytest.raises(NotFound, match="DNS zone nope.example. not found"):
        await dns.replace("nope.example.", RecordSet("a.nope.example.", "A", 60, ("10.0.0.1",)))
    with pytest.raises(NotFound):
        await dns.records("nope.example")


async def test_delete_zone_removes_everything_and_is_idempotent() -> None:
    dns = await backend_with_zone()
    await dns.replace(ZONE, RecordSet("web.corp.internal.", "A", 60, ("10.0.0.1",)))
    await dns.delete_zone("corp.internal")
    await dns.delete_zone(ZONE)
    assert dns.lookup("web.corp.internal.", "A") == ()
    assert await dns.zones(ACCOUNT) == []


async def test_lookup_picks_the_most_specific_zone() -> None:
    dns = await backend_with_zone()
    await dns.ensure_zone("dev.corp.internal.", ACCOUNT)
    await dns.replace(
        "dev.corp.internal.", RecordSet("a.dev.corp.internal.", "A", 60, ("1.1.1.1",))
    )
    assert dns.lookup("a.dev.corp.internal", "A") == ("1.1.1.1",)
    assert dns.lookup("a.elsewhere.example", "A") == ()


@pytest.mark.parametrize(
    ("rrset", "reason"),
    [
        (RecordSet("www.other.example.", "A", 60, ("10.0.0.1",)), "Name is out of zone"),
        (RecordSet("a.corp.internal.", "A", 60, ("10.0.0.300",)), "Not in expected format"),
        (RecordSet("a.corp.internal.", "A", 60, ("1.1.1.1", "1.1.1.1")), "Duplicate record"),
        (RecordSet("a.corp.internal.", "AAAA", 60, ("2001:DB8::1",)), "Not in expected format"),
        (RecordSet("a.corp.internal.", "TXT", 60, ("unquoted",)), "Not in expected format"),
        (RecordSet("a.corp.internal.", "MX", 60, ("10 mail.example",)), "Not in expected format"),
        (RecordSet("a.corp.internal.", "MX", 60, ("mail.example.",)), "Not in expected format"),
        (RecordSet("a.corp.internal.", "SRV", 60, ("1 2 x.example.",)), "Not in expected format"),
        (RecordSet("a.corp.internal.", "CNAME", 60, ("web",)), "Not in expected format"),
        (
            RecordSet("a.corp.internal.", "CNAME", 60, ("x.example.", "y.example.")),
            "has more than one record",
        ),
        (RecordSet(ZONE, "CNAME", 60, ("x.example.",)), "Conflicts with pre-existing RRset"),
    ],
)
async def test_what_powerdns_refuses_is_refused(rrset: RecordSet, reason: str) -> None:
    dns = await backend_with_zone()
    with pytest.raises(InvalidInput, match=reason):
        await dns.replace(ZONE, rrset)


async def test_cname_cannot_join_or_be_joined_by_other_types() -> None:
    dns = await backend_with_zone()
    await dns.replace(ZONE, RecordSet("c.corp.internal.", "CNAME", 60, ("web.corp.internal.",)))
    with pytest.raises(InvalidInput, match="Conflicts with pre-existing RRset"):
        await dns.replace(ZONE, RecordSet("c.corp.internal.", "A", 60, ("10.0.0.1",)))
    await dns.replace(ZONE, RecordSet("a.corp.internal.", "A", 60, ("10.0.0.1",)))
    with pytest.raises(InvalidInput, match="Conflicts with pre-existing RRset"):
        await dns.replace(ZONE, RecordSet("a.corp.internal.", "CNAME", 60, ("web.corp.internal.",)))
    await dns.replace(ZONE, RecordSet("c.corp.internal.", "CNAME", 60, ("other.corp.internal.",)))
    assert dns.lookup("c.corp.internal.", "CNAME") == ("other.corp.internal.",)


async def test_a_down_backend_raises_backend_unavailable_everywhere() -> None:
    dns = await backend_with_zone()
    dns.down = True
    calls = [
        dns.ping(),
        dns.ensure_zone(ZONE, ACCOUNT),
        dns.delete_zone(ZONE),
        dns.zones(ACCOUNT),
        dns.replace(ZONE, RecordSet("a.corp.internal.", "A", 60, ("10.0.0.1",))),
        dns.remove(ZONE, "a.corp.internal.", "A"),
        dns.records(ZONE),
    ]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="scripts/powerdns.sh start"):
            await call
    dns.down = False
    await dns.ping()
    assert dns.calls[-1] == ("ping", "")
    assert await dns.zones(ACCOUNT) == [ZONE]
