"""DnsSync against the real PowerDNS server and a real metadata database: record sets pushed
from rows answer `dig`, the server hands every content back in the form the rows hold (so
the reconciler finds nothing to change on a second pass), and drift is repaired."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from tests.integration import builders as b
from tests.integration.builders import Db
from tests.integration.test_powerdns import SERVER_DOWN, answer, new_zone_name, settings
from thecloud.adapters.powerdns import PowerDnsBackend
from thecloud.domain.common import new_id
from thecloud.domain.dns import (
    DnsRecord,
    DnsZone,
    DnsZoneStatus,
    RecordType,
    clamp_ttl,
    record_content,
    record_fqdn,
)
from thecloud.domain.errors import BackendUnavailable
from thecloud.ports.dns import RecordSet
from thecloud.services.dns_sync import DnsSync

INSTALLATION = f"it-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def pdns() -> AsyncIterator[PowerDnsBackend]:
    url, key, _server = settings()
    backend = PowerDnsBackend(url, key, timeout=5.0)
    try:
        await backend.ping()
    except BackendUnavailable as exc:
        await backend.aclose()
        pytest.fail(f"{SERVER_DOWN} ({exc.message})", pytrace=False)
    try:
        yield backend
    finally:
        for name in await backend.zones(f"thecloud:{INSTALLATION}"):
            await backend.delete_zone(name)
        await backend.aclose()


def row(
    z: DnsZone, name: str, kind: RecordType, content: str, prio: int | None = None
) -> DnsRecord:
    rendered = record_content(kind, content, prio)
    return DnsRecord(
        new_id(), z.tenant_id, z.id, record_fqdn(name, z.name), kind, rendered, clamp_ttl(120),
        prio, None, b.BASE, b.BASE,
    )  # fmt: skip


async def test_rows_pushed_answer_and_a_second_pass_finds_nothing(
    db: Db, pdns: PowerDnsBackend
) -> None:
    _, t = await b.seed_tenant(db.uow)
    z = DnsZone(
        new_id(), t.id, new_zone_name(), "", None, DnsZoneStatus.ACTIVE, new_id(), b.BASE, b.BASE
    )
    rows = [
        row(z, "www", RecordType.A, "10.1.2.3"),
        row(z, "www", RecordType.A, "10.1.2.4"),
        row(z, "www", RecordType.AAAA, "2001:db8:0:0::7"),
        row(z, "docs", RecordType.CNAME, "www." + z.name),
        row(z, "@", RecordType.MX, "mail.example.com", 10),
        row(z, "@", RecordType.TXT, 'v=spf1 -all "quoted" \\ and ünïcode ' + "x" * 300),
        row(z, "_sip._tcp", RecordType.SRV, "5 5060 sip.example.com", 1),
    ]
    await b.add_all(db, "dns_zones", z)
    await b.add_all(db, "dns_records", *rows)
    sync = DnsSync(db.uow, pdns, INSTALLATION)
    assert await sync.reconcile(full=True) == 1 + 6  # the zone created, six record sets
    assert answer(f"www.{z.name}", "A") == ["10.1.2.3", "10.1.2.4"]
    assert answer(f"www.{z.name}", "AAAA") == ["2001:db8::7"]
    assert answer(f"docs.{z.name}", "CNAME") == [f"www.{z.name}"]
    assert answer(z.name, "MX") == ["10 mail.example.com."]
    assert answer(f"_sip._tcp.{z.name}", "SRV") == ["1 5 5060 sip.example.com."]
    assert len(answer(z.name, "TXT")) == 1
    assert await sync.reconcile(full=True) == 0  # the server's forms are the rows' forms

    await pdns.replace(z.name, RecordSet(f"www.{z.name}", "A", 60, ("10.9.9.9",)))
    await pdns.replace(z.name, RecordSet(f"stray.{z.name}", "A", 60, ("10.9.9.8",)))
    assert await sync.reconcile(full=True) == 2
    assert answer(f"www.{z.name}", "A") == ["10.1.2.3", "10.1.2.4"]
    assert answer(f"stray.{z.name}", "A") == []

    async with db.uow() as uow:
        await uow.dns_records.update(replace(rows[0], content="10.1.2.5", updated_at=b.at(1)))
        await sync.push(uow, z, [(rows[0].name, "A")])
        await uow.commit()
    assert answer(f"www.{z.name}", "A") == ["10.1.2.4", "10.1.2.5"]
    async with db.uow() as uow:  # the zone row is gone: the server's zone is an orphan
        await uow.dns_zones.delete(z.id)
        await uow.commit()
    assert await sync.reconcile() == 0  # seen once
    assert await sync.reconcile() == 1
    assert z.name not in await pdns.zones(sync.account)
