"""S3 access keys on fakes: issued to a user or a service account, the secret shown once and
resolved by `signer()` for signature checks, revoked at once, scoped to their tenant."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_objects import code
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Forbidden, InvalidInput, NotFound
from thecloud.domain.identity import PrincipalType
from thecloud.domain.objects import CredentialStatus, S3Forbidden
from thecloud.domain.rbac import DEVELOPER_PERMISSIONS, OWNER_PERMISSIONS
from thecloud.services.storage_credentials import _ALPHABET


async def test_a_key_for_oneself_resolves_to_its_owner_and_secret(
    h: Harness, owner: Account
) -> None:
    cred, secret = await h.cloud.storage_credentials.create(owner.principal, "laptop")
    akid = cred.access_key_id
    assert len(akid) == 20 and akid.startswith("TC") and set(akid[2:]) <= set(_ALPHABET)
    assert len(secret) == 40 and secret not in cred.sealed_secret
    assert (cred.principal_id, cred.principal_type, cred.tenant_id) == (
        owner.id, PrincipalType.USER, owner.tenant_id,
    )  # fmt: skip
    assert (cred.status, cred.description, cred.created_at) == (
        CredentialStatus.ACTIVE, "laptop", h.clock.now(),
    )  # fmt: skip
    ctx = h.ctx("198.51.100.9")
    signer = await h.cloud.storage_credentials.signer(akid, ctx)
    assert (signer.secret, signer.credential_id) == (secret, cred.id)
    who = signer.principal
    assert (who.id, who.type, who.tenant_id) == (owner.id, PrincipalType.USER, owner.tenant_id)
    assert who.permissions == OWNER_PERMISSIONS and who.context == ctx
    # from the cache now: still the caller's context, not the first one's
    again = await h.cloud.storage_credentials.signer(akid, h.ctx("192.0.2.1"))
    assert again.secret == secret and again.principal.context.source_ip == "192.0.2.1"


async def test_a_key_for_a_service_account_acts_with_its_role(h: Harness, owner: Account) -> None:
    sa, _ = await h.cloud.service_accounts.create(owner.principal, "robot", "developer")
    cred, secret = await h.cloud.storage_credentials.create(
        owner.principal, "ci", service_account_id=sa.id
    )
    assert (cred.principal_id, cred.principal_type, cred.created_by) == (
        sa.id, PrincipalType.SERVICE_ACCOUNT, owner.id,
    )  # fmt: skip
    signer = await h.cloud.storage_credentials.signer(cred.access_key_id, h.ctx())
    robot = signer.principal
    assert (robot.id, robot.type, robot.tenant_id) == (
        sa.id, PrincipalType.SERVICE_ACCOUNT, owner.tenant_id,
    )  # fmt: skip
    assert robot.permissions == DEVELOPER_PERMISSIONS and signer.secret == secret
    # the account's deletion ends its keys at once
    await h.cloud.service_accounts.delete(owner.principal, sa.id)
    with pytest.raises(S3Forbidden) as exc:
        await h.cloud.storage_credentials.signer(cred.access_key_id, h.ctx())
    assert code(exc) == "InvalidAccessKeyId"


async def test_keys_for_service_accounts_need_the_right_to_change_them(
    h: Harness, owner: Account
) -> None:
    sa, _ = await h.cloud.service_accounts.create(owner.principal, "robot", "viewer")
    dev = await h.member(owner, "developer")
    with pytest.raises(Forbidden):
        await h.cloud.storage_credentials.create(dev, service_account_id=sa.id)
    await h.cloud.storage_credentials.create(dev, "my own")
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.storage_credentials.create(stranger.principal, service_account_id=sa.id)
    viewer = await h.member(owner, "viewer")  # a key of one's own carries one's own rights
    await h.cloud.storage_credentials.create(viewer, "read-only use of the S3 endpoint")
    with pytest.raises(Forbidden):
        await h.cloud.storage_credentials.create(viewer, service_account_id=sa.id)
    with pytest.raises(InvalidInput):
        await h.cloud.storage_credentials.create(owner.principal, "x" * 257)


async def test_revoking_ends_the_key_at_once(h: Harness, owner: Account) -> None:
    cred, _ = await h.cloud.storage_credentials.create(owner.principal)
    other, other_secret = await h.cloud.storage_credentials.create(owner.principal)
    await h.cloud.storage_credentials.signer(cred.access_key_id, h.ctx())  # now cached
    revoked = await h.cloud.storage_credentials.revoke(owner.principal, cred.access_key_id)
    assert revoked.status is CredentialStatus.REVOKED
    with pytest.raises(S3Forbidden) as exc:
        await h.cloud.storage_credentials.signer(cred.access_key_id, h.ctx())
    assert code(exc) == "InvalidAccessKeyId"
    # revoking again changes nothing; the other key still works
    assert (await h.cloud.storage_credentials.revoke(owner.principal, cred.id)).status == (
        CredentialStatus.REVOKED
    )
    signer = await h.cloud.storage_credentials.signer(other.access_key_id, h.ctx())
    assert signer.secret == other_secret
    shown = await h.cloud.storage_credentials.get(owner.principal, cred.id)
    assert shown.status is CredentialStatus.REVOKED


async def test_unknown_access_keys(h: Harness, owner: Account) -> None:
    for akid in ("TCAAAAAAAAAAAAAAAAAA", "", "AKIAIOSFODNN7EXAMPLE"):
        with pytest.raises(S3Forbidden) as exc:
            await h.cloud.storage_credentials.signer(akid, h.ctx())
        assert code(exc) == "InvalidAccessKeyId"


async def test_another_tenants_key_is_not_found(h: Harness, owner: Account) -> None:
    cred, _ = await h.cloud.storage_credentials.create(owner.principal)
    stranger = (await h.register("stranger")).principal
    for ident in (cred.id, cred.access_key_id):
        with pytest.raises(NotFound):
            await h.cloud.storage_credentials.get(stranger, ident)
        with pytest.raises(NotFound):
            await h.cloud.storage_credentials.revoke(stranger, ident)
    assert (await h.cloud.storage_credentials.list(stranger, ListQuery())).items == []
    await h.cloud.storage_credentials.signer(cred.access_key_id, h.ctx())  # still active


async def test_a_members_key_is_revoked_only_with_storage_delete(
    h: Harness, owner: Account
) -> None:
    viewer = await h.member(owner, "viewer")
    cred, _ = await h.cloud.storage_credentials.create(owner.principal)
    with pytest.raises(Forbidden):
        await h.cloud.storage_credentials.revoke(viewer, cred.id)
    await h.cloud.storage_credentials.signer(cred.access_key_id, h.ctx())


async def test_listing_never_shows_a_secret(h: Harness, owner: Account) -> None:
    issued = [await h.cloud.storage_credentials.create(owner.principal, f"k{i}") for i in range(3)]
    page = await h.cloud.storage_credentials.list(owner.principal, ListQuery())
    assert sorted(c.id for c in page.items) == sorted(c.id for c, _ in issued)
    shown = repr(page) + repr(
        await h.cloud.storage_credentials.get(owner.principal, issued[0][0].id)
    )
    for _, secret in issued:
        assert secret not in shown
    viewer = await h.member(owner, "viewer")
    assert (await h.cloud.storage_credentials.list(viewer, ListQuery())).total == 3
