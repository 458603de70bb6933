"""The secrets manager over HTTP: values only where asked for, versions, access times."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import assert_error

REDACTED = "[REDACTED]"


def _create(client: httpx.Client, name: str, value: str) -> dict[str, object]:
    r = client.post("/secrets", json={"name": name, "value": value, "description": "d"})
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()["data"]
    return data


def test_value_is_shown_only_by_id_or_name(client: httpx.Client) -> None:
    created = _create(client, "db-password", "hunter2")
    assert created["value"] == REDACTED and created["version"] == 1
    assert "ciphertext" not in created and "nonce" not in created
    by_id = client.get(f"/secrets/{created['id']}").json()["data"]
    by_name = client.get("/secrets/db-password").json()["data"]
    assert by_id["value"] == by_name["value"] == "hunter2"
    listed = client.get("/secrets").json()["data"]
    assert [s["value"] for s in listed] == [REDACTED]
    assert "hunter2" not in client.get("/secrets").text


def test_reading_records_last_accessed_at(client: httpx.Client) -> None:
    created = _create(client, "touched", "v")
    assert created["last_accessed_at"] is None
    first = client.get("/secrets/touched").json()["data"]["last_accessed_at"]
    assert first is not None
    deadline = time.monotonic() + 5
    later = first
    while later == first and time.monotonic() < deadline:
        later = client.get("/secrets/touched").json()["data"]["last_accessed_at"]
    assert later > first
    listed = client.get("/secrets", params={"name": "touched"}).json()["data"][0]
    assert listed["last_accessed_at"] == later


def test_put_value_creates_a_new_version(client: httpx.Client) -> None:
    created = _create(client, "rotating", "one")
    r = client.put("/secrets/rotating", json={"value": "two"})
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["version"], r.json()["data"]["value"]) == (2, REDACTED)
    assert client.get(f"/secrets/{created['id']}").json()["data"]["value"] == "two"
    r = client.put(f"/secrets/{created['id']}", json={"description": "only the text"})
    assert (r.json()["data"]["version"], r.json()["data"]["description"]) == (2, "only the text")
    assert client.get("/secrets/rotating").json()["data"]["value"] == "two"


def test_empty_fields_are_400_and_absent_secrets_404(client: httpx.Client) -> None:
    assert_error(client.post("/secrets", json={"name": "", "value": "v"}), 400, "INVALID_INPUT")
    assert_error(client.post("/secrets", json={"name": "ok", "value": ""}), 400, "INVALID_INPUT")
    assert_error(client.put("/secrets/absent", json={"value": "v"}), 404, "NOT_FOUND")
    assert_error(client.delete("/secrets/absent"), 404, "NOT_FOUND")
