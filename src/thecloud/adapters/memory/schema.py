"""The in-memory tables: keys, unique field sets and foreign keys, as in adapters/sql/tables.py."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """`column` holds the id of a row of `parent`; deleting that row deletes this one."""

    column: str
    parent: str


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    key: str = "id"
    unique: tuple[tuple[str, ...], ...] = ()
    parents: tuple[ForeignKey, ...] = ()


_TENANT = ForeignKey("tenant_id", "tenants")

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("users", unique=(("email",),)),
        TableSpec("tenants", unique=(("slug",),)),
        TableSpec("roles", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec(
            "role_bindings",
            unique=(("tenant_id", "principal_id", "role_id"),),
            parents=(_TENANT, ForeignKey("role_id", "roles")),
        ),
        TableSpec("api_keys", unique=(("key_hash",),), parents=(ForeignKey("user_id", "users"),)),
        TableSpec("service_accounts", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec(
            "service_account_secrets",
            unique=(("secret_hash",),),
            parents=(ForeignKey("service_account_id", "service_accounts"), _TENANT),
        ),
        TableSpec("policies", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec(
            "policy_attachments",
            unique=(("policy_id", "principal_id"),),
            parents=(_TENANT, ForeignKey("policy_id", "policies")),
        ),
        TableSpec("secrets", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec("audit_log"),
        TableSpec("events"),
        TableSpec("quotas", key="", parents=(_TENANT,)),  # keyed by (tenant_id, resource)
        TableSpec("idempotency_keys", key="key"),
        TableSpec("login_failures", key="email"),
        TableSpec("images", parents=(_TENANT,)),
        TableSpec("instances", parents=(_TENANT,)),  # live names: MemoryInstances._clashes
        TableSpec("ssh_keys", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec("deployments", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec("instance_metrics", parents=(ForeignKey("instance_id", "instances"),)),
        TableSpec("vpcs", unique=(("tenant_id", "name"),), parents=(_TENANT,)),
        TableSpec(
            "subnets",
            unique=(("vpc_id", "name"), ("vpc_id", "cidr")),
            parents=(_TENANT, ForeignKey("vpc_id", "vpcs")),
        ),
        TableSpec(
            "security_groups",
            unique=(("vpc_id", "name"),),
            parents=(_TENANT, ForeignKey("vpc_id", "vpcs")),
        ),
        TableSpec("security_rules", parents=(_TENANT, ForeignKey("group_id", "security_groups"))),
        TableSpec(
            "group_members",
            unique=(("group_id", "instance_id"),),
            parents=(_TENANT, ForeignKey("group_id", "security_groups")),
        ),
        TableSpec("vpc_peerings", parents=(_TENANT,)),
        TableSpec(
            "volumes",
            unique=(("tenant_id", "name"), ("instance_id", "mount_path")),
            parents=(_TENANT,),
        ),
        TableSpec("storage_credentials", unique=(("access_key_id",),), parents=(_TENANT,)),
        TableSpec("buckets", unique=(("name",),), parents=(_TENANT,)),
        TableSpec(
            "object_versions",
            unique=(("bucket_id", "key", "version_id"),),
            parents=(_TENANT, ForeignKey("bucket_id", "buckets")),
        ),
        TableSpec("multipart_uploads", parents=(_TENANT, ForeignKey("bucket_id", "buckets"))),
        TableSpec(
            "multipart_parts",
            unique=(("upload_id", "number"),),
            parents=(_TENANT, ForeignKey("upload_id", "multipart_uploads")),
        ),
        TableSpec("snapshots", parents=(_TENANT,)),
        # unique fields holding None never clash (SQL's partial unique indexes)
        TableSpec("elastic_ips", unique=(("address",), ("instance_id",)), parents=(_TENANT,)),
        TableSpec("internet_gateways", unique=(("vpc_id",),), parents=(_TENANT,)),
        TableSpec(
            "nat_gateways", unique=(("eip_id",),), parents=(_TENANT, ForeignKey("vpc_id", "vpcs"))
        ),
        TableSpec(
            "route_tables",
            unique=(("vpc_id", "name"),),
            parents=(_TENANT, ForeignKey("vpc_id", "vpcs")),
        ),
        TableSpec(
            "route_associations",
            unique=(("subnet_id",),),
            parents=(
                _TENANT,
                ForeignKey("route_table_id", "route_tables"),
                ForeignKey("subnet_id", "subnets"),
            ),
        ),
        TableSpec(
            "dns_zones", unique=(("name",),), parents=(_TENANT, ForeignKey("vpc_id", "vpcs"))
        ),
        TableSpec("dns_records", parents=(_TENANT, ForeignKey("zone_id", "dns_zones"))),
    )
}


def children(parent: str) -> list[tuple[str, str]]:
    """(table, column) pairs whose rows point at rows of `parent` (ON DELETE CASCADE)."""
    return [
        (spec.name, fk.column)
        for spec in TABLES.values()
        for fk in spec.parents
        if fk.parent == parent
    ]
