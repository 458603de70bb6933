"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from thecloud.adapters.sql import repositories as r
from thecloud.adapters.sql.engine import IMMEDIATE, is_sqlite
from thecloud.domain.audit import Event
from thecloud.domain.errors import BackendUnavailable
from thecloud.ports import repositories as p

Publisher = Callable[[list[Event]], None]


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, publish: Publisher, *, read_only: bool = False) -> None:
        self._engine = engine
        self._publish = publish
        self._read_only = read_only
        self._conn: AsyncConnection | None = None
        self.emitted: list[Event] = []

    async def __aenter__(self) -> SqlUnitOfWork:
        try:
            conn = await self._engine.connect()
        except OSError as exc:
            raise BackendUnavailable("the metadata database is unreachable") from exc
        if not self._read_only and is_sqlite(str(self._engine.url)):
            conn.sync_connection.info[IMMEDIATE] = True  # type: ignore[union-attr]
        await conn.begin()
        self._conn = conn
        self._bind(conn)
        return self

    def _bind(self, conn: AsyncConnection) -> None:
        self.users: p.UserRepository = r.SqlUsers(conn)
        self.tenants: p.TenantRepository = r.SqlTenants(conn)
        self.roles: p.RoleRepository = r.SqlRoles(conn)
        self.bindings: p.BindingRepository = r.SqlBindings(conn)
        self.api_keys: p.ApiKeyRepository = r.SqlApiKeys(conn)
        self.service_accounts: p.ServiceAccountRepository = r.SqlServiceAccounts(conn)
        self.sa_secrets: p.ServiceAccountSecretRepository = r.SqlServiceAccountSecrets(conn)
        self.policies: p.PolicyRepository = r.SqlPolicies(conn)
        self.attachments: p.AttachmentRepository = r.SqlAttachments(conn)
        self.secrets: p.SecretRepository = r.SqlSecrets(conn)
        self.audit: p.AuditRepository = r.SqlAudit(conn)
        self.events: p.EventRepository = r.SqlEvents(conn)
        self.quotas: p.QuotaRepository = r.SqlQuotas(conn)
        self.idempotency: p.IdempotencyRepository = r.SqlIdempotency(conn)
        self.login_failures: p.LoginFailureRepository = r.SqlLoginFailures(conn)
        self.auth_state: p.AuthStateRepository = r.SqlAuthState(conn)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None  # noqa: S101
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()

    async def commit(self) -> None:
        assert self._conn is not None  # noqa: S101
        await self._conn.commit()
        if self.emitted:
            self._publish(self.emitted)
            self.emitted = []

    async def rollback(self) -> None:
        assert self._conn is not None  # noqa: S101
        await self._conn.rollback()
        self.emitted = []

    async def emit(self, event: Event) -> None:
        await self.events.add(event)
        self.emitted.append(event)


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, publish: Publisher) -> None:
        self._engine = engine
        self._publish = publish

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, self._publish, read_only=read_only)
