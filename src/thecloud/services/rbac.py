"""Roles (built-in and custom), their permissions, and bindings of roles to principals."""

from __future__ import annotations

import uuid
from dataclasses import replace

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, not_found
from thecloud.domain.identity import Principal, PrincipalType, normalize_email
from thecloud.domain.rbac import BUILTIN_ROLES, Role, RoleBinding, is_valid_permission
from thecloud.ports.uow import UnitOfWork
from thecloud.services.authz import ensure_grantable
from thecloud.services.base import Kernel, Service
from thecloud.services.tenancy import TenantSetup


def _checked(permissions: list[str]) -> tuple[str, ...]:
    bad = [p for p in permissions if not is_valid_permission(p)]
    if bad:
        raise InvalidInput(f"unknown permission(s) {bad}; see GET /rbac/permissions for the list")
    return tuple(dict.fromkeys(permissions))


class RbacService(Service):
    def __init__(self, kernel: Kernel, setup: TenantSetup) -> None:
        super().__init__(kernel)
        self._setup = setup

    async def create_role(
        self, p: Principal, name: str, description: str, permissions: list[str]
    ) -> Role:
        self.allow(p, "role:create", "role", name=name)
        if not name or len(name) > 100:
            raise InvalidInput("role name must be 1 to 100 characters")
        now = self._clock.now()
        role = Role(new_id(), p.tenant_id, name, description, _checked(permissions), now, now)
        ensure_grantable(p, role.permissions)
        async with self._uow() as uow:
            if await uow.roles.by_name(p.tenant_id, name):
                raise Conflict(f"role {name!r} already exists (built-in role names are reserved)")
            await uow.roles.add(role)
            await self._record(uow, p, "role:create", "role", role.id, {"name": name})
            await uow.commit()
        return role

    async def list_roles(self, p: Principal, query: ListQuery) -> Page[Role]:
        self.allow(p, "role:read", "role")
        async with self._uow(read_only=True) as uow:
            return await uow.roles.visible(p.tenant_id, query)

    async def get_role(self, p: Principal, ident: str) -> Role:
        self.allow(p, "role:read", "role", ident)
        async with self._uow(read_only=True) as uow:
            return await self._visible(uow, p, ident)

    async def _visible(self, uow: UnitOfWork, p: Principal, ident: str) -> Role:
        role = await uow.roles.get(ident) or await uow.roles.by_name(p.tenant_id, ident)
        if role is None or role.tenant_id not in (None, p.tenant_id):
            raise not_found("role", ident)
        return role

    async def _own(self, uow: UnitOfWork, p: Principal, ident: str) -> Role:
        role = await self._visible(uow, p, ident)
        if role.builtin:
            raise Forbidden(f"built-in role {role.name} cannot be changed; create a custom role")
        return role

    async def update_role(
        self, p: Principal, ident: str, description: str | None, permissions: list[str] | None
    ) -> Role:
        return await self._change(p, ident, description=description, permissions=permissions)

    async def add_permission(self, p: Principal, ident: str, permission: str) -> Role:
        return await self._change(p, ident, add=permission)

    async def remove_permission(self, p: Principal, ident: str, permission: str) -> Role:
        return await self._change(p, ident, remove=permission)

    async def _change(
        self,
        p: Principal,
        ident: str,
        *,
        description: str | None = None,
        permissions: list[str] | None = None,
        add: str | None = None,
        remove: str | None = None,
    ) -> Role:
        async with self._uow() as uow:
            role = await self._own(uow, p, ident)
            self.allow(p, "role:update", "role", role.id, role.name)
            perms = list(role.permissions if permissions is None else permissions)
            if add is not None:
                perms.append(add)
            if remove is not None:
                if remove not in perms:
                    raise NotFound(f"role {role.name} does not have permission {remove}")
                perms.remove(remove)
            role = replace(
                role,
                description=role.description if description is None else description,
                permissions=_checked(perms),
                updated_at=self._clock.now(),
            )
            ensure_grantable(p, role.permissions)
            await uow.roles.update(role)
            await uow.auth_state.bump()
            await self._record(
                uow, p, "role:update", "role", role.id, {"permissions": list(role.permissions)}
            )
            await uow.commit()
        return role

    async def delete_role(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            role = await self._own(uow, p, ident)
            self.allow(p, "role:delete", "role", role.id, role.name)
            if await uow.bindings.find_one(role_id=role.id):
                raise Conflict(f"role {role.name} is still bound; remove its bindings first")
            if await uow.service_accounts.find_one(tenant_id=p.tenant_id, role=role.name):
                raise Conflict(f"role {role.name} is used by a service account; change it first")
            await uow.roles.delete(role.id, p.tenant_id)
            await uow.auth_state.bump()
            await self._record(uow, p, "role:delete", "role", role.id, {"name": role.name})
            await uow.commit()

    async def bind(self, p: Principal, user: str, role_name: str) -> RoleBinding:
        """Give a user (by id or email) a role in the caller's tenant."""
        self.allow(p, "role:bind", "role", name=role_name)
        async with self._uow() as uow:
            target = (
                await uow.users.get(user)
                if "@" not in user
                else await uow.users.find_one(email=normalize_email(user))
            )
            if target is None:
                raise NotFound(f"no user {user}; bind by user id or the email of a registered user")
            binding = await self._setup.bind(
                uow, p.tenant_id, target.id, PrincipalType.USER, role_name, granter=p
            )
            await self._record(
                uow,
                p,
                "role:bind",
                "role_binding",
                binding.id,
                {"user": target.id, "role": role_name},
            )
            await uow.commit()
        return binding

    async def unbind(self, p: Principal, binding_id: str) -> None:
        self.allow(p, "role:bind", "role_binding", binding_id)
        async with self._uow() as uow:
            binding = await uow.bindings.get(binding_id, p.tenant_id)
            if binding is None:
                raise not_found("role binding", binding_id)
            await self._keep_an_owner(uow, binding)
            await uow.bindings.delete(binding_id, p.tenant_id)
            await uow.auth_state.bump()
            await self._record(uow, p, "role:bind", "role_binding", binding_id, {"removed": True})
            await uow.commit()

    async def _keep_an_owner(self, uow: UnitOfWork, binding: RoleBinding) -> None:
        if (
            binding.role_name == "owner"
            and await uow.bindings.count(tenant_id=binding.tenant_id, role_name="owner") <= 1
        ):
            raise Conflict("a tenant must keep at least one owner")

    async def list_bindings(self, p: Principal, query: ListQuery) -> Page[RoleBinding]:
        self.allow(p, "role:read", "role_binding")
        async with self._uow(read_only=True) as uow:
            return await uow.bindings.list(query, p.tenant_id)


BUILTIN_NAMESPACE = uuid.UUID("5f0c2b7e-7d55-4c8e-9a61-1d3f2a8b9c40")


def builtin_role_id(name: str) -> str:
    return str(uuid.uuid5(BUILTIN_NAMESPACE, name))


async def sync_builtin_roles(kernel: Kernel) -> None:
    """Make the stored built-in roles match the code (run at every start; idempotent)."""
    now = kernel.clock.now()
    async with kernel.uow() as uow:
        for name, (description, perms) in BUILTIN_ROLES.items():
            role = Role(
                builtin_role_id(name), None, name, description, tuple(sorted(perms)), now, now
            )
            stored = await uow.roles.get(role.id)
            if stored is None:
                await uow.roles.add(role)
            elif (stored.permissions, stored.description) != (role.permissions, role.description):
                await uow.roles.update(replace(role, created_at=stored.created_at))
                await uow.auth_state.bump()
        await uow.commit()
