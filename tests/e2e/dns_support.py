"""Where e2e servers find the PowerDNS server of `scripts/powerdns.sh start`, and the
clean-up of the zones a server of one installation left there."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SET_UP = "run `scripts/powerdns.sh start` (as root: it installs and starts PowerDNS)"


def dns_env() -> dict[str, str]:
    """THECLOUD_DNS_* from the environment (`export $(scripts/powerdns.sh env)`), else the
    script's defaults: the API on 127.0.0.1:8081 with the key file under ./data/powerdns."""
    key = os.environ.get("THECLOUD_DNS_API_KEY", "")
    if not key:
        key_file = Path(os.environ.get("THECLOUD_DNS_DIR") or REPO / "data/powerdns") / "api-key"
        key = key_file.read_text().strip() if key_file.is_file() else ""
    return {
        "THECLOUD_DNS_API_URL": os.environ.get("THECLOUD_DNS_API_URL") or "http://127.0.0.1:8081",
        "THECLOUD_DNS_API_KEY": key,
        "THECLOUD_DNS_SERVER": os.environ.get("THECLOUD_DNS_SERVER") or "127.0.0.1:5300",
    }


def remove_zones(installation: str) -> None:
    """Delete the zones a server of this installation left on the DNS server (none when it
    cannot be reached: then the server never made any)."""
    env = dns_env()
    base = env["THECLOUD_DNS_API_URL"].rstrip("/") + "/api/v1/servers/localhost"
    headers = {"X-API-Key": env["THECLOUD_DNS_API_KEY"]}
    try:
        listed = httpx.get(f"{base}/zones", headers=headers, timeout=10)
        if listed.status_code != 200:
            return
        for zone in listed.json():
            if zone.get("account") == f"thecloud:{installation}":
                httpx.delete(f"{base}/zones/{zone['id']}", headers=headers, timeout=10)
    except httpx.HTTPError:
        return
