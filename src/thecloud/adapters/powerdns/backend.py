"""The DNS backend on a PowerDNS authoritative server, through its HTTP API (v1, 4.7+)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from thecloud.ports.dns import NAMESERVER, RecordSet, absolute

SET_UP = "run scripts/powerdns.sh start"
# refresh, retry, expire, and the TTL of negative answers: short, since records change often.
SOA_TIMERS = "10800 3600 604800 60"


def zone_id(name: str) -> str:
    """The API's id of a zone: its absolute name with every character but [A-Za-z0-9.-]
    written as =XX (PowerDNS's apiZoneNameToId); the root zone is "=2E"."""
    absolute = name if name.endswith(".") else name + "."
    if absolute == ".":
        return "=2E"
    return "".join(
        c if (c.isascii() and c.isalnum()) or c in ".-" else f"={ord(c):02X}" for c in absolute
    )


class PowerDnsBackend:
    """Zones are Native (no transfers), carry the account label, and get the SOA and NS the
    platform chooses; SOA-EDIT-API DEFAULT makes PowerDNS bump the serial on every change."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        server_id: str = "localhost",
        timeout: float = 10.0,
        nameserver: str = NAMESERVER,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.nameserver = absolute(nameserver)
        self._base = f"/api/v1/servers/{quote(server_id, safe='')}"
        self._client = httpx.AsyncClient(
            base_url=self.api_url,
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, self._base + path, json=body)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"the DNS server (PowerDNS) is unreachable at {self.api_url}: "
                f"{type(exc).__name__} {exc} — {SET_UP}"
            ) from exc
        status = response.status_code
        if status in (401, 403):
            raise BackendUnavailable(
                f"the DNS server (PowerDNS) at {self.api_url} refused the API key "
                f"(HTTP {status}): check THECLOUD_DNS_API_KEY (scripts/powerdns.sh env)"
            )
        if status in (400, 422):
            raise InvalidInput(f"the DNS server refused the change: {_error(response)}")
        if status >= 500:
            raise BackendUnavailable(
                f"the DNS server (PowerDNS) at {self.api_url} failed (HTTP {status}): "
                f"{_error(response)}"
            )
        return response

    def _zone_path(self, zone: str) -> str:
        return "/zones/" + quote(zone_id(absolute(zone)), safe="=.-")

    async def ping(self) -> None:
        response = await self._call("GET", "")
        _expect(response, 200, "reading the server")

    async def ensure_zone(self, zone: str, account: str) -> None:
        name = absolute(zone)
        soa = f"{self.nameserver} hostmaster.{name} 0 {SOA_TIMERS}"
        body = {
            "name": name,
            "kind": "Native",
            "account": account,
            "nameservers": [self.nameserver],
            "soa_edit_api": "DEFAULT",
            "rrsets": [_rrset(RecordSet(name, "SOA", 300, (soa,)), None)],
        }
        response = await self._call("POST", "/zones", body)
        if response.status_code == 409:
            await self._check_account(name, account)
            return
        _expect(response, 201, f"creating zone {name}")
        # A server with its packet cache on would keep answering REFUSED for names of the zone
        # that were asked before it existed; changes to a zone purge that cache, creation not.
        flushed = await self._call("PUT", f"/cache/flush?domain={quote(name, safe='')}")
        _expect(flushed, 200, f"flushing the cache of zone {name}")

    async def _check_account(self, name: str, account: str) -> None:
        response = await self._call("GET", self._zone_path(name) + "?rrsets=false")
        if response.status_code == 404:  # deleted in between: let the caller retry
            raise Conflict(f"DNS zone {name} was being deleted on the DNS server; try again")
        _expect(response, 200, f"reading zone {name}")
        owner = str(response.json().get("account", ""))
        if owner != account:
            raise Conflict(
                f"DNS zone {name} already exists on the DNS server for another account ('{owner}')"
            )

    async def delete_zone(self, zone: str) -> None:
        response = await self._call("DELETE", self._zone_path(zone))
        if response.status_code != 404:
            _expect(response, 204, f"deleting zone {absolute(zone)}")

    async def zones(self, account: str) -> list[str]:
        response = await self._call("GET", "/zones")
        _expect(response, 200, "listing zones")
        listed: list[dict[str, Any]] = response.json()
        return sorted(str(z["name"]) for z in listed if z.get("account") == account)

    async def replace(self, zone: str, rrset: RecordSet) -> None:
        await self._patch(zone, _rrset(rrset, "REPLACE"))

    async def remove(self, zone: str, name: str, type: str) -> None:
        apex, fqdn, kind = absolute(zone), absolute(name), type.upper()
        if kind == "SOA" and fqdn == apex:  # PowerDNS would accept it and stop answering
            raise InvalidInput(f"the SOA record of zone {apex} cannot be removed")
        change = {"name": fqdn, "type": kind, "changetype": "DELETE"}
        await self._patch(zone, change, missing_ok=True)

    async def _patch(self, zone: str, change: dict[str, Any], *, missing_ok: bool = False) -> None:
        response = await self._call("PATCH", self._zone_path(zone), {"rrsets": [change]})
        if response.status_code == 404:
            if missing_ok:
                return
            raise NotFound(f"DNS zone {absolute(zone)} not found on the DNS server")
        _expect(response, 204, f"changing zone {absolute(zone)}")

    async def records(self, zone: str) -> list[RecordSet]:
        response = await self._call("GET", self._zone_path(zone))
        if response.status_code == 404:
            raise NotFound(f"DNS zone {absolute(zone)} not found on the DNS server")
        _expect(response, 200, f"reading zone {absolute(zone)}")
        return [_from_api(r) for r in response.json().get("rrsets", [])]


def _rrset(rrset: RecordSet, changetype: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": absolute(rrset.name),
        "type": rrset.type.upper(),
        "ttl": rrset.ttl,
        "records": [{"content": c, "disabled": False} for c in rrset.contents],
    }
    if changetype is not None:
        body["changetype"] = changetype
    return body


def _from_api(rrset: dict[str, Any]) -> RecordSet:
    contents = tuple(str(r["content"]) for r in rrset.get("records", []) if not r.get("disabled"))
    return RecordSet(str(rrset["name"]), str(rrset["type"]), int(rrset["ttl"]), contents)


def _error(response: httpx.Response) -> str:
    """PowerDNS's reason: the `error` of its JSON body, else the body's text."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return str(payload["error"])
    return response.text.strip()[:500] or response.reason_phrase


def _expect(response: httpx.Response, status: int, doing: str) -> None:
    if response.status_code != status:
        raise BackendUnavailable(
            f"the DNS server (PowerDNS) answered HTTP {response.status_code} when {doing}: "
            f"{_error(response)}"
        )
