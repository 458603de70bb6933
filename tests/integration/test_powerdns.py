"""The PowerDNS adapter against the real server, proven with `dig`.

The server is the one of `scripts/powerdns.sh start`. Where it is comes from the environment
(`eval "$(scripts/powerdns.sh env)"` prints THECLOUD_DNS_API_URL, THECLOUD_DNS_API_KEY and
THECLOUD_DNS_SERVER), else from the script's defaults: the API on http://127.0.0.1:8081 with
the key in ${THECLOUD_DNS_DIR:-./data/powerdns}/api-key, DNS on 127.0.0.1:5300. Without a
server answering, the tests fail naming that step. Every test works in zones of its own
(t<hex>.test.), deleted afterwards whatever happened.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from thecloud.adapters.powerdns import PowerDnsBackend, zone_id
from thecloud.domain.dns import record_content
from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from thecloud.ports.dns import RecordSet

REPO = Path(__file__).resolve().parents[2]
RUN_ID = uuid.uuid4().hex[:8]
ACCOUNT = f"thecloud:test-{RUN_ID}"
SERVER_DOWN = (
    "the PowerDNS server is not answering: run `scripts/powerdns.sh start` as root "
    "(it installs and starts it; `scripts/powerdns.sh env` prints where it is)"
)


def settings() -> tuple[str, str, str]:
    """The API URL, the API key and the DNS server (host:port) of the test server."""
    url = os.environ.get("THECLOUD_DNS_API_URL") or "http://127.0.0.1:8081"
    key = os.environ.get("THECLOUD_DNS_API_KEY", "")
    if not key:
        key_file = Path(os.environ.get("THECLOUD_DNS_DIR") or REPO / "data/powerdns") / "api-key"
        if not key_file.is_file():
            pytest.fail(f"{SERVER_DOWN} ({key_file} does not exist)", pytrace=False)
        key = key_file.read_text().strip()
    server = os.environ.get("THECLOUD_DNS_SERVER") or "127.0.0.1:5300"
    return url, key, server


def dig(name: str, kind: str, *options: str) -> str:
    """What `dig` prints when asking the test server for `name` `kind`."""
    if shutil.which("dig") is None:
        pytest.fail("dig is missing: run `scripts/powerdns.sh start` (installs dnsutils)")
    host, port = settings()[2].rsplit(":", 1)
    command = ["dig", f"@{host}", "-p", port, "+norecurse", "+time=2", "+tries=2"]
    done = subprocess.run(  # noqa: S603
        [*command, *options, name, kind], capture_output=True, text=True, timeout=15, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def answer(name: str, kind: str) -> list[str]:
    """The answer's records, one presentation-form line each (dig +short)."""
    return sorted(line for line in dig(name, kind, "+short").splitlines() if line)


def status(name: str, kind: str = "A") -> str:
    """The response code: NOERROR, NXDOMAIN, REFUSED, ..."""
    found = re.search(r"status: ([A-Z]+)", dig(name, kind, "+noall", "+comments"))
    assert found, f"no status in dig's output for {name} {kind}"
    return found.group(1)


def new_zone_name() -> str:
    return f"t{uuid.uuid4().hex[:12]}.test."


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
        await backend.aclose()


@pytest.fixture
async def zone(pdns: PowerDnsBackend) -> AsyncIterator[str]:
    name = new_zone_name()
    await pdns.ensure_zone(name, ACCOUNT)
    try:
        yield name
    finally:
        await pdns.delete_zone(name)


def serial(zone: str) -> int:
    [soa] = answer(zone, "SOA")
    return int(soa.split()[2])


async def test_a_record_answers_and_a_replacement_answers_at_once(
    pdns: PowerDnsBackend, zone: str
) -> None:
    name = f"web.{zone}"
    assert status(name) == "NXDOMAIN"
    before = serial(zone)
    await pdns.replace(zone, RecordSet(name, "A", 60, ("10.0.0.1", "10.0.0.2")))
    assert answer(name, "A") == ["10.0.0.1", "10.0.0.2"]
    await pdns.replace(zone, RecordSet(name, "A", 60, ("10.0.0.3",)))
    assert answer(name, "A") == ["10.0.0.3"]
    assert serial(zone) > before
    assert dig(name, "A", "+noall", "+answer").split() == [name, "60", "IN", "A", "10.0.0.3"]


async def test_a_zone_asked_for_before_it_existed_answers_once_created(
    pdns: PowerDnsBackend,
) -> None:
    name = new_zone_name()
    assert status(f"web.{name}") == "REFUSED"  # not ours (yet): may sit in a packet cache
    await pdns.ensure_zone(name, ACCOUNT)
    try:
        assert status(f"web.{name}") == "NXDOMAIN"
        await pdns.replace(name, RecordSet(f"web.{name}", "A", 60, ("10.0.0.4",)))
        assert answer(f"web.{name}", "A") == ["10.0.0.4"]
    finally:
        await pdns.delete_zone(name)


async def test_new_zone_answers_with_soa_and_ns(pdns: PowerDnsBackend, zone: str) -> None:
    assert answer(zone, "NS") == ["ns1.thecloud.internal."]
    [soa] = answer(zone, "SOA")
    assert soa.startswith(f"ns1.thecloud.internal. hostmaster.{zone} ")
    assert soa.endswith(" 10800 3600 604800 60")
    assert status(zone, "SOA") == "NOERROR"
    kinds = {(r.name, r.type) for r in await pdns.records(zone)}
    assert kinds == {(zone, "SOA"), (zone, "NS")}


RENDERED = [
    ("v6", "AAAA", "2001:DB8:0::10", None),
    ("alias", "CNAME", "target.example.org", None),
    ("@", "MX", "mail.example.org", 10),
    ("nomail", "MX", ".", 0),
    ("_sip._tcp", "SRV", "5 5060 sip.example.org", 20),
    ("txt", "TXT", 'v=spf1 -all "quoted" back\\slash', None),
    ("long", "TXT", "x" * 300 + "é", None),
]


@pytest.mark.parametrize(("relative", "kind", "content", "priority"), RENDERED)
async def test_each_type_answers_in_its_presentation_form(
    pdns: PowerDnsBackend, zone: str, relative: str, kind: str, content: str, priority: int | None
) -> None:
    name = zone if relative == "@" else f"{relative}.{zone}"
    rendered = record_content(kind, content, priority)
    await pdns.replace(zone, RecordSet(name, kind, 120, (rendered,)))
    assert answer(name, kind) == [rendered]
    # What the API reports back is exactly what was written: a reconciler can compare them.
    [stored] = [r for r in await pdns.records(zone) if (r.name, r.type) == (name, kind)]
    assert stored == RecordSet(name, kind, 120, (rendered,))


async def test_txt_chunks_reach_the_resolver_as_separate_strings(
    pdns: PowerDnsBackend, zone: str
) -> None:
    name = f"long.{zone}"
    await pdns.replace(zone, RecordSet(name, "TXT", 60, (record_content("TXT", "ab" * 200),)))
    [line] = answer(name, "TXT")
    assert line == f'"{"ab" * 127}a" "b{"ab" * 72}"'


async def test_cname_is_followed_and_wildcards_answer(pdns: PowerDnsBackend, zone: str) -> None:
    await pdns.replace(zone, RecordSet(f"web.{zone}", "A", 60, ("10.0.0.7",)))
    await pdns.replace(zone, RecordSet(f"www.{zone}", "CNAME", 60, (f"web.{zone}",)))
    await pdns.replace(zone, RecordSet(f"*.apps.{zone}", "A", 60, ("10.0.0.8",)))
    assert answer(f"www.{zone}", "A") == ["10.0.0.7", f"web.{zone}"]
    assert answer(f"anything.apps.{zone}", "A") == ["10.0.0.8"]


async def test_removed_rrsets_and_deleted_zones_stop_answering(pdns: PowerDnsBackend) -> None:
    name = new_zone_name()
    await pdns.ensure_zone(name, ACCOUNT)
    try:
        await pdns.replace(name, RecordSet(f"gone.{name}", "A", 60, ("10.0.0.1",)))
        await pdns.replace(name, RecordSet(f"kept.{name}", "A", 60, ("10.0.0.2",)))
        await pdns.replace(name, RecordSet(f"kept.{name}", "TXT", 60, ('"still here"',)))
        assert answer(f"gone.{name}", "A") == ["10.0.0.1"]
        await pdns.remove(name, f"gone.{name}", "A")
        await pdns.remove(name, f"gone.{name}", "A")  # a missing record set is fine
        await pdns.replace(name, RecordSet(f"kept.{name}", "A", 60, ()))  # no contents: removed
        assert status(f"gone.{name}") == "NXDOMAIN"
        assert answer(f"kept.{name}", "A") == []
        assert answer(f"kept.{name}", "TXT") == ['"still here"']
    finally:
        await pdns.delete_zone(name)
    assert status(f"kept.{name}", "TXT") == "REFUSED"
    assert status(name, "SOA") == "REFUSED"
    assert name not in await pdns.zones(ACCOUNT)
    await pdns.delete_zone(name)  # a missing zone is fine


async def test_ensure_zone_is_idempotent_within_an_account(
    pdns: PowerDnsBackend, zone: str
) -> None:
    await pdns.replace(zone, RecordSet(f"web.{zone}", "A", 60, ("10.0.0.1",)))
    await pdns.ensure_zone(zone, ACCOUNT)
    await pdns.ensure_zone(zone.upper().rstrip("."), ACCOUNT)
    assert answer(f"web.{zone}", "A") == ["10.0.0.1"]
    with pytest.raises(Conflict, match="already exists on the DNS server for another account"):
        await pdns.ensure_zone(zone, f"{ACCOUNT}-other")


async def test_zones_lists_only_the_accounts_zones(pdns: PowerDnsBackend) -> None:
    mine, theirs = f"{ACCOUNT}-mine", f"{ACCOUNT}-theirs"
    names = {n: new_zone_name() for n in ("a", "b", "c")}
    try:
        await pdns.ensure_zone(names["a"], mine)
        await pdns.ensure_zone(names["b"], mine)
        await pdns.ensure_zone(names["c"], theirs)
        assert await pdns.zones(mine) == sorted([names["a"], names["b"]])
        assert await pdns.zones(theirs) == [names["c"]]
        assert await pdns.zones(f"{ACCOUNT}-nobody") == []
    finally:
        for name in names.values():
            await pdns.delete_zone(name)


async def test_refused_changes_are_invalid_input_with_the_reason(
    pdns: PowerDnsBackend, zone: str
) -> None:
    cases = [
        (RecordSet(f"a.{zone}", "A", 60, ("10.0.0.300",)), "unable to parse IP address"),
        (RecordSet("a.elsewhere.example.", "A", 60, ("10.0.0.1",)), "Name is out of zone"),
        (RecordSet(f"a.{zone}", "TXT", 60, ("unquoted",)), "Not in expected format"),
        (RecordSet(f"a.{zone}", "MX", 60, ("10 mail.example",)), "Not in expected format"),
        (RecordSet(f"a.{zone}", "A", 60, ("10.0.0.1", "10.0.0.1")), "Duplicate record"),
        (RecordSet(zone, "CNAME", 60, ("x.example.",)), "Conflicts with pre-existing RRset"),
    ]
    for rrset, reason in cases:
        with pytest.raises(InvalidInput, match=reason) as caught:
            await pdns.replace(zone, rrset)
        assert caught.value.message.startswith("the DNS server refused the change: ")
    await pdns.replace(zone, RecordSet(f"c.{zone}", "CNAME", 60, (f"web.{zone}",)))
    with pytest.raises(InvalidInput, match="Conflicts with pre-existing RRset"):
        await pdns.replace(zone, RecordSet(f"c.{zone}", "A", 60, ("10.0.0.1",)))
    assert answer(f"a.{zone}", "A") == []


async def test_the_soa_cannot_be_removed(pdns: PowerDnsBackend, zone: str) -> None:
    with pytest.raises(InvalidInput, match="SOA record of zone .* cannot be removed"):
        await pdns.remove(zone, zone, "SOA")
    assert status(zone, "SOA") == "NOERROR"


async def test_a_missing_zone(pdns: PowerDnsBackend) -> None:
    missing = new_zone_name()
    with pytest.raises(NotFound, match=f"DNS zone {missing} not found"):
        await pdns.replace(missing, RecordSet(f"a.{missing}", "A", 60, ("10.0.0.1",)))
    with pytest.raises(NotFound):
        await pdns.records(missing)
    await pdns.remove(missing, f"a.{missing}", "A")
    await pdns.delete_zone(missing)


async def test_zone_ids_are_escaped_as_powerdns_expects(pdns: PowerDnsBackend) -> None:
    assert zone_id("example.com.") == "example.com."
    assert zone_id("example.com") == "example.com."
    assert zone_id("_tcp.a/b.example.") == "=5Ftcp.a=2Fb.example."
    assert zone_id(".") == "=2E"
    odd = f"x_{uuid.uuid4().hex[:8]}.test."  # PowerDNS accepts '_'; the API id is x=5F...
    await pdns.ensure_zone(odd, ACCOUNT)
    try:
        await pdns.replace(odd, RecordSet(f"web.{odd}", "A", 60, ("10.0.0.9",)))
        assert (f"web.{odd}", "A") in {(r.name, r.type) for r in await pdns.records(odd)}
        assert answer(f"web.{odd}", "A") == ["10.0.0.9"]
    finally:
        await pdns.delete_zone(odd)
    with pytest.raises(NotFound):
        await pdns.records(odd)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_backend_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    backend = PowerDnsBackend(url, "key", timeout=2.0)
    try:
        for call in (backend.ping(), backend.zones(ACCOUNT), backend.ensure_zone("a.test.", "x")):
            with pytest.raises(BackendUnavailable) as caught:
                await call
            assert f"unreachable at {url}" in caught.value.message
            assert "scripts/powerdns.sh start" in caught.value.message
    finally:
        await backend.aclose()


async def test_a_wrong_api_key_is_backend_unavailable(pdns: PowerDnsBackend) -> None:
    backend = PowerDnsBackend(settings()[0], "not-the-key", timeout=5.0)
    try:
        with pytest.raises(BackendUnavailable, match="refused the API key \\(HTTP 401\\)"):
            await backend.ping()
    finally:
        await backend.aclose()
