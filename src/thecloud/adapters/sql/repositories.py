"""The SQL repositories: the generic one bound to each table, plus the few special queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import Conn, SqlRepository
from thecloud.adapters.sql.notify import CHANNEL
from thecloud.adapters.sql.statements import readonly
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
from thecloud.domain.policy import parse_policy_document, policy_to_dict
from thecloud.domain.quotas import QuotaLine, QuotaResource
from thecloud.domain.rbac import Role, RoleBinding
from thecloud.domain.secrets import Secret


class SqlUsers(SqlRepository[User]):
    entity, table, label = User, t.users, "user"


class SqlTenants(SqlRepository[Tenant]):
    entity, table, label = Tenant, t.tenants, "tenant"

    async def of_principal(self, principal_id: str, query: ListQuery) -> Page[Tenant]:
        members = select(t.role_bindings.c.tenant_id).where(
            t.role_bindings.c.principal_id == principal_id
        )
        return await self.page(self.table.c.id.in_(members), query)


class SqlRoles(SqlRepository[Role]):
    entity, table, label = Role, t.roles, "role"

    def decode(self, row: Mapping[str, Any]) -> Role:
        return super().decode({**row, "permissions": tuple(row["permissions"])})

    def encode(self, item: Role) -> dict[str, Any]:
        return {**super().encode(item), "permissions": list(item.permissions)}

    async def visible(self, tenant_id: str, query: ListQuery) -> Page[Role]:
        where = and_(
            or_(self.table.c.tenant_id == tenant_id, self.table.c.tenant_id.is_(None)),
            self._where(query.filters),
        )
        return await self.page(where, query)

    async def by_name(self, tenant_id: str, name: str) -> Role | None:
        own = await self.find_one(tenant_id=tenant_id, name=name)
        return own or await self.find_one(tenant_id=None, name=name)

    async def by_ids(self, ids: Sequence[str]) -> list[Role]:
        rows = await self._conn.execute(self._select().where(self.table.c.id.in_(ids)))
        return [self._load(r) for r in rows]


class SqlBindings(SqlRepository[RoleBinding]):
    entity, table, label = RoleBinding, t.role_bindings, "role binding"


class SqlApiKeys(SqlRepository[ApiKey]):
    entity, table, label = ApiKey, t.api_keys, "API key"


class SqlServiceAccounts(SqlRepository[ServiceAccount]):
    entity, table, label = ServiceAccount, t.service_accounts, "service account"


class SqlServiceAccountSecrets(SqlRepository[ServiceAccountSecret]):
    entity, table, label = ServiceAccountSecret, t.service_account_secrets, "client secret"


class SqlPolicies(SqlRepository[Policy]):
    entity, table, label = Policy, t.policies, "policy"

    def decode(self, row: Mapping[str, Any]) -> Policy:
        return super().decode({**row, "document": parse_policy_document(row["document"])})

    def encode(self, item: Policy) -> dict[str, Any]:
        return {**super().encode(item), "document": policy_to_dict(item.document)}

    async def attached_to(self, tenant_id: str, principal_id: str) -> list[Policy]:
        a = t.policy_attachments
        ids = select(a.c.policy_id).where(
            a.c.principal_id == principal_id, a.c.tenant_id == tenant_id
        )
        rows = await self._conn.execute(self._select().where(self.table.c.id.in_(ids)))
        return [self._load(r) for r in rows]


class SqlAttachments(SqlRepository[PolicyAttachment]):
    entity, table, label = PolicyAttachment, t.policy_attachments, "policy attachment"


class SqlSecrets(SqlRepository[Secret]):
    entity, table, label = Secret, t.secrets, "secret"

    async def touch(self, ident: str, when: datetime) -> None:
        stmt = update(self.table).where(self.table.c.id == ident).values(last_accessed_at=when)
        await self._conn.execute(stmt)


class SqlAudit(SqlRepository[AuditRecord]):
    entity, table, label = AuditRecord, t.audit_log, "audit record"

    def encode(self, item: AuditRecord) -> dict[str, Any]:
        return {**super().encode(item), "details": dict(item.details)}


class SqlEvents(SqlRepository[Event]):
    entity, table, key, label = Event, t.events, "id", "event"

    def encode(self, item: Event) -> dict[str, Any]:
        values = {**super().encode(item), "data": dict(item.data)}
        values.pop("seq")
        return values

    async def after(self, tenant_id: str, seq: int, limit: int) -> list[Event]:
        c = self.table.c
        stmt = self._select().where(c.tenant_id == tenant_id, c.seq > seq)
        rows = await self._conn.execute(stmt.order_by(c.seq).limit(limit))
        return [self._load(r) for r in rows]

    async def last_seq(self, tenant_id: str) -> int:
        stmt = select(func.max(self.table.c.seq)).where(self.table.c.tenant_id == tenant_id)
        return int((await self._conn.execute(stmt)).scalar_one() or 0)


class SqlIdempotency(SqlRepository[IdempotencyRecord]):
    entity, table, key, label = IdempotencyRecord, t.idempotency_keys, "key", "idempotency key"


class SqlLoginFailures(SqlRepository[LoginFailures]):
    entity, table, key, label = LoginFailures, t.login_failures, "email", "login record"


def _insert(conn: Any, table: Table) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_*` on both SQLite and PostgreSQL."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


class SqlQuotas:
    """Quota lines; `adjust` is one conditional UPDATE per resource, so it is race-free."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def lines(self, tenant_id: str) -> list[QuotaLine]:
        rows = await self._conn.execute(select(t.quotas).where(t.quotas.c.tenant_id == tenant_id))
        return [
            QuotaLine(**{**r, "resource": QuotaResource(r["resource"])}) for r in rows.mappings()
        ]

    async def put(self, line: QuotaLine) -> None:
        values = {"limit": line.limit, "used": line.used, "updated_at": line.updated_at}
        stmt = _insert(self._conn, t.quotas).values(
            tenant_id=line.tenant_id, resource=str(line.resource), **values
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(index_elements=["tenant_id", "resource"], set_=values)
        )

    async def adjust(
        self, tenant_id: str, changes: Mapping[str, int], defaults: Mapping[str, int]
    ) -> list[str]:
        await self._ensure_lines(tenant_id, changes, defaults)
        applied = {r: d for r, d in changes.items() if await self._add(tenant_id, r, d, True)}
        exceeded = [r for r in changes if r not in applied]
        for resource, delta in applied.items() if exceeded else ():
            await self._add(tenant_id, resource, -delta, False)
        return exceeded

    async def _add(self, tenant_id: str, resource: str, delta: int, check: bool) -> bool:
        c = t.quotas.c
        stmt = update(t.quotas).where(c.tenant_id == tenant_id, c.resource == resource)
        if check and delta > 0:
            stmt = stmt.where(c.used + delta <= c["limit"])
        result = await self._conn.execute(stmt.values(used=c.used + delta))
        return bool(result.rowcount)

    async def _ensure_lines(
        self, tenant_id: str, changes: Mapping[str, int], defaults: Mapping[str, int]
    ) -> None:
        """Insert missing lines; ON CONFLICT DO NOTHING lets concurrent first uses race safely."""
        for resource in changes:
            stmt = _insert(self._conn, t.quotas).values(
                tenant_id=tenant_id,
                resource=resource,
                limit=defaults[resource],
                used=0,
                updated_at=datetime.now(UTC),
            )
            await self._conn.execute(stmt.on_conflict_do_nothing())


_GENERATION = readonly(select(t.auth_state.c.generation).where(t.auth_state.c.id == 1))


class SqlAuthState:
    """The identity/access generation counter in a one-row table.

    On PostgreSQL a bump also notifies every listening server process (adapters/sql/notify.py).
    """

    def __init__(self, conn: Conn, on_bump: Callable[[int], None] | None = None) -> None:
        self._conn = conn
        self._on_bump = on_bump

    async def generation(self) -> int:
        return int((await self._conn.execute(_GENERATION)).scalar_one_or_none() or 0)

    async def bump(self) -> None:
        stmt = _insert(self._conn, t.auth_state).values(id=1, generation=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={"generation": t.auth_state.c.generation + 1}
        ).returning(t.auth_state.c.generation)
        generation = int((await self._conn.execute(stmt)).scalar_one())
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(select(func.pg_notify(CHANNEL, str(generation))))
        if self._on_bump is not None:
            self._on_bump(generation)
