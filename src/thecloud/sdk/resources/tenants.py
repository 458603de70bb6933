"""Tenants, their members, and quotas."""

from __future__ import annotations

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class Tenants(Resource[One, PageT, ListT, Done, Stream]):
    """`/tenants`: tenants you belong to and their members."""

    def create(self, name: str, slug: str, *, idempotency_key: str | None = None) -> One:
        """A new tenant owned by you."""
        call = Call("POST", "/tenants", body(name=name, slug=slug), idempotency_key=idempotency_key)
        return self._x.one(call)

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenants you belong to."""
        return self._x.page(listing("/tenants", limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the tenants you belong to."""
        return self._x.iterate(listing("/tenants", page_size, 0), page_size)

    def get(self, tenant_id: str) -> One:
        """One of your tenants."""
        return self._x.one(Call("GET", f"/tenants/{seg(tenant_id)}"))

    def switch(self, tenant_id: str) -> One:
        """Check you may act in a tenant; send its id as `tenant_id` on the client afterwards."""
        return self._x.one(Call("POST", f"/tenants/{seg(tenant_id)}/switch"))

    def invite(self, tenant_id: str, email: str, role: str) -> One:
        """Give a registered user a role in the tenant; returns the role binding."""
        call = Call("POST", f"/tenants/{seg(tenant_id)}/members", body(email=email, role=role))
        return self._x.one(call)

    def members(
        self, tenant_id: str, *, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's role bindings."""
        return self._x.page(listing(f"/tenants/{seg(tenant_id)}/members", limit, offset))

    def iterate_members(self, tenant_id: str, *, page_size: int = 100) -> Stream:
        """All of the tenant's role bindings."""
        call = listing(f"/tenants/{seg(tenant_id)}/members", page_size, 0)
        return self._x.iterate(call, page_size)


class Quotas(Resource[One, PageT, ListT, Done, Stream]):
    """`/quotas`: limits and usage of the current tenant."""

    def get(self) -> ListT:
        """One line per resource: resource, limit, used, available."""
        return self._x.items(Call("GET", "/quotas"))

    def set(
        self,
        *,
        instances: int | None = None,
        vcpus: int | None = None,
        memory_mb: int | None = None,
        vpcs: int | None = None,
        storage_gb: int | None = None,
    ) -> ListT:
        """Change the limits given (admins); returns every line."""
        limits = body(
            instances=instances, vcpus=vcpus, memory_mb=memory_mb, vpcs=vpcs, storage_gb=storage_gb
        )
        return self._x.items(Call("PUT", "/quotas", limits))
