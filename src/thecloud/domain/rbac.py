"""Permissions (the one action vocabulary of RBAC and IAM policies) and the built-in roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_VERBS: dict[str, tuple[str, ...]] = {
    "instance": ("launch", "terminate", "read", "update", "resize"),
    "ssh_key": ("create", "read", "delete"),
    "vpc": ("create", "delete", "read", "update"),
    "sg": ("create", "delete", "read", "update"),
    "vpc_peering": ("create", "accept", "delete", "read"),
    "eip": ("allocate", "release", "read", "associate"),
    "volume": ("create", "delete", "read", "update"),
    "storage": ("write", "read", "delete"),
    "snapshot": ("create", "delete", "read", "restore"),
    "lb": ("create", "delete", "read", "update"),
    "db": ("create", "delete", "read", "update"),
    "secret": ("create", "write", "delete", "read", "list"),
    "function": ("invoke", "create", "delete", "read", "update"),
    "function_schedule": ("create", "read", "delete", "update"),
    "cache": ("create", "delete", "read", "update"),
    "queue": ("create", "delete", "read", "write"),
    "notify": ("create", "delete", "read", "publish"),
    "cron": ("create", "delete", "read", "update"),
    "gateway": ("create", "delete", "read"),
    "stack": ("create", "delete", "read"),
    "asg": ("create", "delete", "read", "update"),
    "container": ("create", "delete", "read", "scale"),
    "pipeline": ("create", "delete", "read", "update", "run", "webhook"),
    "image": ("create", "read", "delete", "read_all"),
    "cluster": ("create", "delete", "read", "update"),
    "dns": ("create", "delete", "read", "update"),
    "tenant": ("create", "read", "update", "delete"),
    "identity": ("create", "read", "delete", "read_all"),
    "service_account": ("create", "read", "update", "delete"),
    "role": ("create", "read", "update", "delete", "bind"),
    "policy": ("create", "read", "delete", "attach"),
    "quota": ("read", "update"),
    "accounting": ("read",),
    "audit": ("read",),
    "dashboard": ("read",),
    "event": ("read",),
}

# S3 calls are authorized under AWS's action names (what IAM policies for S3 name). Each is
# also granted by the coarse storage permission it belongs to, so the built-in roles (and any
# role holding storage:read/write/delete) cover them; policies may name either.
S3_ACTIONS: dict[str, str] = {
    **dict.fromkeys(
        ("ListAllMyBuckets", "ListBucket", "ListBucketVersions", "ListBucketMultipartUploads",
         "ListMultipartUploadParts", "GetObject", "GetObjectVersion", "GetBucketLocation",
         "GetBucketVersioning", "GetBucketTagging", "GetBucketCORS", "GetBucketAcl",
         "GetEncryptionConfiguration", "GetLifecycleConfiguration", "GetObjectTagging",
         "GetObjectVersionTagging", "GetObjectAcl", "GetObjectVersionAcl"),
        "storage:read",
    ),
    **dict.fromkeys(
        ("CreateBucket", "PutObject", "PutBucketVersioning", "PutBucketTagging",
         "PutBucketCORS", "PutBucketAcl", "PutEncryptionConfiguration",
         "PutLifecycleConfiguration", "AbortMultipartUpload", "PutObjectTagging",
         "PutObjectVersionTagging", "DeleteObjectTagging", "DeleteObjectVersionTagging",
         "PutObjectAcl", "PutObjectVersionAcl"),
        "storage:write",
    ),
    **dict.fromkeys(("DeleteBucket", "DeleteObject", "DeleteObjectVersion"), "storage:delete"),
}  # fmt: skip
S3_ACTIONS = {f"s3:{name}": coarse for name, coarse in S3_ACTIONS.items()}
_VERBS["s3"] = tuple(name.split(":", 1)[1] for name in S3_ACTIONS)

ALL_PERMISSIONS: frozenset[str] = frozenset(
    f"{service}:{verb}" for service, verbs in _VERBS.items() for verb in verbs
)
FULL_ACCESS = "*"

# What only tenant administrators may do: identity, access control and the tenant itself.
_ADMIN_ONLY_SERVICES = frozenset({"role", "policy", "service_account", "tenant", "quota"})
_ADMIN_ONLY = frozenset(
    {p for p in ALL_PERMISSIONS if p.split(":")[0] in _ADMIN_ONLY_SERVICES}
    | {"identity:read_all", "image:read_all", "audit:read"}
)
# A viewer reads everything but secret values and other users' identities.
_VIEWER_EXCLUDED = frozenset({"secret:read", "identity:read_all", "image:read_all", "audit:read"})

OWNER_PERMISSIONS = ALL_PERMISSIONS
ADMIN_PERMISSIONS = ALL_PERMISSIONS - {"tenant:delete"}
DEVELOPER_PERMISSIONS = (ALL_PERMISSIONS - _ADMIN_ONLY) | {"tenant:read", "quota:read"}
VIEWER_PERMISSIONS = frozenset(
    p
    for p in ALL_PERMISSIONS
    if p.endswith(":read")
    and p not in _VIEWER_EXCLUDED
    and p.split(":")[0] not in {"role", "policy"}
) | {"secret:list"}

BUILTIN_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "owner": ("Owns the tenant: every permission.", OWNER_PERMISSIONS),
    "admin": ("Administers the tenant: everything but deleting it.", ADMIN_PERMISSIONS),
    "developer": (
        "Builds and runs resources; no identity, access-control or tenant administration.",
        DEVELOPER_PERMISSIONS,
    ),
    "viewer": (
        "Reads resources and lists secret names; changes nothing, reads no secret values.",
        VIEWER_PERMISSIONS,
    ),
}


def is_valid_permission(permission: str) -> bool:
    """A permission is a known name, `*`, or `service:*` for a known service."""
    if permission == FULL_ACCESS or permission in ALL_PERMISSIONS:
        return True
    service, _, verb = permission.partition(":")
    return verb == "*" and service in _VERBS


@dataclass(frozen=True, slots=True)
class Role:
    """A named permission set; built-in roles have no tenant and cannot be changed."""

    id: str
    tenant_id: str | None
    name: str
    description: str
    permissions: tuple[str, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def builtin(self) -> bool:
        return self.tenant_id is None


@dataclass(frozen=True, slots=True)
class RoleBinding:
    """Gives a principal a role in a tenant; a user with any binding is a member."""

    id: str
    tenant_id: str
    principal_id: str
    principal_type: str
    role_id: str
    role_name: str
    created_at: datetime
