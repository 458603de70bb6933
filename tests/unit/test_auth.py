"""Registration, login with a stored lockout, API keys, bearer tokens and the principal cache."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.unit.conftest import Account, Harness, unit_settings
from thecloud.bootstrap import bootstrap
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import (
    AccountLocked,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from thecloud.domain.identity import PrincipalType
from thecloud.domain.quotas import DEFAULT_LIMITS
from thecloud.domain.rbac import OWNER_PERMISSIONS

PASSWORD = "correct horse"


async def test_register_creates_a_personal_tenant_owned_by_the_user(h: Harness) -> None:
    acct = await h.register("ann")
    tenant, user = acct.reg.tenant, acct.reg.user
    assert tenant.personal and tenant.owner_id == user.id
    assert user.default_tenant_id == tenant.id
    async with h.cloud.uow(read_only=True) as uow:
        bindings = await uow.bindings.find(tenant_id=tenant.id)
        lines = await uow.quotas.lines(tenant.id)
    assert [(b.principal_id, b.role_name) for b in bindings] == [(user.id, "owner")]
    assert {line.resource: (line.limit, line.used) for line in lines} == {
        r: (limit, 0) for r, limit in DEFAULT_LIMITS.items()
    }


async def test_registration_key_authenticates_as_owner_of_the_new_tenant(h: Harness) -> None:
    acct = await h.register("ann")
    p = acct.principal
    assert (p.id, p.type, p.tenant_id) == (acct.id, PrincipalType.USER, acct.tenant_id)
    assert p.permissions == OWNER_PERMISSIONS and p.api_key_id == acct.reg.key.id
    assert acct.key.startswith("thecloud_") and len(acct.key) == len("thecloud_") + 32


async def test_register_stores_only_hashes(h: Harness) -> None:
    acct = await h.register("ann")
    async with h.cloud.uow(read_only=True) as uow:
        user = await uow.users.get(acct.id)
        key = await uow.api_keys.get(acct.reg.key.id)
    assert user is not None and key is not None
    assert PASSWORD not in user.password_hash
    assert acct.key not in key.key_hash and key.prefix == acct.key[:13]


async def test_duplicate_email_is_a_conflict_whatever_the_case(h: Harness) -> None:
    acct = await h.register("ann")
    with pytest.raises(Conflict, match="already registered"):
        await h.cloud.auth.register(acct.email.upper(), PASSWORD, "Again", h.ctx())


@pytest.mark.parametrize(
    ("email", "password", "name"),
    [
        ("not-an-email", PASSWORD, "A"),
        ("a@example.com", "short", "A"),
        ("b@example.com", PASSWORD, " "),
    ],
)
async def test_register_validates_its_input(
    h: Harness, email: str, password: str, name: str
) -> None:
    with pytest.raises(InvalidInput):
        await h.cloud.auth.register(email, password, name, h.ctx())
    async with h.cloud.uow(read_only=True) as uow:
        assert await uow.users.count() == 0


async def test_login_returns_a_token_that_authenticates(h: Harness) -> None:
    acct = await h.register("ann")
    done = await h.cloud.auth.login(f"  {acct.email.upper()} ", PASSWORD, h.ctx())
    assert done.expires_at == h.clock.now() + timedelta(seconds=unit_settings().jwt_ttl_seconds)
    p = await h.cloud.auth.authenticate(None, done.token, None, h.ctx())
    assert (p.id, p.tenant_id, p.api_key_id) == (acct.id, acct.tenant_id, None)


@pytest.mark.parametrize("which", ["password", "email"])
async def test_login_with_bad_credentials_is_unauthorized(h: Harness, which: str) -> None:
    acct = await h.register("ann")
    email = acct.email if which == "password" else "nobody@example.com"
    with pytest.raises(Unauthorized, match="invalid email or password"):
        await h.cloud.auth.login(
            email, "wrong password" if which == "password" else PASSWORD, h.ctx()
        )


async def fail_logins(h: Harness, acct: Account, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Unauthorized):
            await h.cloud.auth.login(acct.email, "wrong password", h.ctx())


async def test_five_failures_lock_the_account_even_for_the_right_password(h: Harness) -> None:
    acct = await h.register("ann")
    await fail_logins(h, acct, 5)
    with pytest.raises(AccountLocked) as caught:
        await h.cloud.auth.login(acct.email, PASSWORD, h.ctx())
    assert caught.value.details["retry_after"] == unit_settings().login_lockout_seconds + 1


async def test_lockout_is_stored_and_survives_a_new_auth_service(h: Harness) -> None:
    acct = await h.register("ann")
    await fail_logins(h, acct, 5)
    async with h.cloud.uow(read_only=True) as uow:
        record = await uow.login_failures.get(acct.email)
    assert record is not None and record.locked_until is not None
    fresh = bootstrap(unit_settings(), adapters=h.adapters)
    assert fresh.auth is not h.cloud.auth
    with pytest.raises(AccountLocked):
        await fresh.auth.login(acct.email, PASSWORD, h.ctx())


async def test_lockout_ends_after_the_lockout_period(h: Harness) -> None:
    acct = await h.register("ann")
    await fail_logins(h, acct, 5)
    h.clock.advance(unit_settings().login_lockout_seconds - 1)
    with pytest.raises(AccountLocked):
        await h.cloud.auth.login(acct.email, PASSWORD, h.ctx())
    h.clock.advance(2)
    assert (await h.cloud.auth.login(acct.email, PASSWORD, h.ctx())).user.id == acct.id


async def test_a_successful_login_resets_the_failure_count(h: Harness) -> None:
    acct = await h.register("ann")
    await fail_logins(h, acct, 4)
    await h.cloud.auth.login(acct.email, PASSWORD, h.ctx())
    await fail_logins(h, acct, 4)
    assert (await h.cloud.auth.login(acct.email, PASSWORD, h.ctx())).user.id == acct.id


async def test_unknown_emails_are_locked_out_too(h: Harness) -> None:
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await h.cloud.auth.login("ghost@example.com", PASSWORD, h.ctx())
    with pytest.raises(AccountLocked):
        await h.cloud.auth.login("ghost@example.com", PASSWORD, h.ctx())


async def test_bearer_token_expires_after_its_ttl(h: Harness) -> None:
    acct = await h.register("ann")
    token = acct.reg.token
    assert (await h.cloud.auth.authenticate(None, token, None, h.ctx())).id == acct.id
    h.clock.advance(unit_settings().jwt_ttl_seconds + 1)
    with pytest.raises(Unauthorized, match="expired"):
        await h.cloud.auth.authenticate(None, token, None, h.ctx())


@pytest.mark.parametrize("key", [None, "", "thecloud_" + "0" * 32])
async def test_missing_or_unknown_credentials_are_unauthorized(h: Harness, key: str | None) -> None:
    await h.register("ann")
    with pytest.raises(Unauthorized):
        await h.cloud.auth.authenticate(key, None, None, h.ctx())


async def test_tampered_bearer_token_is_unauthorized(h: Harness) -> None:
    acct = await h.register("ann")
    with pytest.raises(Unauthorized, match="invalid bearer token"):
        await h.cloud.auth.authenticate(None, acct.reg.token + "x", None, h.ctx())


async def test_a_tenant_the_caller_is_not_a_member_of_is_forbidden(h: Harness) -> None:
    ann, bob = await h.register("ann"), await h.register("bob")
    with pytest.raises(Forbidden):
        await h.login_key(ann.key, bob.tenant_id)
    with pytest.raises(Forbidden):
        await h.cloud.auth.authenticate(None, ann.reg.token, bob.tenant_id, h.ctx())


async def test_authentication_carries_the_request_context(h: Harness) -> None:
    acct = await h.register("ann")
    first = await h.login_key(acct.key, ip="10.0.0.1")
    cached = await h.login_key(acct.key, ip="10.0.0.2")
    assert (first.context.source_ip, cached.context.source_ip) == ("10.0.0.1", "10.0.0.2")
    assert first.context.request_id != cached.context.request_id


async def test_revoked_key_is_refused_at_once_despite_the_cache(h: Harness) -> None:
    acct = await h.register("ann")
    await h.login_key(acct.key)  # now cached
    await h.cloud.api_keys.revoke(acct.principal, acct.reg.key.id)
    with pytest.raises(Unauthorized, match="revoked"):
        await h.login_key(acct.key)


async def test_the_cache_serves_until_the_generation_is_bumped(h: Harness) -> None:
    acct = await h.register("ann")
    await h.login_key(acct.key)
    async with h.cloud.uow() as uow:  # revoke behind the services' back, without a bump
        key = await uow.api_keys.get(acct.reg.key.id)
        assert key is not None
        await uow.api_keys.update(replace(key, revoked_at=h.clock.now()))
        await uow.commit()
    assert (await h.login_key(acct.key)).id == acct.id
    async with h.cloud.uow() as uow:
        await uow.auth_state.bump()
        await uow.commit()
    with pytest.raises(Unauthorized):
        await h.login_key(acct.key)


async def test_expired_api_key_is_refused(h: Harness) -> None:
    acct = await h.register("ann")
    async with h.cloud.uow() as uow:
        key = await uow.api_keys.get(acct.reg.key.id)
        assert key is not None
        await uow.api_keys.update(replace(key, expires_at=h.clock.now()))
        await uow.auth_state.bump()
        await uow.commit()
    with pytest.raises(Unauthorized, match="expired"):
        await h.login_key(acct.key)


async def test_rotate_issues_a_working_key_and_revokes_the_old_one(h: Harness) -> None:
    acct = await h.register("ann")
    await h.login_key(acct.key)
    key, raw = await h.cloud.api_keys.rotate(acct.principal, acct.reg.key.id)
    assert (key.name, key.tenant_id) == (acct.reg.key.name, acct.tenant_id) and raw != acct.key
    assert (await h.login_key(raw)).api_key_id == key.id
    with pytest.raises(Unauthorized):
        await h.login_key(acct.key)


async def test_keys_of_another_user_cannot_be_rotated_revoked_or_listed(h: Harness) -> None:
    ann, bob = await h.register("ann"), await h.register("bob")
    key, _ = await h.cloud.api_keys.create(ann.principal, "ci")
    listed = await h.cloud.api_keys.list(ann.principal, ListQuery())
    assert {k.id for k in listed.items} == {ann.reg.key.id, key.id}
    assert (await h.cloud.api_keys.list(bob.principal, ListQuery())).total == 1
    with pytest.raises(NotFound):
        await h.cloud.api_keys.rotate(bob.principal, key.id)
    with pytest.raises(NotFound):
        await h.cloud.api_keys.revoke(bob.principal, key.id)


async def test_new_api_key_authenticates_and_its_name_is_validated(h: Harness) -> None:
    acct = await h.register("ann")
    key, raw = await h.cloud.api_keys.create(acct.principal, "deploy")
    assert (await h.login_key(raw)).api_key_id == key.id
    with pytest.raises(InvalidInput):
        await h.cloud.api_keys.create(acct.principal, "  ")


class HeldCheck:
    """Holds each check of the right password until `release` is set; `checking` is set
    once one is held (wrong passwords are checked at once)."""

    def __init__(self, h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checking, self.release = asyncio.Event(), asyncio.Event()
        passwords = h.cloud.auth._passwords
        self._real = passwords.verify
        monkeypatch.setattr(passwords, "verify", self._verify)

    async def _verify(self, password: str, hashed: str) -> bool:
        if password == PASSWORD:
            self.checking.set()
            await self.release.wait()
        return await self._real(password, hashed)


async def test_a_login_checks_the_password_outside_any_write_transaction(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bcrypt takes tens of milliseconds: inside a write transaction, every other writer of
    the store would wait for it."""
    acct = await h.register("ann")
    held = HeldCheck(h, monkeypatch)
    login = asyncio.create_task(h.cloud.auth.login(acct.email, PASSWORD, h.ctx()))
    await held.checking.wait()
    await asyncio.wait_for(h.register("bob"), 5)  # a writer while the password is checked
    held.release.set()
    assert (await login).user.id == acct.id


async def test_failures_that_lock_an_account_during_a_check_refuse_its_login(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct = await h.register("ann")
    held = HeldCheck(h, monkeypatch)
    login = asyncio.create_task(h.cloud.auth.login(acct.email, PASSWORD, h.ctx()))
    await held.checking.wait()
    await fail_logins(h, acct, unit_settings().login_max_failures)  # locked meanwhile
    held.release.set()
    with pytest.raises(AccountLocked):
        await login
