"""Envelope keys of object data: AES-GCM wrapping by tenant key or SSE-C key, and its fake."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thecloud.adapters.crypto.keys import derive
from thecloud.adapters.crypto.primitives import AesGcmDataKeys
from thecloud.adapters.memory.crypto import PlainDataKeys
from thecloud.domain.errors import CloudError, Forbidden, InvalidInput
from thecloud.ports.crypto import DataKeys

MASTER, OTHER_MASTER = bytes(range(32)), bytes(range(1, 33))
CUSTOMER, OTHER_CUSTOMER = b"c" * 32, b"d" * 32
AAD = b"tenant-a/bucket/key/version"


@pytest.fixture(params=["aesgcm", "plain"])
def keys(request: pytest.FixtureRequest) -> DataKeys:
    return AesGcmDataKeys(MASTER) if request.param == "aesgcm" else PlainDataKeys()


def test_new_keys_are_random_and_32_bytes(keys: DataKeys) -> None:
    first, second = keys.new(), keys.new()
    assert len(first) == 32 and first != second


@pytest.mark.parametrize("customer", [None, CUSTOMER])
def test_a_sealed_key_opens_with_what_sealed_it(keys: DataKeys, customer: bytes | None) -> None:
    data_key = keys.new()
    sealed = keys.seal("tenant-a", data_key, AAD, customer)
    assert isinstance(sealed, str)
    assert keys.open("tenant-a", sealed, AAD, customer) == data_key


def test_the_wrong_tenant_or_aad_is_forbidden(keys: DataKeys) -> None:
    sealed = keys.seal("tenant-a", keys.new(), AAD)
    for tenant, aad in [("tenant-b", AAD), ("tenant-a", AAD + b"x")]:
        with pytest.raises(Forbidden, match="key"):
            keys.open(tenant, sealed, aad)


def test_a_wrong_customer_key_is_forbidden_and_says_so(keys: DataKeys) -> None:
    sealed = keys.seal("tenant-a", keys.new(), AAD, CUSTOMER)
    with pytest.raises(Forbidden, match="customer key does not match") as caught:
        keys.open("tenant-a", sealed, AAD, OTHER_CUSTOMER)
    assert caught.value.code == "FORBIDDEN"
    with pytest.raises(Forbidden):  # an SSE-C object does not open with the tenant's key
        keys.open("tenant-a", sealed, AAD)
    with pytest.raises(Forbidden, match="customer key does not match"):
        keys.open("tenant-a", keys.seal("tenant-a", keys.new(), AAD), AAD, CUSTOMER)


def test_a_customer_key_must_be_32_bytes(keys: DataKeys) -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        keys.seal("tenant-a", keys.new(), AAD, b"k" * 16)


def test_a_mangled_sealed_key_is_an_error(keys: DataKeys) -> None:
    for sealed in ("not base64!", "", "AAAA"):
        with pytest.raises(CloudError):
            keys.open("tenant-a", sealed, AAD)


def test_the_sealed_form_is_base64_of_nonce_and_ciphertext() -> None:
    data_key = AesGcmDataKeys(MASTER).new()
    sealed = AesGcmDataKeys(MASTER).seal("tenant-a", data_key, AAD)
    raw = base64.b64decode(sealed, validate=True)
    assert len(raw) == 12 + 32 + 16 and data_key not in raw
    tenant_key = derive(MASTER, "thecloud/objects/tenant/tenant-a")
    assert AESGCM(tenant_key).decrypt(raw[:12], raw[12:], AAD) == data_key
    assert AesGcmDataKeys(MASTER).open("tenant-a", sealed, AAD) == data_key


def test_sse_c_wraps_with_the_customer_key_itself() -> None:
    data_key = AesGcmDataKeys(MASTER).new()
    raw = base64.b64decode(AesGcmDataKeys(MASTER).seal("tenant-a", data_key, AAD, CUSTOMER))
    assert AESGCM(CUSTOMER).decrypt(raw[:12], raw[12:], AAD) == data_key
    # the master key plays no part: another server with the customer's key can open it
    sealed = base64.b64encode(raw).decode()
    assert AesGcmDataKeys(OTHER_MASTER).open("tenant-b", sealed, AAD, CUSTOMER) == data_key


def test_every_seal_uses_a_fresh_nonce_and_another_master_cannot_open() -> None:
    keys, data_key = AesGcmDataKeys(MASTER), bytes(32)
    first, second = keys.seal("t", data_key, AAD), keys.seal("t", data_key, AAD)
    assert first != second
    with pytest.raises(Forbidden, match="tenant's key"):
        AesGcmDataKeys(OTHER_MASTER).open("t", first, AAD)


def test_object_keys_are_not_the_secrets_keys() -> None:
    assert derive(MASTER, "thecloud/objects/tenant/t") != derive(
        MASTER, "thecloud/secrets/tenant/t"
    )


# --- small objects' data, sealed whole for their metadata row ------------------------------


def test_inline_data_opens_with_its_data_key_and_aad_only(keys: DataKeys) -> None:
    data_key, body = keys.new(), b"a small object's bytes"
    sealed = keys.encrypt(data_key, body, AAD)
    assert keys.decrypt(data_key, sealed, AAD) == body
    assert keys.decrypt(data_key, keys.encrypt(data_key, b"", AAD), AAD) == b""
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for key, blob, aad in [(keys.new(), sealed, AAD), (data_key, sealed, AAD + b"x"),
                           (data_key, altered, AAD), (data_key, b"short", AAD)]:  # fmt: skip
        with pytest.raises(CloudError, match="failed authentication"):
            keys.decrypt(key, blob, aad)


def test_inline_data_is_aes_gcm_with_a_fresh_nonce_each_time() -> None:
    keys = AesGcmDataKeys(MASTER)
    data_key, body = keys.new(), b"plaintext that must not show" * 4
    first, second = keys.encrypt(data_key, body, AAD), keys.encrypt(data_key, body, AAD)
    assert first != second and b"must not show" not in first
    assert len(first) == 12 + len(body) + 16
    assert AESGCM(data_key).decrypt(first[:12], first[12:], AAD) == body
