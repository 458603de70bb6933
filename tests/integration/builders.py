"""Entities with unique names for the SQL repository tests, and a few seeding helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory
from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.common import new_id
from thecloud.domain.errors import Conflict
from thecloud.domain.iam import Policy, PolicyAttachment
from thecloud.domain.idempotency import IdempotencyRecord
from thecloud.domain.identity import (
    ApiKey,
    ServiceAccount,
    ServiceAccountSecret,
    Tenant,
    User,
)
from thecloud.domain.policy import parse_policy_document
from thecloud.domain.rbac import Role, RoleBinding
from thecloud.domain.secrets import Secret
from thecloud.ports.uow import UnitOfWorkFactory


@dataclass
class Db:
    """A migrated database, its engine, a unit-of-work factory and what commits published."""

    backend: str
    url: str
    engine: AsyncEngine
    uow: SqlUnitOfWorkFactory
    published: list[list[Event]] = field(default_factory=list)


BASE = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadDbSecrets",
            "Effect": "Allow",
            "Action": ["secret:read", "secret:write"],
            "Resource": ["trn:*:secret/db-*"],
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.1.0/24"]}},
        },
        {"Effect": "Deny", "Action": "secret:delete", "Resource": "*"},
    ],
}


def uniq(prefix: str = "x") -> str:
    return f"{prefix}-{os.urandom(5).hex()}"


def at(minutes: int) -> datetime:
    """A fixed UTC time, `minutes` after BASE: distinct, ordered creation times."""
    return BASE + timedelta(minutes=minutes)


def user(**over: Any) -> User:
    u = User(new_id(), f"{uniq('u')}@example.com", "Ann", "$2b$04$hash", new_id(), BASE, BASE)
    return replace(u, **over)


def tenant(owner_id: str, **over: Any) -> Tenant:
    return replace(Tenant(new_id(), "Team", uniq("t"), owner_id, BASE), **over)


def role(tenant_id: str | None, name: str | None = None, **over: Any) -> Role:
    perms = ("secret:read", "instance:launch", "vpc:*")
    r = Role(new_id(), tenant_id, name or uniq("role"), "a role", perms, BASE, BASE)
    return replace(r, **over)


def binding(tenant_id: str, principal_id: str, r: Role, **over: Any) -> RoleBinding:
    b = RoleBinding(new_id(), tenant_id, principal_id, "user", r.id, r.name, BASE)
    return replace(b, **over)


def api_key(user_id: str, tenant_id: str, **over: Any) -> ApiKey:
    k = ApiKey(
        new_id(), user_id, tenant_id, uniq("key"), os.urandom(32).hex(), "thecloud_abcd", BASE
    )
    return replace(k, **over)


def service_account(tenant_id: str, **over: Any) -> ServiceAccount:
    sa = ServiceAccount(new_id(), tenant_id, uniq("sa"), "viewer", "robot", new_id(), BASE)
    return replace(sa, **over)


def sa_secret(sa: ServiceAccount, **over: Any) -> ServiceAccountSecret:
    s = ServiceAccountSecret(
        new_id(), sa.id, sa.tenant_id, os.urandom(32).hex(), "tcs_abcdef", BASE
    )
    return replace(s, **over)


def policy(tenant_id: str, **over: Any) -> Policy:
    doc = parse_policy_document(POLICY)
    p = Policy(new_id(), tenant_id, uniq("pol"), "a policy", doc, new_id(), BASE, BASE)
    return replace(p, **over)


def attachment(p: Policy, principal_id: str, **over: Any) -> PolicyAttachment:
    a = PolicyAttachment(new_id(), p.tenant_id, p.id, principal_id, "user", BASE)
    return replace(a, **over)


def secret(tenant_id: str, **over: Any) -> Secret:
    ct, nonce = b"\x00\xffcipher\x80text" + os.urandom(16), os.urandom(12)
    s = Secret(new_id(), tenant_id, uniq("sec"), "", ct, nonce, new_id(), BASE, BASE)
    return replace(s, **over)


def audit(tenant_id: str, **over: Any) -> AuditRecord:
    details = {"name": "db", "count": 3, "nested": {"ok": True, "items": [1, "two", None]}}
    a = AuditRecord(
        new_id(), tenant_id, new_id(), "user", "secret:create", "secret", new_id(),
        "10.1.2.3", uniq("req"), BASE, details=details,
    )  # fmt: skip
    return replace(a, **over)


def event(tenant_id: str, **over: Any) -> Event:
    e = Event(new_id(), tenant_id, "secret.created", "secret", new_id(), new_id(), BASE, {"n": 1})
    return replace(e, **over)


def idempotency(**over: Any) -> IdempotencyRecord:
    r = IdempotencyRecord(uniq("idem"), new_id(), "POST", "/secrets", "ab" * 32, 201, b"{}", BASE)
    return replace(r, **over)


async def seed_tenant(uow: UnitOfWorkFactory) -> tuple[User, Tenant]:
    """A committed user and the tenant they own."""
    u = user()
    t = tenant(u.id)
    async with uow() as w:
        await w.tenants.add(t)
        await w.users.add(replace(u, default_tenant_id=t.id))
        await w.commit()
    return replace(u, default_tenant_id=t.id), t


async def add_all(db: Db, repo: str, *items: object) -> None:
    """Add the items through one repository of one committed unit of work."""
    async with db.uow() as w:
        for item in items:
            await getattr(w, repo).add(item)
        await w.commit()


async def expect_conflict(db: Db, repo: str, method: str, item: object) -> None:
    """The write raises Conflict (in its own unit of work: PostgreSQL aborts the transaction)."""
    async with db.uow() as w:
        with pytest.raises(Conflict):
            await getattr(getattr(w, repo), method)(item)
