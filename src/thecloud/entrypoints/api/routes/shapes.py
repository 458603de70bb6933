"""How each resource looks on the wire: sensitive fields never leave the server."""

from __future__ import annotations

from typing import Any

from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.compute import (
    Deployment,
    Image,
    Instance,
    InstanceType,
    MetricSample,
    SshKey,
)
from thecloud.domain.dns import DnsRecord, DnsZone
from thecloud.domain.iam import Policy, PolicyAttachment
from thecloud.domain.identity import ApiKey, ServiceAccount, ServiceAccountSecret, Tenant, User
from thecloud.domain.network import (
    ElasticIp,
    InternetGateway,
    NatGateway,
    RouteTable,
    SecurityRule,
    Subnet,
    Vpc,
    VpcPeering,
)
from thecloud.domain.policy import policy_to_dict
from thecloud.domain.quotas import QuotaLine
from thecloud.domain.rbac import Role, RoleBinding
from thecloud.domain.secrets import REDACTED, Secret
from thecloud.domain.storage import Snapshot, Volume
from thecloud.entrypoints.api.envelope import public, shaper
from thecloud.ports.compute import ContainerStats, LogLine
from thecloud.services.security_groups import GroupView


def user(u: User) -> dict[str, Any]:
    return public(u, hide=("password_hash",))


def tenant(t: Tenant) -> dict[str, Any]:
    return public(t)


def api_key(k: ApiKey, raw: str | None = None) -> dict[str, Any]:
    data = {**public(k, hide=("key_hash",)), "active": k.active}
    return {**data, "key": raw} if raw else data


def role(r: Role) -> dict[str, Any]:
    return {**public(r), "builtin": r.builtin}


def binding(b: RoleBinding) -> dict[str, Any]:
    return public(b)


def policy(p: Policy) -> dict[str, Any]:
    return {**public(p, hide=("document",)), "document": policy_to_dict(p.document)}


def service_account(sa: ServiceAccount) -> dict[str, Any]:
    return public(sa)


def sa_secret(s: ServiceAccountSecret) -> dict[str, Any]:
    return {**public(s, hide=("secret_hash",)), "active": s.revoked_at is None}


_SECRET = shaper(Secret, ("ciphertext", "nonce"))  # looked up once: lists shape 100s of rows


def secret(s: Secret, value: str | None = None) -> dict[str, Any]:
    shaped = _SECRET(s)
    shaped["value"] = value if value is not None else REDACTED
    return shaped


def quota(q: QuotaLine) -> dict[str, Any]:
    return {"resource": q.resource, "limit": q.limit, "used": q.used, "available": q.available}


def audit(a: AuditRecord) -> dict[str, Any]:
    return public(a)


def event(e: Event) -> dict[str, Any]:
    return public(e)


def public_attachment(a: PolicyAttachment) -> dict[str, Any]:
    return public(a)


def instance(i: Instance) -> dict[str, Any]:
    shaped = public(i, hide=("authorized_keys", "user_data"))
    shaped["has_user_data"] = bool(i.user_data)
    shaped["has_ssh_keys"] = bool(i.authorized_keys)
    shaped["ports"] = [str(p) for p in i.ports]
    shaped["host_ports"] = [str(p) for p in i.host_ports]
    return shaped


def image(i: Image) -> dict[str, Any]:
    return public(i)


def instance_type(t: InstanceType) -> dict[str, Any]:
    return public(t)


def log_line(line: LogLine) -> dict[str, Any]:
    return {"at": line.at, "stream": line.stream, "text": line.text}


def stats(x: ContainerStats) -> dict[str, Any]:
    return public(x)


def metric(m: MetricSample) -> dict[str, Any]:
    return public(m, hide=("tenant_id",))


def ssh_key(k: SshKey) -> dict[str, Any]:
    return public(k)


def deployment(d: Deployment, replicas: list[Instance] | None = None) -> dict[str, Any]:
    shaped = public(d)
    shaped["ports"] = [str(p) for p in d.ports]
    if replicas is not None:
        shaped["instances"] = [instance(i) for i in replicas]
        shaped["running"] = sum(1 for i in replicas if i.status == "RUNNING")
    return shaped


def vpc(v: Vpc) -> dict[str, Any]:
    shaped = public(v)
    shaped["cidr_block"] = shaped.pop("cidr")
    return shaped


def subnet(x: Subnet) -> dict[str, Any]:
    shaped = public(x)
    shaped["cidr_block"] = shaped.pop("cidr")
    return shaped


def security_rule(r: SecurityRule) -> dict[str, Any]:
    shaped = public(r, hide=("port_from", "port_to", "peer_group_id"))
    shaped["port_min"], shaped["port_max"] = r.port_from, r.port_to
    shaped["source_group_id"] = r.peer_group_id
    return shaped


def security_group(view: GroupView) -> dict[str, Any]:
    shaped = public(view.group)
    shaped["rules"] = [security_rule(r) for r in view.rules]
    shaped["instance_ids"] = list(view.instance_ids)
    return shaped


def peering(x: VpcPeering) -> dict[str, Any]:
    return public(x)


def dns_zone(z: DnsZone, server: str) -> dict[str, Any]:
    """`server` is where the zone answers: `dig @host -p port name`."""
    shaped = public(z)
    shaped["visibility"] = "public" if z.vpc_id is None else "private"
    shaped["server"] = server
    return shaped


def dns_record(r: DnsRecord) -> dict[str, Any]:
    shaped = public(r)
    shaped["managed"] = r.instance_id is not None  # the platform's: follows its instance
    return shaped


def elastic_ip(e: ElasticIp) -> dict[str, Any]:
    return public(e)


def internet_gateway(g: InternetGateway) -> dict[str, Any]:
    return public(g)


def nat_gateway(n: NatGateway) -> dict[str, Any]:
    return public(n)


def route_table(t: RouteTable, subnet_ids: list[str] | None = None) -> dict[str, Any]:
    shaped = public(t, hide=("routes",))
    shaped["routes"] = [
        {
            "destination_cidr": r.destination_cidr,
            "target_type": str(r.target_type),
            "target_id": r.target_id,
        }
        for r in t.routes
    ]
    if subnet_ids is not None:
        shaped["subnet_ids"] = subnet_ids
    return shaped


def volume(v: Volume, live: bool | None = None) -> dict[str, Any]:
    shaped = public(v)
    if live is not None:
        shaped["attached_live"] = live
    return shaped


def snapshot(s: Snapshot) -> dict[str, Any]:
    return public(s)
