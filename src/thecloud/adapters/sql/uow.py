"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from functools import cached_property
from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from thecloud.adapters.sql import compute as compute
from thecloud.adapters.sql import dns as dns
from thecloud.adapters.sql import network as network
from thecloud.adapters.sql import objects as objects
from thecloud.adapters.sql import repositories as r
from thecloud.adapters.sql import storage as storage
from thecloud.adapters.sql.engine import (
    create_inline_reader,
    create_inline_writer,
    is_sqlite,
    on_disk,
)
from thecloud.adapters.sql.group import GroupCommit, GroupMember
from thecloud.adapters.sql.inline import InlineConnection, InlinePool, WriterGate
from thecloud.adapters.sql.pgread import PgReaderConnection, PgReaderPool
from thecloud.domain.audit import Event
from thecloud.domain.compute import Deployment, SshKey
from thecloud.domain.dns import DnsRecord, DnsZone
from thecloud.domain.errors import BackendUnavailable
from thecloud.domain.network import (
    ElasticIp,
    GroupMembership,
    InternetGateway,
    NatGateway,
    RouteAssociation,
    RouteTable,
    SecurityGroup,
    SecurityRule,
    Subnet,
    Vpc,
    VpcPeering,
)
from thecloud.domain.storage import Snapshot, Volume
from thecloud.ports import repositories as p

Publisher = Callable[[list[Event]], None]


class SqlUnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        publish: Publisher,
        *,
        read_only: bool = False,
        batched: bool = False,
        inline_reader: InlinePool | None = None,
        writers: GroupCommit | None = None,
        pg_reader: PgReaderPool | None = None,
        on_access: Callable[[int], None] | None = None,
        on_bump: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._read_only = read_only
        self._batched = batched
        self._inline = inline_reader if read_only else None
        self._writers = None if read_only else writers
        self._pg = pg_reader if read_only else None
        self._conn: AsyncConnection | InlineConnection | PgReaderConnection | GroupMember | None = (
            None
        )
        self.emitted: list[Event] = []
        self._on_access = on_access
        self._on_bump = on_bump
        self._bumped_to: int | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._conn = await self._open()
        return self

    async def _open(self) -> AsyncConnection | InlineConnection | PgReaderConnection | GroupMember:
        try:
            if self._inline is not None:
                return InlineConnection(self._inline)
            if self._writers is not None:
                return await self._writers.join(self._batched)
            if self._pg is not None:
                # PostgreSQL readers run in autocommit: READ COMMITTED gives each statement
                # its own snapshot anyway, and BEGIN/ROLLBACK would be two more round trips.
                return PgReaderConnection(self._pg, self._engine)
            conn = await self._engine.connect()  # a PostgreSQL writer
        except (OSError, DBAPIError) as exc:
            raise BackendUnavailable("the metadata database is unreachable") from exc
        await conn.begin()
        return conn

    @property
    def _c(self) -> AsyncConnection | InlineConnection | PgReaderConnection | GroupMember:
        assert self._conn is not None  # noqa: S101
        return self._conn

    # Repositories are made on first use: most units of work touch one or two of them.
    @cached_property
    def users(self) -> p.UserRepository:
        return r.SqlUsers(self._c)

    @cached_property
    def tenants(self) -> p.TenantRepository:
        return r.SqlTenants(self._c)

    @cached_property
    def roles(self) -> p.RoleRepository:
        return r.SqlRoles(self._c)

    @cached_property
    def bindings(self) -> p.BindingRepository:
        return r.SqlBindings(self._c)

    @cached_property
    def api_keys(self) -> p.ApiKeyRepository:
        return r.SqlApiKeys(self._c)

    @cached_property
    def service_accounts(self) -> p.ServiceAccountRepository:
        return r.SqlServiceAccounts(self._c)

    @cached_property
    def sa_secrets(self) -> p.ServiceAccountSecretRepository:
        return r.SqlServiceAccountSecrets(self._c)

    @cached_property
    def policies(self) -> p.PolicyRepository:
        return r.SqlPolicies(self._c)

    @cached_property
    def attachments(self) -> p.AttachmentRepository:
        return r.SqlAttachments(self._c)

    @cached_property
    def secrets(self) -> p.SecretRepository:
        return r.SqlSecrets(self._c)

    @cached_property
    def audit(self) -> p.AuditRepository:
        return r.SqlAudit(self._c)

    @cached_property
    def events(self) -> p.EventRepository:
        return r.SqlEvents(self._c)

    @cached_property
    def quotas(self) -> p.QuotaRepository:
        return r.SqlQuotas(self._c)

    @cached_property
    def idempotency(self) -> p.IdempotencyRepository:
        return r.SqlIdempotency(self._c)

    @cached_property
    def login_failures(self) -> p.LoginFailureRepository:
        return r.SqlLoginFailures(self._c)

    @cached_property
    def auth_state(self) -> p.AuthStateRepository:
        return r.SqlAuthState(self._c, self._bumped)

    @cached_property
    def images(self) -> p.ImageRepository:
        return compute.SqlImages(self._c)

    @cached_property
    def instances(self) -> p.InstanceRepository:
        return compute.SqlInstances(self._c)

    @cached_property
    def metrics(self) -> p.MetricRepository:
        return compute.SqlMetrics(self._c)

    @cached_property
    def ssh_keys(self) -> p.Repository[SshKey]:
        return compute.SqlSshKeys(self._c)

    @cached_property
    def deployments(self) -> p.Repository[Deployment]:
        return compute.SqlDeployments(self._c)

    @cached_property
    def vpcs(self) -> p.Repository[Vpc]:
        return network.SqlVpcs(self._c)

    @cached_property
    def subnets(self) -> p.Repository[Subnet]:
        return network.SqlSubnets(self._c)

    @cached_property
    def security_groups(self) -> p.Repository[SecurityGroup]:
        return network.SqlSecurityGroups(self._c)

    @cached_property
    def security_rules(self) -> p.Repository[SecurityRule]:
        return network.SqlSecurityRules(self._c)

    @cached_property
    def group_members(self) -> p.Repository[GroupMembership]:
        return network.SqlGroupMembers(self._c)

    @cached_property
    def peerings(self) -> p.Repository[VpcPeering]:
        return network.SqlPeerings(self._c)

    @cached_property
    def volumes(self) -> p.Repository[Volume]:
        return storage.SqlVolumes(self._c)

    @cached_property
    def snapshots(self) -> p.Repository[Snapshot]:
        return storage.SqlSnapshots(self._c)

    @cached_property
    def elastic_ips(self) -> p.Repository[ElasticIp]:
        return network.SqlElasticIps(self._c)

    @cached_property
    def internet_gateways(self) -> p.Repository[InternetGateway]:
        return network.SqlInternetGateways(self._c)

    @cached_property
    def nat_gateways(self) -> p.Repository[NatGateway]:
        return network.SqlNatGateways(self._c)

    @cached_property
    def route_tables(self) -> p.Repository[RouteTable]:
        return network.SqlRouteTables(self._c)

    @cached_property
    def route_associations(self) -> p.Repository[RouteAssociation]:
        return network.SqlRouteAssociations(self._c)

    @cached_property
    def dns_zones(self) -> p.Repository[DnsZone]:
        return dns.SqlDnsZones(self._c)

    @cached_property
    def dns_records(self) -> p.Repository[DnsRecord]:
        return dns.SqlDnsRecords(self._c)

    @cached_property
    def storage_credentials(self) -> p.CredentialRepository:
        return objects.SqlStorageCredentials(self._c)

    @cached_property
    def buckets(self) -> p.BucketRepository:
        return objects.SqlBuckets(self._c)

    @cached_property
    def object_versions(self) -> p.ObjectVersionRepository:
        return objects.SqlObjectVersions(self._c)

    @cached_property
    def uploads(self) -> p.UploadRepository:
        return objects.SqlUploads(self._c)

    @cached_property
    def parts(self) -> p.PartRepository:
        return objects.SqlParts(self._c)

    def _bumped(self, generation: int) -> None:
        self._bumped_to = generation
        if self._on_bump is not None:
            self._on_bump(generation)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None  # noqa: S101
        if isinstance(self._conn, GroupMember):
            await self._conn.close()  # undoes what was not committed
            return
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()

    async def commit(self) -> None:
        assert self._conn is not None  # noqa: S101
        if isinstance(self._conn, GroupMember):
            # once its transaction has committed; a cancellation meanwhile is raised after
            # what follows a commit (the work is in the database either way)
            cancelled = await self._conn.commit_landed()
            self._landed()
            if cancelled is not None:
                raise cancelled
            return
        await self._conn.commit()
        self._landed()

    def _landed(self) -> None:
        if self._bumped_to is not None and self._on_access is not None:
            self._on_access(self._bumped_to)
        self._bumped_to = None
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
    """Units of work on one engine.

    On SQLite, writers in this process take turns on a GroupCommit instead of SQLite's
    busy-wait (which sleeps in steps of up to 100 ms; other processes still meet
    `BEGIN IMMEDIATE`), short ones sharing a transaction (see group.py), and readers and
    writers run inline on the loop thread (see inline.py). On PostgreSQL, readers run on
    bare asyncpg connections (see pgread.py).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        publish: Publisher,
        on_access: Callable[[int], None] | None = None,
        *,
        on_bump: Callable[[int], None] | None = None,
        durable: bool = True,
    ) -> None:
        self._engine = engine
        # SQLite runs WAL with synchronous=NORMAL: a commit survives a process crash at once,
        # a power loss only after the WAL is synced. sync() does that for the calls that
        # promise durability (object writes); PostgreSQL fsyncs every commit by itself.
        database = engine.url.database
        wal = f"{database}-wal" if durable and is_sqlite(str(engine.url)) and database else None
        self._wal = GroupSync(wal) if wal is not None else None
        self._publish = publish
        self._on_access = on_access
        self._on_bump = on_bump
        sqlite = is_sqlite(str(engine.url))
        self._reader = InlinePool(create_inline_reader(engine.url)) if sqlite else None
        # a database in one file: every connection to it sees every commit (data_version),
        # and other processes may write it (the writers' gate)
        self._versioned = sqlite and on_disk(database)
        gate = WriterGate(f"{database}-writers") if self._versioned else None
        self._writer = InlinePool(create_inline_writer(engine.url), gate) if sqlite else None
        self._writers = GroupCommit(self._writer) if self._writer is not None else None
        url = engine.url.render_as_string(hide_password=False)
        self._pg = None if sqlite else PgReaderPool(url, engine.dialect)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def sync(self) -> None:
        """Make every commit so far durable against power loss (fsync SQLite's WAL)."""
        if self._wal is not None:
            await self._wal.sync()

    async def version(self) -> int | None:
        """On SQLite in a file, its commit count as one connection sees it (no round trip);
        on PostgreSQL, its current snapshot (one light round trip); in memory, none."""
        if self._pg is not None:
            return await self._pg.version()
        if self._reader is None or not self._versioned:
            return None
        return self._reader.data_version()

    def __call__(self, *, read_only: bool = False, batched: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self._autocommit if read_only else self._engine,
            self._publish,
            read_only=read_only,
            batched=batched,
            inline_reader=self._reader,
            writers=self._writers,
            pg_reader=self._pg,
            on_access=self._on_access,
            on_bump=self._on_bump,
        )

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.dispose()
        if self._writer is not None:
            self._writer.dispose()
        if self._pg is not None:
            await self._pg.close()


class GroupSync:
    """fsyncs of one file shared by everyone waiting (a group commit).

    A caller needs an fsync that began after it asked (after its commit); one already
    running may have begun before, so it waits for that one and then for the next, which
    serves everyone who asked in the meantime. Sixteen concurrent writers then wait for two
    fsyncs each at most, not for sixteen in a row.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._asked = 0  # tickets handed out
        self._done = 0  # every ticket up to this one is durable
        self._running: asyncio.Future[None] | None = None

    async def sync(self) -> None:
        self._asked += 1
        ticket = self._asked
        while self._done < ticket:
            if self._running is None or self._running.done():
                self._running = asyncio.ensure_future(self._fsync(covers=self._asked))
            await asyncio.shield(self._running)

    async def _fsync(self, covers: int) -> None:
        """One fsync; every ticket handed out before it began is then durable. (Recorded
        here, before the task completes: a waiter woken by the completion must see it, or
        it would start over at once.)"""
        await asyncio.to_thread(_fsync, self._path)
        self._done = max(self._done, covers)


def _fsync(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # checkpointed away: the data is in the database file
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
