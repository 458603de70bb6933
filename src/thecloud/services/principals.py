"""Builds the Principal of a request (roles, permissions, policies), cached per generation."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from thecloud.domain.common import RequestContext
from thecloud.domain.errors import Forbidden
from thecloud.domain.identity import Principal, PrincipalType
from thecloud.ports.uow import UnitOfWork

CACHE_SECONDS = 60.0
CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    generation: int
    expires: float


class PrincipalCache:
    """Principals keyed by credential and tenant, valid while the auth generation is unchanged.

    Every change to keys, roles, bindings, policies or service accounts bumps the generation
    in the database, so a revoked key stops working at once in every server process.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}

    def get(self, key: tuple[str, str], generation: int, ctx: RequestContext) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None or entry.generation != generation or entry.expires < time.monotonic():
            return None
        return replace(entry.principal, context=ctx)

    def put(self, key: tuple[str, str], generation: int, principal: Principal) -> None:
        if len(self._entries) >= CACHE_SIZE:
            self._entries.clear()
        self._entries[key] = _Entry(principal, generation, time.monotonic() + CACHE_SECONDS)


async def load_principal(
    uow: UnitOfWork,
    base: Principal,
    tenant_id: str,
    extra_roles: tuple[str, ...] = (),
) -> Principal:
    """The principal's rights in `tenant_id`: union of bound roles, plus attached policies."""
    bindings = await uow.bindings.find(tenant_id=tenant_id, principal_id=base.id)
    roles = await uow.roles.by_ids([b.role_id for b in bindings])
    for name in extra_roles:
        role = await uow.roles.by_name(tenant_id, name)
        roles += [role] if role else []
    if not roles:
        raise Forbidden(f"{base.type} {base.name} is not a member of tenant {tenant_id}")
    permissions = frozenset(p for role in roles for p in role.permissions)
    policies = tuple(p.document for p in await uow.policies.attached_to(tenant_id, base.id))
    return replace(base, tenant_id=tenant_id, permissions=permissions, policies=policies)


def bare_principal(ident: str, kind: PrincipalType, name: str, email: str = "") -> Principal:
    return Principal(
        id=ident, type=kind, tenant_id="", name=name, permissions=frozenset(), email=email
    )
