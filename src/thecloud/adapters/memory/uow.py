"""The in-memory unit of work: a snapshot of the store per transaction, applied on commit."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from thecloud.adapters.memory import compute, dns_repos, network, object_repos, storage
from thecloud.adapters.memory import repositories as r
from thecloud.adapters.memory.store import MemoryState, MemoryStore
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
from thecloud.ports import repositories as p

Publisher = Callable[[list[Event]], None]


def _no_publisher(_events: list[Event]) -> None:
    return None


class MemoryUnitOfWork:
    """Writers hold the store's lock from enter to exit; readers see the state as of enter."""

    def __init__(self, store: MemoryStore, publish: Publisher, *, read_only: bool = False) -> None:
        self._store, self._publish, self._read_only = store, publish, read_only
        self._state: MemoryState | None = None
        self._locked = False
        self.emitted: list[Event] = []

    async def __aenter__(self) -> MemoryUnitOfWork:
        if not self._read_only:
            await self._store.acquire()
            self._locked = True
        self._begin()
        return self

    def _begin(self) -> None:
        self._state = self._store.snapshot(read_only=self._read_only)
        self._bind(self._state)
        self.emitted = []

    def _bind(self, state: MemoryState) -> None:
        self.users: p.UserRepository = r.MemoryUsers(state)
        self.tenants: p.TenantRepository = r.MemoryTenants(state)
        self.roles: p.RoleRepository = r.MemoryRoles(state)
        self.bindings: p.BindingRepository = r.MemoryBindings(state)
        self.api_keys: p.ApiKeyRepository = r.MemoryApiKeys(state)
        self.service_accounts: p.ServiceAccountRepository = r.MemoryServiceAccounts(state)
        self.sa_secrets: p.ServiceAccountSecretRepository = r.MemoryServiceAccountSecrets(state)
        self.policies: p.PolicyRepository = r.MemoryPolicies(state)
        self.attachments: p.AttachmentRepository = r.MemoryAttachments(state)
        self.secrets: p.SecretRepository = r.MemorySecrets(state)
        self.audit: p.AuditRepository = r.MemoryAudit(state)
        self.events: p.EventRepository = r.MemoryEvents(state)
        self.quotas: p.QuotaRepository = r.MemoryQuotas(state, self._store.now)
        self.idempotency: p.IdempotencyRepository = r.MemoryIdempotency(state)
        self.login_failures: p.LoginFailureRepository = r.MemoryLoginFailures(state)
        self.auth_state: p.AuthStateRepository = r.MemoryAuthState(state)
        self.images: p.ImageRepository = compute.MemoryImages(state)
        self.instances: p.InstanceRepository = compute.MemoryInstances(state)
        self.metrics: p.MetricRepository = compute.MemoryMetrics(state)
        self.ssh_keys: p.Repository[SshKey] = compute.MemorySshKeys(state)
        self.deployments: p.Repository[Deployment] = compute.MemoryDeployments(state)
        self.vpcs: p.Repository[Vpc] = network.MemoryVpcs(state)
        self.subnets: p.Repository[Subnet] = network.MemorySubnets(state)
        self.security_groups: p.Repository[SecurityGroup] = network.MemorySecurityGroups(state)
        self.security_rules: p.Repository[SecurityRule] = network.MemorySecurityRules(state)
        self.group_members: p.Repository[GroupMembership] = network.MemoryGroupMembers(state)
        self.peerings: p.Repository[VpcPeering] = network.MemoryPeerings(state)
        self.volumes: p.Repository[Volume] = storage.MemoryVolumes(state)
        self.snapshots: p.Repository[Snapshot] = storage.MemorySnapshots(state)
        self.elastic_ips: p.Repository[ElasticIp] = network.MemoryElasticIps(state)
        self.internet_gateways: p.Repository[InternetGateway] = network.MemoryInternetGateways(
            state
        )
        self.nat_gateways: p.Repository[NatGateway] = network.MemoryNatGateways(state)
        self.route_tables: p.Repository[RouteTable] = network.MemoryRouteTables(state)
        self.route_associations: p.Repository[RouteAssociation] = network.MemoryRouteAssociations(
            state
        )
        self.dns_zones: p.Repository[DnsZone] = dns_repos.MemoryDnsZones(state)
        self.dns_records: p.Repository[DnsRecord] = dns_repos.MemoryDnsRecords(state)
        self.storage_credentials: p.CredentialRepository = object_repos.MemoryStorageCredentials(
            state
        )
        self.buckets: p.BucketRepository = object_repos.MemoryBuckets(state)
        self.object_versions: p.ObjectVersionRepository = object_repos.MemoryObjectVersions(state)
        self.uploads: p.UploadRepository = object_repos.MemoryUploads(state)
        self.parts: p.PartRepository = object_repos.MemoryParts(state)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state, self.emitted = None, []
        if self._locked:
            self._locked = False
            self._store.release()

    def _current(self) -> MemoryState:
        if self._state is None:
            raise RuntimeError("the unit of work is used outside `async with`")
        return self._state

    async def commit(self) -> None:
        state, emitted = self._current(), self.emitted
        if not self._read_only:
            self._store.commit(state)
        self._begin()
        if emitted:
            self._publish(emitted)

    async def rollback(self) -> None:
        self._current()
        self._begin()

    async def emit(self, event: Event) -> None:
        await self.events.add(event)
        stored = await self.events.get(event.id)
        self.emitted.append(stored or event)


class MemoryUnitOfWorkFactory:
    def __init__(self, store: MemoryStore, publish: Publisher = _no_publisher) -> None:
        self.store = store
        self._publish = publish

    def __call__(self, *, read_only: bool = False, batched: bool = False) -> MemoryUnitOfWork:
        del batched  # one writer at a time, nothing to share
        return MemoryUnitOfWork(self.store, self._publish, read_only=read_only)

    async def sync(self) -> None:
        """Nothing to flush: memory is as durable as it gets."""

    async def version(self) -> int:
        return self.store.version
