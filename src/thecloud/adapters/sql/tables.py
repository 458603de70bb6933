"""The metadata schema: one table per entity; Alembic migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from thecloud.adapters.sql.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(36)


def _id() -> Column[str]:
    return Column("id", ID, primary_key=True)


def _tenant() -> Column[str]:
    return Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def _created() -> Column[object]:
    return Column("created_at", UtcDateTime(), nullable=False)


users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("default_tenant_id", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("slug", String(63), nullable=False, unique=True),
    Column("owner_id", ID, nullable=False),
    Column("personal", Boolean, nullable=False, default=False),
    _created(),
)

roles = Table(
    "roles",
    metadata,
    _id(),
    Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("permissions", JSON, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_roles_tenant_name"),
)

role_bindings = Table(
    "role_bindings",
    metadata,
    _id(),
    _tenant(),
    Column("principal_id", ID, nullable=False),
    Column("principal_type", String(20), nullable=False),
    Column("role_id", ID, ForeignKey("roles.id", ondelete="CASCADE"), nullable=False),
    Column("role_name", String(100), nullable=False),
    _created(),
    UniqueConstraint("tenant_id", "principal_id", "role_id", name="uq_role_bindings_member"),
    Index("ix_role_bindings_principal", "principal_id", "tenant_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(32), nullable=False),
    _created(),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    Index("ix_api_keys_user", "user_id", "created_at", "id"),
)

service_accounts = Table(
    "service_accounts",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("role", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", ID, nullable=False),
    Column("enabled", Boolean, nullable=False),
    _created(),
    UniqueConstraint("tenant_id", "name", name="uq_service_accounts_tenant_name"),
    Index("ix_service_accounts_tenant_created", "tenant_id", "created_at", "id"),
)

service_account_secrets = Table(
    "service_account_secrets",
    metadata,
    _id(),
    Column(
        "service_account_id",
        ID,
        ForeignKey("service_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _tenant(),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(32), nullable=False),
    _created(),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

policies = Table(
    "policies",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(128), nullable=False),
    Column("description", Text, nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_policies_tenant_name"),
    Index("ix_policies_tenant_created", "tenant_id", "created_at", "id"),
)

policy_attachments = Table(
    "policy_attachments",
    metadata,
    _id(),
    _tenant(),
    Column("policy_id", ID, ForeignKey("policies.id", ondelete="CASCADE"), nullable=False),
    Column("principal_id", ID, nullable=False),
    Column("principal_type", String(20), nullable=False),
    _created(),
    UniqueConstraint("policy_id", "principal_id", name="uq_policy_attachments_pair"),
    Index("ix_policy_attachments_principal", "principal_id", "tenant_id"),
)

secrets = Table(
    "secrets",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("last_accessed_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_secrets_tenant_name"),
    Index("ix_secrets_tenant_created", "tenant_id", "created_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("tenant_id", ID, nullable=False),
    Column("actor_id", ID, nullable=False),
    Column("actor_type", String(20), nullable=False),
    Column("action", String(100), nullable=False),
    Column("resource_type", String(50), nullable=False),
    Column("resource_id", String(255), nullable=False),
    Column("source_ip", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("details", JSON, nullable=False),
    _created(),
    Index("ix_audit_log_tenant_time", "tenant_id", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("id", ID, nullable=False, unique=True),
    Column("tenant_id", ID, nullable=False),
    Column("type", String(100), nullable=False),
    Column("resource_type", String(50), nullable=False),
    Column("resource_id", String(255), nullable=False),
    Column("actor_id", ID, nullable=False),
    Column("data", JSON, nullable=False),
    _created(),
    Index("ix_events_tenant_seq", "tenant_id", "seq"),
)

quotas = Table(
    "quotas",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("resource", String(30), primary_key=True),
    Column("limit", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("principal_id", ID, nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("completed", Boolean, nullable=False),
    _created(),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

auth_state = Table(
    "auth_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", BigInteger, nullable=False),
)

images = Table(
    "images",
    metadata,
    _id(),
    Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("reference", String(500), nullable=False),
    Column("os", String(100), nullable=False),
    Column("version", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("alias_of", String(200), nullable=True),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_images_tenant_name", "tenant_id", "name"),
)

instances = Table(
    "instances",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False),
    Column("image", String(200), nullable=False),
    Column("image_ref", String(500), nullable=False),
    Column("instance_type", String(50), nullable=False),
    Column("vcpus", Integer, nullable=False),
    Column("memory_mb", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("ports", JSON, nullable=False),
    Column("env", JSON, nullable=False),
    Column("cmd", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("container_id", String(100), nullable=True),
    Column("host_ports", JSON, nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("deleted_at", UtcDateTime(), nullable=True),
    Column("restart_count", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("authorized_keys", Text, nullable=False, server_default=""),
    Column("user_data", Text, nullable=False, server_default=""),
    Column("deployment_id", ID, nullable=True),
    Column("vpc_id", ID, nullable=True),
    Column("subnet_id", ID, nullable=True),
    Column("private_ip", String(45), nullable=False, server_default=""),
    Index("ix_instances_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_instances_vpc", "vpc_id"),
    Index("ix_instances_deployment", "deployment_id"),
    Index("ix_instances_status", "status"),
)
# A name is unique among a tenant's live instances; terminated rows keep theirs for audit.
Index(
    "uq_instances_tenant_name_live",
    instances.c.tenant_id,
    instances.c.name,
    unique=True,
    sqlite_where=instances.c.deleted_at.is_(None),
    postgresql_where=instances.c.deleted_at.is_(None),
)
# IPAM: an address is held by one live instance of a VPC at a time.
Index(
    "uq_instances_vpc_ip_live",
    instances.c.vpc_id,
    instances.c.private_ip,
    unique=True,
    sqlite_where=instances.c.deleted_at.is_(None) & instances.c.vpc_id.is_not(None),
    postgresql_where=instances.c.deleted_at.is_(None) & instances.c.vpc_id.is_not(None),
)

instance_metrics = Table(
    "instance_metrics",
    metadata,
    _id(),
    Column("tenant_id", ID, nullable=False),
    Column("instance_id", ID, ForeignKey("instances.id", ondelete="CASCADE"), nullable=False),
    _created(),
    Column("cpu_percent", Float, nullable=False),
    Column("memory_bytes", BigInteger, nullable=False),
    Column("memory_limit_bytes", BigInteger, nullable=False),
    Column("network_rx_bytes", BigInteger, nullable=False),
    Column("network_tx_bytes", BigInteger, nullable=False),
    Column("block_read_bytes", BigInteger, nullable=False),
    Column("block_write_bytes", BigInteger, nullable=False),
    Index("ix_instance_metrics_instance_time", "instance_id", "created_at"),
    Index("ix_instance_metrics_time", "created_at"),
)

ssh_keys = Table(
    "ssh_keys",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("fingerprint", String(100), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    UniqueConstraint("tenant_id", "name", name="uq_ssh_keys_tenant_name"),
    Index("ix_ssh_keys_tenant_created", "tenant_id", "created_at", "id"),
)

deployments = Table(
    "deployments",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False),
    Column("image", String(200), nullable=False),
    Column("instance_type", String(50), nullable=False),
    Column("replicas", Integer, nullable=False),
    Column("ports", JSON, nullable=False),
    Column("env", JSON, nullable=False),
    Column("cmd", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_deployments_tenant_name"),
    Index("ix_deployments_tenant_created", "tenant_id", "created_at", "id"),
)

vpcs = Table(
    "vpcs",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False),
    Column("cidr", String(18), nullable=False),
    Column("status", String(20), nullable=False),
    Column("network", String(100), nullable=False),
    Column("bridge", String(15), nullable=False),
    Column("gateway_ip", String(45), nullable=False),
    Column("description", Text, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_vpcs_tenant_name"),
    Index("ix_vpcs_tenant_created", "tenant_id", "created_at", "id"),
)

subnets = Table(
    "subnets",
    metadata,
    _id(),
    _tenant(),
    Column("vpc_id", ID, ForeignKey("vpcs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("cidr", String(18), nullable=False),
    Column("availability_zone", String(63), nullable=False),
    Column("gateway_ip", String(45), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("vpc_id", "name", name="uq_subnets_vpc_name"),
    UniqueConstraint("vpc_id", "cidr", name="uq_subnets_vpc_cidr"),
    Index("ix_subnets_tenant_created", "tenant_id", "created_at", "id"),
)

security_groups = Table(
    "security_groups",
    metadata,
    _id(),
    _tenant(),
    Column("vpc_id", ID, ForeignKey("vpcs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("description", Text, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("vpc_id", "name", name="uq_security_groups_vpc_name"),
    Index("ix_security_groups_tenant_created", "tenant_id", "created_at", "id"),
)

security_rules = Table(
    "security_rules",
    metadata,
    _id(),
    _tenant(),
    Column("group_id", ID, ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("protocol", String(10), nullable=False),
    Column("port_from", Integer, nullable=True),
    Column("port_to", Integer, nullable=True),
    Column("cidr", String(18), nullable=True),
    Column("peer_group_id", ID, nullable=True),
    Column("priority", Integer, nullable=False),
    Column("action", String(10), nullable=False),
    Column("description", Text, nullable=False),
    _created(),
    Index("ix_security_rules_group", "group_id"),
    Index("ix_security_rules_tenant_created", "tenant_id", "created_at", "id"),
)

group_members = Table(
    "group_members",
    metadata,
    _id(),
    _tenant(),
    Column("group_id", ID, ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=False),
    Column("instance_id", ID, nullable=False),
    _created(),
    UniqueConstraint("group_id", "instance_id", name="uq_group_members_group_instance"),
    Index("ix_group_members_instance", "instance_id"),
    Index("ix_group_members_tenant_created", "tenant_id", "created_at", "id"),
)

vpc_peerings = Table(
    "vpc_peerings",
    metadata,
    _id(),
    _tenant(),
    Column("requester_vpc_id", ID, nullable=False),
    Column("accepter_vpc_id", ID, nullable=False),
    Column("status", String(30), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_vpc_peerings_tenant_created", "tenant_id", "created_at", "id"),
)

# DNS: a zone's name is unique on the platform (the DNS server holds one zone per name).
dns_zones = Table(
    "dns_zones",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("vpc_id", ID, ForeignKey("vpcs.id", ondelete="CASCADE"), nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("name", name="uq_dns_zones_name"),
    Index("ix_dns_zones_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_dns_zones_vpc", "vpc_id"),
)

dns_records = Table(
    "dns_records",
    metadata,
    _id(),
    _tenant(),
    Column("zone_id", ID, ForeignKey("dns_zones.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(10), nullable=False),
    Column("content", Text, nullable=False),
    Column("ttl", Integer, nullable=False),
    Column("priority", Integer, nullable=True),
    Column("instance_id", ID, nullable=True),  # set for records registered for an instance
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_dns_records_zone_name_type", "zone_id", "name", "type"),
    Index("ix_dns_records_instance", "instance_id"),
    Index("ix_dns_records_tenant_created", "tenant_id", "created_at", "id"),
)

elastic_ips = Table(
    "elastic_ips",
    metadata,
    _id(),
    _tenant(),
    Column("address", String(45), nullable=False),
    Column("status", String(20), nullable=False),
    Column("instance_id", ID, nullable=True),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("address", name="uq_elastic_ips_address"),
    Index("ix_elastic_ips_tenant_created", "tenant_id", "created_at", "id"),
)
# One elastic IP per instance, enforced by the database.
Index(
    "uq_elastic_ips_instance",
    elastic_ips.c.instance_id,
    unique=True,
    sqlite_where=elastic_ips.c.instance_id.is_not(None),
    postgresql_where=elastic_ips.c.instance_id.is_not(None),
)

internet_gateways = Table(
    "internet_gateways",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False),
    Column("vpc_id", ID, ForeignKey("vpcs.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_internet_gateways_tenant_created", "tenant_id", "created_at", "id"),
)
# A VPC has at most one internet gateway attached.
Index(
    "uq_internet_gateways_vpc",
    internet_gateways.c.vpc_id,
    unique=True,
    sqlite_where=internet_gateways.c.vpc_id.is_not(None),
    postgresql_where=internet_gateways.c.vpc_id.is_not(None),
)

nat_gateways = Table(
    "nat_gateways",
    metadata,
    _id(),
    _tenant(),
    Column("vpc_id", ID, ForeignKey("vpcs.id", ondelete="CASCADE"), nullable=False),
    Column("subnet_id", ID, nullable=False),
    Column("eip_id", ID, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("eip_id", name="uq_nat_gateways_eip_id"),
    Index("ix_nat_gateways_tenant_created", "tenant_id", "created_at", "id"),
)

route_tables = Table(
    "route_tables",
    metadata,
    _id(),
    _tenant(),
    Column("vpc_id", ID, ForeignKey("vpcs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("is_main", Boolean, nullable=False),
    Column("routes", JSON, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("vpc_id", "name", name="uq_route_tables_vpc_name"),
    Index("ix_route_tables_tenant_created", "tenant_id", "created_at", "id"),
)

route_associations = Table(
    "route_associations",
    metadata,
    _id(),
    _tenant(),
    Column("route_table_id", ID, ForeignKey("route_tables.id", ondelete="CASCADE"), nullable=False),
    Column("subnet_id", ID, ForeignKey("subnets.id", ondelete="CASCADE"), nullable=False),
    _created(),
    UniqueConstraint("subnet_id", name="uq_route_associations_subnet_id"),
    Index("ix_route_associations_table", "route_table_id"),
    Index("ix_route_associations_tenant_created", "tenant_id", "created_at", "id"),
)

volumes = Table(
    "volumes",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False),
    Column("size_gb", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("backend", String(20), nullable=False),
    Column("encrypted", Boolean, nullable=False),
    Column("description", Text, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("instance_id", ID, nullable=True),
    Column("mount_path", String(255), nullable=True),
    Column("snapshot_id", ID, nullable=True),
    Column("status_reason", Text, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_volumes_tenant_name"),
    # an instance mounts one volume at a path
    UniqueConstraint("instance_id", "mount_path", name="uq_volumes_instance_mount_path"),
    Index("ix_volumes_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_volumes_instance", "instance_id"),
)

snapshots = Table(
    "snapshots",
    metadata,
    _id(),
    _tenant(),
    Column("volume_id", ID, nullable=False),
    Column("size_gb", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("status_reason", Text, nullable=False),
    Index("ix_snapshots_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_snapshots_volume", "volume_id"),
)

# --- object storage ------------------------------------------------------------------------

# S3 orders keys by their UTF-8 bytes: SQLite's default BINARY collation does; PostgreSQL
# needs the "C" collation on the key columns.
ObjectKey = Text().with_variant(Text(collation="C"), "postgresql")

storage_credentials = Table(
    "storage_credentials",
    metadata,
    _id(),
    _tenant(),
    Column("access_key_id", String(32), nullable=False, unique=True),
    Column("sealed_secret", Text, nullable=False),
    Column("principal_id", ID, nullable=False),
    Column("principal_type", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Index("ix_storage_credentials_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_storage_credentials_principal", "principal_id"),
)

buckets = Table(
    "buckets",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False, unique=True),  # one namespace: URLs name it
    Column("region", String(32), nullable=False),
    Column("versioning", String(10), nullable=False),
    Column("public_read", Boolean, nullable=False),
    Column("created_by", ID, nullable=False),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("encryption", String(16), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("cors", JSON, nullable=False),
    Column("lifecycle", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_buckets_tenant_created", "tenant_id", "created_at", "id"),
)

object_versions = Table(
    "object_versions",
    metadata,
    _id(),
    _tenant(),
    Column("bucket_id", ID, ForeignKey("buckets.id", ondelete="CASCADE"), nullable=False),
    Column("key", ObjectKey, nullable=False),
    Column("version_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("delete_marker", Boolean, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", UtcDateTime(), nullable=False),
    Column("created_by", ID, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("checksums", JSON, nullable=False),
    Column("segments", JSON, nullable=False),
    Column("sse_customer_key_md5", String(32), nullable=False),
    Column("parts_count", Integer, nullable=False),
    # the ciphertext of a small object kept in its row (its one segment says "inline")
    Column("inline_data", LargeBinary, nullable=True),
    Column("tags", JSON, nullable=False, server_default=text("'{}'")),
    UniqueConstraint(
        "bucket_id", "key", "version_id", name="uq_object_versions_bucket_key_version"
    ),
    Index("ix_object_versions_bucket_key_seq", "bucket_id", "key", "seq"),
    Index("ix_object_versions_modified", "bucket_id", "last_modified"),
)
# One current version per key; listings walk this index in key order.
Index(
    "uq_object_versions_latest",
    object_versions.c.bucket_id,
    object_versions.c.key,
    unique=True,
    sqlite_where=text("is_latest = 1"),
    postgresql_where=text("is_latest"),
)

multipart_uploads = Table(
    "multipart_uploads",
    metadata,
    _id(),
    _tenant(),
    Column("bucket_id", ID, ForeignKey("buckets.id", ondelete="CASCADE"), nullable=False),
    Column("key", ObjectKey, nullable=False),
    Column("initiated_at", UtcDateTime(), nullable=False),
    Column("created_by", ID, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("checksum_algorithm", String(16), nullable=False),
    Column("sse_customer_key_md5", String(32), nullable=False),
    Column("tags", JSON, nullable=False, server_default=text("'{}'")),
    Index("ix_multipart_uploads_bucket_key", "bucket_id", "key", "initiated_at"),
)

multipart_parts = Table(
    "multipart_parts",
    metadata,
    _id(),
    _tenant(),
    Column("upload_id", ID, ForeignKey("multipart_uploads.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", UtcDateTime(), nullable=False),
    Column("segment", JSON, nullable=False),
    Column("checksums", JSON, nullable=False),
    UniqueConstraint("upload_id", "number", name="uq_multipart_parts_upload_number"),
)
