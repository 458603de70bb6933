"""The unit of work: one transaction over every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from thecloud.domain.audit import Event
from thecloud.domain.compute import Deployment, SshKey
from thecloud.domain.dns import DnsRecord, DnsZone
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
from thecloud.ports.repositories import (
    ApiKeyRepository,
    AttachmentRepository,
    AuditRepository,
    AuthStateRepository,
    BindingRepository,
    BucketRepository,
    CredentialRepository,
    EventRepository,
    IdempotencyRepository,
    ImageRepository,
    InstanceRepository,
    LoginFailureRepository,
    MetricRepository,
    ObjectVersionRepository,
    PartRepository,
    PolicyRepository,
    QuotaRepository,
    Repository,
    RoleRepository,
    SecretRepository,
    ServiceAccountRepository,
    ServiceAccountSecretRepository,
    TenantRepository,
    UploadRepository,
    UserRepository,
)


class UnitOfWork(Protocol):
    """`async with uow:` opens a transaction; leaving without `commit()` rolls back."""

    @property
    def users(self) -> UserRepository: ...
    @property
    def tenants(self) -> TenantRepository: ...
    @property
    def roles(self) -> RoleRepository: ...
    @property
    def bindings(self) -> BindingRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def service_accounts(self) -> ServiceAccountRepository: ...
    @property
    def sa_secrets(self) -> ServiceAccountSecretRepository: ...
    @property
    def policies(self) -> PolicyRepository: ...
    @property
    def attachments(self) -> AttachmentRepository: ...
    @property
    def secrets(self) -> SecretRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def quotas(self) -> QuotaRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def login_failures(self) -> LoginFailureRepository: ...
    @property
    def auth_state(self) -> AuthStateRepository: ...
    @property
    def images(self) -> ImageRepository: ...
    @property
    def instances(self) -> InstanceRepository: ...
    @property
    def metrics(self) -> MetricRepository: ...
    @property
    def ssh_keys(self) -> Repository[SshKey]: ...
    @property
    def deployments(self) -> Repository[Deployment]: ...
    @property
    def vpcs(self) -> Repository[Vpc]: ...
    @property
    def subnets(self) -> Repository[Subnet]: ...
    @property
    def security_groups(self) -> Repository[SecurityGroup]: ...
    @property
    def security_rules(self) -> Repository[SecurityRule]: ...
    @property
    def group_members(self) -> Repository[GroupMembership]: ...
    @property
    def peerings(self) -> Repository[VpcPeering]: ...
    @property
    def volumes(self) -> Repository[Volume]: ...
    @property
    def snapshots(self) -> Repository[Snapshot]: ...
    @property
    def elastic_ips(self) -> Repository[ElasticIp]: ...
    @property
    def internet_gateways(self) -> Repository[InternetGateway]: ...
    @property
    def nat_gateways(self) -> Repository[NatGateway]: ...
    @property
    def route_tables(self) -> Repository[RouteTable]: ...
    @property
    def route_associations(self) -> Repository[RouteAssociation]: ...
    @property
    def dns_zones(self) -> Repository[DnsZone]: ...
    @property
    def dns_records(self) -> Repository[DnsRecord]: ...
    @property
    def storage_credentials(self) -> CredentialRepository: ...
    @property
    def buckets(self) -> BucketRepository: ...
    @property
    def object_versions(self) -> ObjectVersionRepository: ...
    @property
    def uploads(self) -> UploadRepository: ...
    @property
    def parts(self) -> PartRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def emit(self, event: Event) -> None:
        """Store an event; it is published to live streams once the transaction commits."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, batched: bool = False) -> UnitOfWork:
        """A new unit of work; `read_only` lets SQLite readers run without the write lock.

        `batched`: a short write that awaits nothing but this unit of work between entering
        and committing (an object's metadata) may share its transaction with other such
        writes that arrive together, one COMMIT for all of them (SQLite: see
        adapters/sql/group.py). It is still atomic on its own, and `commit()` returns once
        it is committed; it may wait a few milliseconds for the others of its group."""
        ...

    async def sync(self) -> None:
        """Make every commit so far durable against power loss (where commits are not
        already: SQLite in WAL mode with synchronous=NORMAL)."""
        ...

    async def version(self) -> int | None:
        """A number that grows whenever a commit has landed since the last call, by anyone
        (this process or another): what was read after seeing `n` is still current while
        `version()` returns `n`. SQLite in a file tells without a round trip, PostgreSQL
        with one light query (worth it where it saves a heavier read: a list, a lookup of
        two rows). None where the store cannot tell (an in-memory database): nothing may
        then be kept across requests on its strength."""
        ...
