"""Every resource group of the API, gathered once for both clients."""

from __future__ import annotations

from typing import Generic

from thecloud.sdk._core import Options
from thecloud.sdk.resources.activity import Audit, Events, Health
from thecloud.sdk.resources.auth import ApiKeys, Auth
from thecloud.sdk.resources.base import Done, Executor, ListT, One, PageT, Resource, Stream
from thecloud.sdk.resources.buckets import Buckets, StorageCredentials
from thecloud.sdk.resources.compute import Images, Instances, InstanceTypes
from thecloud.sdk.resources.deployments import Deployments
from thecloud.sdk.resources.dns import Dns
from thecloud.sdk.resources.gateways import ElasticIps, InternetGateways, NatGateways, RouteTables
from thecloud.sdk.resources.iam import Iam, ServiceAccounts
from thecloud.sdk.resources.network import SecurityGroups, Subnets, VpcPeerings, Vpcs
from thecloud.sdk.resources.rbac import Rbac
from thecloud.sdk.resources.secrets import Secrets
from thecloud.sdk.resources.ssh_keys import SshKeys
from thecloud.sdk.resources.storage import Snapshots, Volumes
from thecloud.sdk.resources.tenants import Quotas, Tenants

__all__ = ["Executor", "Resource", "Resources"]


class Resources(Generic[One, PageT, ListT, Done, Stream]):
    """The resource sub-objects (`client.secrets`, `client.auth`, ...) over one executor."""

    def __init__(self, x: Executor[One, PageT, ListT, Done, Stream], opts: Options) -> None:
        self._opts = opts
        self.auth = Auth(x)
        self.keys = ApiKeys(x)
        self.tenants = Tenants(x)
        self.quotas = Quotas(x)
        self.rbac = Rbac(x)
        self.iam = Iam(x)
        self.service_accounts = ServiceAccounts(x)
        self.secrets = Secrets(x)
        self.instances = Instances(x)
        self.images = Images(x)
        self.instance_types = InstanceTypes(x)
        self.ssh_keys = SshKeys(x)
        self.deployments = Deployments(x)
        self.dns = Dns(x)
        self.vpcs = Vpcs(x)
        self.subnets = Subnets(x)
        self.security_groups = SecurityGroups(x)
        self.vpc_peerings = VpcPeerings(x)
        self.elastic_ips = ElasticIps(x)
        self.internet_gateways = InternetGateways(x)
        self.nat_gateways = NatGateways(x)
        self.route_tables = RouteTables(x)
        self.volumes = Volumes(x)
        self.snapshots = Snapshots(x)
        self.buckets = Buckets(x)
        self.storage_credentials = StorageCredentials(x)
        self.audit = Audit(x)
        self.events = Events(x)
        self.health = Health(x)

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._opts.base_url

    @property
    def tenant_id(self) -> str | None:
        """The tenant sent as X-Tenant-ID (None: the credential's default tenant)."""
        return self._opts.tenant_id

    @tenant_id.setter
    def tenant_id(self, value: str | None) -> None:
        self._opts.tenant_id = value

    def use_credentials(self, *, api_key: str | None = None, token: str | None = None) -> None:
        """Authenticate later calls with this API key or bearer token instead."""
        self._opts.api_key, self._opts.token = api_key, token
