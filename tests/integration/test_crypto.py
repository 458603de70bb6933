"""The real cryptography adapters: bcrypt, HMAC token hashes, AES-GCM sealing, JWTs, master key."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import jwt
import pytest

from thecloud.adapters.crypto.keys import (
    decode_master_key,
    derive,
    load_or_create_master_key,
)
from thecloud.adapters.crypto.primitives import AesGcmCipher, BcryptHasher, HmacKeyHasher, JwtCodec
from thecloud.domain.errors import CloudError, ConfigurationError, Unauthorized

MASTER, OTHER = bytes(range(32)), bytes(range(1, 33))


async def test_bcrypt_defaults_to_cost_12_and_verifies() -> None:
    hasher = BcryptHasher()
    hashed = await hasher.hash("correct horse battery")
    assert hashed.startswith("$2b$12$") and "correct horse" not in hashed
    assert await hasher.verify("correct horse battery", hashed) is True
    assert await hasher.verify("correct horse batterz", hashed) is False


async def test_bcrypt_salts_every_hash() -> None:
    hasher = BcryptHasher(rounds=4)
    first, second = await hasher.hash("same-password"), await hasher.hash("same-password")
    assert first.startswith("$2b$04$") and first != second
    assert await hasher.verify("same-password", second)


def test_hmac_key_hasher_is_keyed_and_deterministic() -> None:
    token = "thecloud_" + "ab" * 16
    digest = HmacKeyHasher(MASTER).digest(token)
    assert digest == HmacKeyHasher(MASTER).digest(token)
    assert digest != HmacKeyHasher(OTHER).digest(token)
    assert digest != HmacKeyHasher(MASTER).digest(token + "0")
    assert len(digest) == 64 and token not in digest and int(digest, 16) >= 0


def test_cipher_round_trips_under_the_tenants_key() -> None:
    cipher = AesGcmCipher(MASTER)
    nonce, sealed = cipher.seal("tenant-a", b"hunter2-value", b"tenant-a/s1")
    assert len(nonce) == 12 and b"hunter2" not in sealed
    assert cipher.open("tenant-a", nonce, sealed, b"tenant-a/s1") == b"hunter2-value"
    assert AesGcmCipher(MASTER).open("tenant-a", nonce, sealed, b"tenant-a/s1") == b"hunter2-value"


def test_cipher_uses_a_fresh_nonce_per_seal() -> None:
    cipher = AesGcmCipher(MASTER)
    first, second = cipher.seal("t", b"v", b"a"), cipher.seal("t", b"v", b"a")
    assert first[0] != second[0] and first[1] != second[1]


@pytest.mark.parametrize(
    ("tenant", "aad", "master"),
    [("tenant-b", b"tenant-a/s1", MASTER), ("tenant-a", b"tenant-a/s2", MASTER),
     ("tenant-a", b"tenant-a/s1", OTHER)],
    ids=["other-tenant", "wrong-aad", "other-master"],
)  # fmt: skip
def test_cipher_refuses_the_wrong_tenant_aad_or_master(
    tenant: str, aad: bytes, master: bytes
) -> None:
    nonce, sealed = AesGcmCipher(MASTER).seal("tenant-a", b"value", b"tenant-a/s1")
    with pytest.raises(CloudError, match="failed authentication"):
        AesGcmCipher(master).open(tenant, nonce, sealed, aad)


@pytest.mark.parametrize("where", ["ciphertext", "tag", "nonce"])
def test_cipher_detects_tampering(where: str) -> None:
    cipher = AesGcmCipher(MASTER)
    nonce, sealed = cipher.seal("t", b"value", b"aad")
    flip = {"ciphertext": 0, "tag": len(sealed) - 1, "nonce": 0}[where]
    target = bytearray(nonce if where == "nonce" else sealed)
    target[flip] ^= 0x01
    if where == "nonce":
        nonce = bytes(target)
    else:
        sealed = bytes(target)
    with pytest.raises(CloudError, match="failed authentication"):
        cipher.open("t", nonce, sealed, b"aad")


def test_jwt_round_trips_claims_with_issuer_and_expiry() -> None:
    codec = JwtCodec(MASTER)
    claims = codec.decode(codec.issue({"sub": "user-1", "tid": "t-1"}, 60))
    assert (claims["sub"], claims["tid"], claims["iss"]) == ("user-1", "t-1", "thecloud")
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int)
    assert 59 <= claims["exp"] - claims["iat"] <= 60


def test_jwt_expired_token_is_refused() -> None:
    codec = JwtCodec(MASTER)
    with pytest.raises(Unauthorized, match="expired"):
        codec.decode(codec.issue({"sub": "user-1"}, -1))


def test_jwt_signed_with_another_key_is_refused() -> None:
    token = JwtCodec(OTHER).issue({"sub": "user-1"}, 60)
    with pytest.raises(Unauthorized, match="invalid bearer token"):
        JwtCodec(MASTER).decode(token)


@pytest.mark.parametrize(
    "payload",
    [{"iss": "thecloud", "exp": 4102444800}, {"sub": "u", "iss": "evil", "exp": 4102444800}],
    ids=["no-sub", "wrong-issuer"],
)
def test_jwt_without_subject_or_from_another_issuer_is_refused(payload: dict[str, object]) -> None:
    token = jwt.encode(payload, derive(MASTER, "thecloud/jwt-hs256"), algorithm="HS256")
    with pytest.raises(Unauthorized):
        JwtCodec(MASTER).decode(token)


def test_jwt_with_algorithm_none_is_refused() -> None:
    token = jwt.encode({"sub": "u", "iss": "thecloud", "exp": 4102444800}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        JwtCodec(MASTER).decode(token)


def test_derived_keys_differ_by_purpose_and_master() -> None:
    keys = {derive(MASTER, "a"), derive(MASTER, "b"), derive(OTHER, "a")}
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)


def test_production_without_a_master_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="THECLOUD_MASTER_KEY"):
        load_or_create_master_key(None, tmp_path / "master.key", production=True)
    assert not (tmp_path / "master.key").exists()


def test_embedded_default_generates_a_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    first = load_or_create_master_key(None, path, production=False)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.hex()
    assert load_or_create_master_key("", path, production=False) == first


def test_a_configured_key_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text(OTHER.hex())
    assert load_or_create_master_key(MASTER.hex(), path, production=True) == MASTER
    assert load_or_create_master_key(MASTER.hex(), path, production=False) == MASTER


def test_master_key_accepts_hex_or_base64_of_32_bytes() -> None:
    key = os.urandom(32)
    assert decode_master_key(key.hex()) == key
    assert decode_master_key(f"  {key.hex().upper()}\n") == key
    assert decode_master_key(base64.b64encode(key).decode()) == key


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("zz" * 32, "64 hex chars or base64"),
        ("not base64 at all!", "64 hex chars or base64"),
        (base64.b64encode(b"short").decode(), "exactly 32 bytes"),
        ("ab" * 16, "exactly 32 bytes"),
        ("", "exactly 32 bytes"),
    ],
    ids=["bad-hex", "garbage", "short-base64", "short-hex", "empty"],
)
def test_bad_master_keys_give_clear_errors(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        decode_master_key(text)


def test_a_corrupt_key_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("not a key")
    with pytest.raises(ConfigurationError, match="master key file .*master.key is corrupt"):
        load_or_create_master_key(None, path, production=False)
