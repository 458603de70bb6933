"""SSH public keys of a tenant, installed into instances launched with them."""

from __future__ import annotations

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.compute import SshKey, parse_public_key
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.identity import Principal
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Service, by_id_or_name


class SshKeyService(Service):
    async def create(self, p: Principal, name: str, public_key: str) -> SshKey:
        if not name.strip() or len(name) > 200:
            raise InvalidInput("name must be 1-200 characters")
        self.allow(p, "ssh_key:create", "ssh_key", name=name)
        line, fingerprint = parse_public_key(public_key)
        key = SshKey(new_id(), p.tenant_id, name, line, fingerprint, p.id, self._clock.now())
        async with self._uow() as uow:
            if await uow.ssh_keys.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"an SSH key named {name!r} already exists")
            await uow.ssh_keys.add(key)
            await self._record(uow, p, "ssh_key:create", "ssh_key", key.id, {"name": name})
            await uow.commit()
        return key

    async def list(self, p: Principal, query: ListQuery) -> Page[SshKey]:
        self.allow(p, "ssh_key:read", "ssh_key")
        async with self._uow(read_only=True) as uow:
            return await uow.ssh_keys.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> SshKey:
        async with self._uow(read_only=True) as uow:
            key = await find_key(uow, p.tenant_id, ident)
        self.allow(p, "ssh_key:read", "ssh_key", key.id, key.name)
        return key

    async def delete(self, p: Principal, ident: str) -> None:
        """Instances launched with the key keep it; new launches can no longer name it."""
        async with self._uow() as uow:
            key = await find_key(uow, p.tenant_id, ident)
            self.allow(p, "ssh_key:delete", "ssh_key", key.id, key.name)
            await uow.ssh_keys.delete(key.id, p.tenant_id)
            await self._record(uow, p, "ssh_key:delete", "ssh_key", key.id, {"name": key.name})
            await uow.commit()


async def find_key(uow: UnitOfWork, tenant_id: str, ident: str) -> SshKey:
    return await by_id_or_name(uow.ssh_keys, "SSH key", tenant_id, ident)
