"""Tenants, membership and quotas: the service later resources call to reserve capacity."""

from __future__ import annotations

from collections.abc import Mapping

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, not_found
from thecloud.domain.identity import (
    Principal,
    PrincipalType,
    Tenant,
    User,
    normalize_email,
    validate_name,
    validate_slug,
)
from thecloud.domain.quotas import DEFAULT_LIMITS, QuotaLine, QuotaResource
from thecloud.domain.rbac import Role, RoleBinding
from thecloud.ports.uow import UnitOfWork
from thecloud.services.authz import ensure_grantable
from thecloud.services.base import Kernel, Service

_DEFAULTS = {str(k): v for k, v in DEFAULT_LIMITS.items()}


class TenantSetup(Service):
    """Creates a tenant with its owner binding and default quotas, inside a caller's uow."""

    async def create_tenant(
        self, uow: UnitOfWork, name: str, slug: str, owner_id: str, *, personal: bool = False
    ) -> Tenant:
        if await uow.tenants.find_one(slug=slug):
            raise Conflict(f"tenant slug {slug!r} is taken; choose another")
        tenant = Tenant(new_id(), name, slug, owner_id, self._clock.now(), personal)
        await uow.tenants.add(tenant)
        await self.bind(uow, tenant.id, owner_id, PrincipalType.USER, "owner")
        for resource, limit in DEFAULT_LIMITS.items():
            await uow.quotas.put(QuotaLine(tenant.id, resource, limit, 0, self._clock.now()))
        return tenant

    async def bind(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        principal_id: str,
        kind: PrincipalType,
        role_name: str,
        granter: Principal | None = None,
    ) -> RoleBinding:
        """Bind a role; a `granter` may only give a role whose rights it holds itself."""
        role = await self.role(uow, tenant_id, role_name)
        if granter is not None:
            ensure_grantable(granter, role.permissions)
        if await uow.bindings.find_one(
            tenant_id=tenant_id, principal_id=principal_id, role_id=role.id
        ):
            raise Conflict(f"{kind} {principal_id} already has role {role.name}")
        binding = RoleBinding(
            new_id(), tenant_id, principal_id, str(kind), role.id, role.name, self._clock.now()
        )
        await uow.bindings.add(binding)
        await uow.auth_state.bump()
        return binding

    async def role(self, uow: UnitOfWork, tenant_id: str, role_name: str) -> Role:
        role = await uow.roles.by_name(tenant_id, role_name)
        if role is None:
            raise InvalidInput(
                f"role {role_name!r} does not exist in this tenant "
                "(built-in: owner, admin, developer, viewer)"
            )
        return role


class TenantService(Service):
    def __init__(self, kernel: Kernel, setup: TenantSetup) -> None:
        super().__init__(kernel)
        self._setup = setup

    async def create(self, p: Principal, name: str, slug: str) -> Tenant:
        name, slug = validate_name(name, "tenant name"), validate_slug(slug)
        if not p.is_user:
            raise InvalidInput("only users can create tenants")
        async with self._uow() as uow:
            tenant = await self._setup.create_tenant(uow, name, slug, p.id)
            await self._record(
                uow, p, "tenant:create", "tenant", tenant.id, {"slug": slug}, tenant_id=tenant.id
            )
            await uow.commit()
        return tenant

    async def list(self, p: Principal, query: ListQuery) -> Page[Tenant]:
        async with self._uow(read_only=True) as uow:
            return await uow.tenants.of_principal(p.id, query)

    async def get(self, p: Principal, tenant_id: str) -> Tenant:
        async with self._uow(read_only=True) as uow:
            return await self._member_tenant(uow, p, tenant_id)

    async def _member_tenant(self, uow: UnitOfWork, p: Principal, tenant_id: str) -> Tenant:
        tenant = await uow.tenants.get(tenant_id)
        if tenant is None or not await uow.bindings.find_one(
            tenant_id=tenant_id, principal_id=p.id
        ):
            raise not_found("tenant", tenant_id)
        return tenant

    async def switch(self, p: Principal, tenant_id: str) -> Tenant:
        """Checks membership; clients then send X-Tenant-ID (the CLI stores it)."""
        return await self.get(p, tenant_id)

    async def invite(self, p: Principal, tenant_id: str, email: str, role: str) -> RoleBinding:
        self._same_tenant(p, tenant_id)
        self.allow(p, "tenant:update", "tenant", tenant_id)
        async with self._uow() as uow:
            user = await self._user_by_email(uow, email)
            binding = await self._setup.bind(
                uow, tenant_id, user.id, PrincipalType.USER, role, granter=p
            )
            await self._record(
                uow, p, "tenant:update", "tenant", tenant_id, {"invited": user.id, "role": role}
            )
            await uow.commit()
        return binding

    def _same_tenant(self, p: Principal, tenant_id: str) -> None:
        if p.tenant_id != tenant_id:
            raise not_found("tenant", tenant_id)

    async def _user_by_email(self, uow: UnitOfWork, email: str) -> User:
        user = await uow.users.find_one(email=normalize_email(email))
        if user is None:
            raise NotFound(f"no registered user has email {email}; they must register first")
        return user

    async def members(self, p: Principal, tenant_id: str, query: ListQuery) -> Page[RoleBinding]:
        self._same_tenant(p, tenant_id)
        self.allow(p, "tenant:read", "tenant", tenant_id)
        async with self._uow(read_only=True) as uow:
            return await uow.bindings.list(query, tenant_id)


class QuotaService(Service):
    """Limits and usage per tenant; `reserve`/`release` run inside the caller's transaction."""

    async def get(self, p: Principal) -> list[QuotaLine]:
        self.allow(p, "quota:read", "quota", p.tenant_id)
        async with self._uow(read_only=True) as uow:
            return await self._lines(uow, p.tenant_id)

    async def _lines(self, uow: UnitOfWork, tenant_id: str) -> list[QuotaLine]:
        have = {line.resource: line for line in await uow.quotas.lines(tenant_id)}
        now = self._clock.now()
        return [
            have.get(r) or QuotaLine(tenant_id, r, DEFAULT_LIMITS[r], 0, now) for r in QuotaResource
        ]

    async def set_limits(self, p: Principal, limits: Mapping[str, int]) -> list[QuotaLine]:
        self.allow(p, "quota:update", "quota", p.tenant_id)
        changes = self._validated(limits)
        async with self._uow() as uow:
            lines = {line.resource: line for line in await self._lines(uow, p.tenant_id)}
            for resource, limit in changes.items():
                line = lines[resource]
                await uow.quotas.put(
                    QuotaLine(p.tenant_id, resource, limit, line.used, self._clock.now())
                )
            await self._record(
                uow,
                p,
                "quota:update",
                "quota",
                p.tenant_id,
                {str(k): v for k, v in changes.items()},
            )
            result = await self._lines(uow, p.tenant_id)  # as committed: read before the commit
            await uow.commit()
            return result

    def _validated(self, limits: Mapping[str, int]) -> dict[QuotaResource, int]:
        valid = {str(r) for r in QuotaResource}
        unknown = sorted(set(limits) - valid)
        if unknown:
            raise InvalidInput(f"unknown quota resource(s) {unknown}; valid: {sorted(valid)}")
        if any(v < 0 for v in limits.values()):
            raise InvalidInput("quota limits must be zero or more")
        return {QuotaResource(k): v for k, v in limits.items()}

    async def reserve(
        self, uow: UnitOfWork, tenant_id: str, amounts: Mapping[QuotaResource, int]
    ) -> None:
        """Count new usage, or raise QuotaExceeded (the caller's transaction then rolls back)."""
        exceeded = await uow.quotas.adjust(
            tenant_id, {str(k): v for k, v in amounts.items()}, _DEFAULTS
        )
        if exceeded:
            raise QuotaExceeded(
                f"quota exceeded for {', '.join(exceeded)}; ask an admin to raise it"
            )

    async def release(
        self, uow: UnitOfWork, tenant_id: str, amounts: Mapping[QuotaResource, int]
    ) -> None:
        await uow.quotas.adjust(tenant_id, {str(k): -v for k, v in amounts.items()}, _DEFAULTS)
