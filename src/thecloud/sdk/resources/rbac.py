"""Roles, permissions and role bindings."""

from __future__ import annotations

from collections.abc import Sequence

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class Rbac(Resource[One, PageT, ListT, Done, Stream]):
    """`/rbac`: roles of the current tenant and who holds them."""

    def permissions(self) -> One:
        """Every permission name, and what each built-in role holds."""
        return self._x.one(Call("GET", "/rbac/permissions"))

    def create_role(
        self,
        name: str,
        permissions: Sequence[str] = (),
        description: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> One:
        """A custom role."""
        payload = body(name=name, description=description, permissions=list(permissions))
        return self._x.one(Call("POST", "/rbac/roles", payload, idempotency_key=idempotency_key))

    def list_roles(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of built-in and custom roles."""
        return self._x.page(listing("/rbac/roles", limit, offset))

    def iterate_roles(self, *, page_size: int = 100) -> Stream:
        """All roles."""
        return self._x.iterate(listing("/rbac/roles", page_size, 0), page_size)

    def get_role(self, role: str) -> One:
        """A role by id or name."""
        return self._x.one(Call("GET", f"/rbac/roles/{seg(role)}"))

    def update_role(
        self,
        role: str,
        *,
        description: str | None = None,
        permissions: Sequence[str] | None = None,
    ) -> One:
        """Change a custom role's description and/or replace its permissions."""
        perms = list(permissions) if permissions is not None else None
        payload = body(description=description, permissions=perms)
        return self._x.one(Call("PUT", f"/rbac/roles/{seg(role)}", payload))

    def delete_role(self, role: str) -> Done:
        """Delete an unbound custom role."""
        return self._x.done(Call("DELETE", f"/rbac/roles/{seg(role)}"))

    def add_permission(self, role: str, permission: str) -> One:
        """Add one permission to a custom role."""
        call = Call("POST", f"/rbac/roles/{seg(role)}/permissions", body(permission=permission))
        return self._x.one(call)

    def remove_permission(self, role: str, permission: str) -> One:
        """Remove one permission from a custom role."""
        return self._x.one(Call("DELETE", f"/rbac/roles/{seg(role)}/permissions/{seg(permission)}"))

    def bind(self, user: str, role: str) -> One:
        """Give a user (id or email) a role in the current tenant."""
        payload = body(user_identifier=user, role_name=role)
        return self._x.one(Call("POST", "/rbac/bindings", payload))

    def list_bindings(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's role bindings."""
        return self._x.page(listing("/rbac/bindings", limit, offset))

    def iterate_bindings(self, *, page_size: int = 100) -> Stream:
        """All of the tenant's role bindings."""
        return self._x.iterate(listing("/rbac/bindings", page_size, 0), page_size)

    def unbind(self, binding_id: str) -> Done:
        """Remove a role binding."""
        return self._x.done(Call("DELETE", f"/rbac/bindings/{seg(binding_id)}"))
