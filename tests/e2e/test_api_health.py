"""Health probes, Prometheus metrics and the API's own documentation, served by the server."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Server


def test_liveness_and_readiness(server: Server) -> None:
    live = httpx.get(f"{server.url}/health/live")
    assert live.status_code == 200 and live.json()["data"]["status"] == "ok"
    ready = httpx.get(f"{server.url}/health/ready").json()["data"]
    checks = {"database": "ok", "container_engine": "ok", "dns": "ok"}
    assert ready == {"status": "ok", "checks": checks}


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of the first sample of `name` whose labels match the `labels` patterns."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(
            re.search(f'{k}="{v}"', line) for k, v in labels.items()
        ):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_count_requests_by_route_template(server: Server, client: httpx.Client) -> None:
    assert client.post("/secrets", json={"name": "metered", "value": "v"}).status_code == 201
    assert client.get("/secrets/metered").status_code == 200
    r = httpx.get(f"{server.url}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert (
        _sample(text, "thecloud_http_requests_total", method="POST", route="/secrets", status="201")
        >= 1
    )
    assert (
        _sample(
            text, "thecloud_http_requests_total", method="GET", route=r"/secrets/\{secret(:path)?\}"
        )
        >= 1
    )
    assert 'route="/secrets/metered"' not in text  # templates, not raw paths
    assert "thecloud_http_request_duration_seconds_bucket" in text
    assert _sample(text, "thecloud_resources", kind="secrets") >= 1
    assert _sample(text, "thecloud_resources", kind="users") >= 1


def test_openapi_document_describes_the_api(server: Server) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert re.match(r"3\.\d+\.\d+", doc["openapi"]) and doc["info"]["title"] == "The Cloud"
    for path in ("/secrets", "/secrets/{secret}", "/iam/policies", "/oauth2/token", "/audit"):
        assert path in doc["paths"], path
    schemes = doc["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"apiKey", "http"}
    for operation in (op for item in doc["paths"].values() for op in item.values()):
        assert "422" not in operation["responses"], operation["operationId"]
        error = operation["responses"]["4XX"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}
    token = doc["paths"]["/oauth2/token"]["post"]["requestBody"]["content"]
    assert set(token) == {"application/json", "application/x-www-form-urlencoded"}
    envelope = doc["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["required"]) == {"error", "meta"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_swagger_ui_is_served(server: Server) -> None:
    r = httpx.get(f"{server.url}/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
