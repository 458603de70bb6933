"""The in-memory repositories: the generic one bound to each table, plus the special queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.adapters.memory.schema import TABLES
from thecloud.adapters.memory.store import MemoryState
from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.common import ListQuery, Page
from thecloud.domain.iam import Policy, PolicyAttachment
from thecloud.domain.idempotency import IdempotencyRecord
from thecloud.domain.identity import (
    ApiKey,
    LoginFailures,
    ServiceAccount,
    ServiceAccountSecret,
    Tenant,
    User,
)
from thecloud.domain.quotas import QuotaLine, QuotaResource
from thecloud.domain.rbac import Role, RoleBinding
from thecloud.domain.secrets import Secret


class MemoryUsers(MemoryRepository[User]):
    entity, table, label = User, "users", "user"


class MemoryTenants(MemoryRepository[Tenant]):
    entity, table, label = Tenant, "tenants", "tenant"

    async def of_principal(self, principal_id: str, query: ListQuery) -> Page[Tenant]:
        """Like the SQL query, this ignores the query's filters and time window."""
        bindings = self._state.tables["role_bindings"].values()
        ids = {b.tenant_id for b in bindings if b.principal_id == principal_id}
        return self.page([t for t in self._rows.values() if t.id in ids], query)


class MemoryRoles(MemoryRepository[Role]):
    entity, table, label = Role, "roles", "role"

    async def visible(self, tenant_id: str, query: ListQuery) -> Page[Role]:
        rows = self._select(query.filters)
        return self.page([r for r in rows if r.tenant_id in (tenant_id, None)], query)

    async def by_name(self, tenant_id: str, name: str) -> Role | None:
        own = await self.find_one(tenant_id=tenant_id, name=name)
        return own or await self.find_one(tenant_id=None, name=name)

    async def by_ids(self, ids: Sequence[str]) -> list[Role]:
        wanted = set(ids)
        return [r for r in self._rows.values() if r.id in wanted]


class MemoryBindings(MemoryRepository[RoleBinding]):
    entity, table, label = RoleBinding, "role_bindings", "role binding"


class MemoryApiKeys(MemoryRepository[ApiKey]):
    entity, table, label = ApiKey, "api_keys", "API key"


class MemoryServiceAccounts(MemoryRepository[ServiceAccount]):
    entity, table, label = ServiceAccount, "service_accounts", "service account"


class MemoryServiceAccountSecrets(MemoryRepository[ServiceAccountSecret]):
    entity, table, label = ServiceAccountSecret, "service_account_secrets", "client secret"


class MemoryPolicies(MemoryRepository[Policy]):
    entity, table, label = Policy, "policies", "policy"

    async def attached_to(self, tenant_id: str, principal_id: str) -> list[Policy]:
        attachments = self._state.tables["policy_attachments"].values()
        ids = {
            a.policy_id
            for a in attachments
            if a.principal_id == principal_id and a.tenant_id == tenant_id
        }
        return [p for p in self._rows.values() if p.id in ids]


class MemoryAttachments(MemoryRepository[PolicyAttachment]):
    entity, table, label = PolicyAttachment, "policy_attachments", "policy attachment"


class MemorySecrets(MemoryRepository[Secret]):
    entity, table, label = Secret, "secrets", "secret"

    async def touch(self, ident: str, when: datetime) -> None:
        old = self._rows.get(ident)
        if old is not None:
            self._store(ident, replace(old, last_accessed_at=when))


class MemoryAudit(MemoryRepository[AuditRecord]):
    entity, table, label = AuditRecord, "audit_log", "audit record"


class MemoryEvents(MemoryRepository[Event]):
    """Events get the next sequence number on insert, like the SQL autoincrement key."""

    entity, table, label = Event, "events", "event"

    async def add(self, item: Event) -> None:
        if item.id in self._rows:
            raise self._conflict()
        self._state.touch()
        self._state.seq += 1
        await super().add(replace(item, seq=self._state.seq))

    async def update(self, item: Event) -> None:
        old = self._rows.get(item.id)
        await super().update(replace(item, seq=old.seq) if old else item)

    async def after(self, tenant_id: str, seq: int, limit: int) -> list[Event]:
        found = [e for e in self._rows.values() if e.tenant_id == tenant_id and e.seq > seq]
        return sorted(found, key=lambda e: e.seq)[:limit]

    async def last_seq(self, tenant_id: str) -> int:
        return max((e.seq for e in self._rows.values() if e.tenant_id == tenant_id), default=0)


class MemoryIdempotency(MemoryRepository[IdempotencyRecord]):
    entity, table, label = IdempotencyRecord, "idempotency_keys", "idempotency key"


class MemoryLoginFailures(MemoryRepository[LoginFailures]):
    entity, table, label = LoginFailures, "login_failures", "login record"


class MemoryQuotas:
    """Quota lines keyed by (tenant, resource); `adjust` applies each change only if it fits."""

    def __init__(self, state: MemoryState, now: Callable[[], datetime]) -> None:
        self._state, self._now = state, now
        self._rows: dict[tuple[str, str], QuotaLine] = state.tables["quotas"]

    async def lines(self, tenant_id: str) -> list[QuotaLine]:
        return [line for line in self._rows.values() if line.tenant_id == tenant_id]

    async def put(self, line: QuotaLine) -> None:
        key = (line.tenant_id, str(line.resource))
        old = self._rows.get(key)
        if old is not None:
            line = replace(old, limit=line.limit, used=line.used, updated_at=line.updated_at)
        self._write(key, replace(line, resource=QuotaResource(line.resource)))

    def _write(self, key: tuple[str, str], line: QuotaLine) -> None:
        self._state.touch()
        self._state.check_parents(TABLES["quotas"], line)
        self._rows[key] = line

    async def adjust(
        self, tenant_id: str, changes: Mapping[str, int], defaults: Mapping[str, int]
    ) -> list[str]:
        exceeded: list[str] = []
        for resource, delta in changes.items():
            line = self._line(tenant_id, resource, defaults)
            if delta > 0 and line.used + delta > line.limit:
                exceeded.append(resource)
            else:
                self._write((tenant_id, resource), replace(line, used=line.used + delta))
        return exceeded

    def _line(self, tenant_id: str, resource: str, defaults: Mapping[str, int]) -> QuotaLine:
        line = self._rows.get((tenant_id, resource))
        if line is None:
            line = QuotaLine(tenant_id, QuotaResource(resource), defaults[resource], 0, self._now())
            self._write((tenant_id, resource), line)
        return line


class MemoryAuthState:
    """The identity/access generation counter."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def generation(self) -> int:
        return self._state.generation

    async def bump(self) -> None:
        self._state.touch()
        self._state.generation += 1
