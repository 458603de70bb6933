"""Property-based fuzzing of every operation in /openapi.json against the running server.

Each generated request, valid or deliberately invalid, must get no 5xx and a response that
matches the schema declared for its status code. The fuzzing user authenticates with an API
key, except on the two operations that can revoke an API key: those get the same user's JWT,
so whatever the fuzzer sends there, the key the rest of the run depends on stays valid.

The operations are fuzzed one by one inside a single test (Hypothesis with a fixed seed), not
through schemathesis' pytest plugin: its lazy `from_fixture` loader, needed because the schema
only exists once the server runs, does not work with the pytest in use.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Server

EXAMPLES = 40
# A server-sent event stream never ends, so it has no response to check; test_api_activity
# covers it (and its parameter errors) with a reader that stops.
ENDLESS = {("GET", "/events/stream")}
REVOKES_A_KEY = {("DELETE", "/auth/keys/{key_id}"), ("POST", "/auth/keys/{key_id}/rotate")}
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,  # every status sent is documented (no undeclared 400 vs a 422)
    content_type_conformance,
]


def _credentials(case: Any, user: dict[str, str]) -> dict[str, str]:
    if (case.method.upper(), case.path) in REVOKES_A_KEY:
        return {"Authorization": f"Bearer {user['token']}"}
    return {"X-API-Key": user["api_key"]}


def _fuzz(operation: Any, mode: GenerationMode, server: Server, user: dict[str, str]) -> str:
    """'' if every example passed, else the operation and what schemathesis found."""

    @seed(20240601)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        headers = _credentials(case, user)
        case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        return ""  # nothing to make invalid: an operation without parameters or body
    except (Exception, BaseExceptionGroup) as exc:  # collected, all reported together below
        return f"{operation.label} [{mode.value}]: {exc}"
    return ""


def test_every_operation_honours_its_schema(server: Server) -> None:
    user = server.register("fuzzer")
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in ENDLESS]
    assert len(operations) > 40
    found = [
        _fuzz(operation, mode, server, user)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    failures = [f for f in found if f]
    assert not failures, "\n\n".join(failures)
    with server.api(user) as c:
        assert c.get("/auth/me").status_code == 200  # the run never locked its user out
