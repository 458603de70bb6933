"""Idempotency keys: replay of the first response, conflicts, abandonment and expiry."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Harness, unit_settings
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.services.idempotency import STALE_AFTER

BODY, OTHER_BODY = "a" * 64, "b" * 64
RESPONSE = b'{"data": {"id": "s1"}}'


async def first_run(h: Harness, key: str = "k1", principal: str = "p1") -> None:
    """Begin (nothing to replay) and complete a request."""
    assert await h.cloud.idempotency.begin(principal, key, "POST", "/secrets", BODY) is None
    await h.cloud.idempotency.complete(principal, key, 201, RESPONSE)


async def test_same_key_and_body_replays_the_first_response(h: Harness) -> None:
    await first_run(h)
    h.clock.advance(3600)
    record = await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY)
    assert record is not None and (record.status_code, record.response) == (201, RESPONSE)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/secrets", OTHER_BODY), ("POST", "/roles", BODY), ("PUT", "/secrets", BODY)],
)
async def test_same_key_for_a_different_request_is_a_conflict(
    h: Harness, method: str, path: str, body: str
) -> None:
    await first_run(h)
    with pytest.raises(Conflict, match="different request"):
        await h.cloud.idempotency.begin("p1", "k1", method, path, body)


async def test_a_request_in_progress_is_a_conflict(h: Harness) -> None:
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY) is None
    with pytest.raises(Conflict, match="in progress"):
        await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY)


async def test_a_stale_request_in_progress_may_be_retried(h: Harness) -> None:
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY) is None
    h.clock.advance(STALE_AFTER.total_seconds() + 1)
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY) is None
    with pytest.raises(Conflict, match="in progress"):
        await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY)


async def test_abandon_allows_a_retry_with_any_body(h: Harness) -> None:
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY) is None
    await h.cloud.idempotency.abandon("p1", "k1")
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", OTHER_BODY) is None


async def test_keys_expire_after_their_ttl(h: Harness) -> None:
    await first_run(h)
    ttl = unit_settings().idempotency_ttl_hours * 3600
    h.clock.advance(ttl)
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", BODY) is not None
    h.clock.advance(1)
    assert await h.cloud.idempotency.begin("p1", "k1", "POST", "/secrets", OTHER_BODY) is None


async def test_keys_are_scoped_to_the_principal(h: Harness) -> None:
    await first_run(h, principal="p1")
    assert await h.cloud.idempotency.begin("p2", "k1", "POST", "/secrets", OTHER_BODY) is None


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_key_length_is_validated(h: Harness, key: str) -> None:
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        await h.cloud.idempotency.begin("p1", key, "POST", "/secrets", BODY)


async def test_stored_responses_are_sealed(h: Harness) -> None:
    """A replayable response may hold a credential shown once; the store keeps ciphertext."""
    await first_run(h)
    async with h.cloud.uow(read_only=True) as uow:
        stored = await uow.idempotency.get("p1:k1")
    assert stored is not None and b"s1" not in stored.response
    assert await h.cloud.idempotency.begin("p2", "k1", "POST", "/secrets", BODY) is None
