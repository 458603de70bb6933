"""Compute: instance types, the image catalog, instances, and their validation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from thecloud.domain.common import validate_name
from thecloud.domain.errors import InvalidInput


class InstanceStatus(StrEnum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    REBOOTING = "REBOOTING"
    PAUSED = "PAUSED"
    ERROR = "ERROR"
    DELETING = "DELETING"
    DELETED = "DELETED"


# What the worker still has to do for an instance in each state.
PENDING = frozenset(
    {
        InstanceStatus.STARTING,
        InstanceStatus.STOPPING,
        InstanceStatus.REBOOTING,
        InstanceStatus.DELETING,
    }
)


class ImageStatus(StrEnum):
    AVAILABLE = "AVAILABLE"  # the local image reference exists on the engine
    MISSING = "MISSING"  # in the catalog, not built (or not pulled) yet
    PENDING_UPLOAD = "PENDING_UPLOAD"  # a user image waiting for its rootfs tarball


@dataclass(frozen=True, slots=True)
class InstanceType:
    id: str
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    network_mbps: int
    category: str
    price_per_hour: float


# The seven types of the original platform.
INSTANCE_TYPES: tuple[InstanceType, ...] = (
    InstanceType("basic-1", "Basic 1", 1, 512, 8, 1000, "basic", 0.005),
    InstanceType("basic-2", "Basic 2", 1, 1024, 10, 1000, "basic", 0.01),
    InstanceType("standard-1", "Standard 1", 2, 2048, 20, 1000, "standard", 0.02),
    InstanceType("standard-2", "Standard 2", 2, 4096, 40, 1000, "standard", 0.04),
    InstanceType("standard-4", "Standard 4", 4, 8192, 80, 1000, "standard", 0.08),
    InstanceType("performance-1", "Performance 1", 4, 16384, 160, 1000, "performance", 0.16),
    InstanceType("performance-2", "Performance 2", 8, 32768, 320, 1000, "performance", 0.32),
)
DEFAULT_INSTANCE_TYPE = "basic-2"


# The platform catalog: logical names an operator builds offline (`thecloud images build`).
CATALOG: dict[str, str] = {
    "busybox": "BusyBox from Debian's busybox-static on an otherwise empty root filesystem",
    "debian:12": "Debian 12 (bookworm), minbase",
    "python:3.11": "Debian 12 minbase with Python 3.11",
    "node:18": "Debian 12 minbase with Node.js 18",
    "postgres:15": "Debian 12 minbase with PostgreSQL 15",
    "mariadb:10.11": "Debian 12 minbase with MariaDB 10.11",
    "redis:7": "Debian 12 minbase with Redis 7",
    "nginx": "Debian 12 minbase with nginx",
}


@dataclass(frozen=True, slots=True)
class Image:
    """A logical image name and the local image reference it stands for.

    `tenant_id` is None for the platform catalog. `alias_of` names the catalog entry an
    alias points at; `os` and `version` say what the image really contains.
    """

    id: str
    tenant_id: str | None
    name: str
    reference: str
    os: str
    version: str
    status: ImageStatus
    description: str
    alias_of: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PortMapping:
    """`host:container`; host 0 asks the engine for any free host port."""

    host: int
    container: int
    protocol: str = "tcp"

    def __str__(self) -> str:
        return f"{self.host}:{self.container}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    tenant_id: str
    name: str
    image: str  # the logical name the user asked for
    image_ref: str  # the local reference it resolved to at launch
    instance_type: str
    vcpus: int
    memory_mb: int
    status: InstanceStatus
    ports: tuple[PortMapping, ...]
    env: tuple[str, ...]
    cmd: tuple[str, ...]
    labels: Mapping[str, str]
    metadata: Mapping[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    container_id: str | None = None
    host_ports: tuple[PortMapping, ...] = ()  # what the engine bound, once running
    status_reason: str = ""
    started_at: datetime | None = None
    deleted_at: datetime | None = None
    restart_count: int = 0
    version: int = 1
    authorized_keys: str = ""  # public keys installed at first boot (from ssh_key_id)
    user_data: str = ""  # a script run once, at first boot
    deployment_id: str | None = None  # the container deployment that keeps this replica
    vpc_id: str | None = None  # None: the engine's default network, outside every VPC
    subnet_id: str | None = None
    private_ip: str = ""  # from the platform's IPAM, in the subnet


def advanced(i: Instance, now: datetime, **changes: object) -> Instance:
    """The instance's next version: `changes`, stamped `now`, `version` + 1 (what optimistic
    locking compares)."""
    return replace(i, **changes, updated_at=now, version=i.version + 1)  # type: ignore[arg-type]


def moved(i: Instance, now: datetime, status: InstanceStatus, reason: str) -> Instance:
    return advanced(i, now, status=status, status_reason=reason)


_LABEL_KEY = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_./-]{0,61}[a-zA-Z0-9])?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def validate_instance_name(name: str) -> str:
    return validate_name(name, "instance")


def parse_ports(spec: str) -> tuple[PortMapping, ...]:
    """`"8080:80,0:22,53:53/udp"` -> mappings; a bare `"80"` means any host port."""
    mappings: list[PortMapping] = []
    for raw in (p.strip() for p in spec.split(",")):
        if not raw:
            continue
        mapping, _, protocol = raw.partition("/")
        host, sep, container = mapping.partition(":")
        if not sep:
            host, container = "0", host
        mappings.append(_port(raw, host, container, protocol or "tcp"))
    containers = [(m.container, m.protocol) for m in mappings]
    if len(set(containers)) != len(containers):
        raise InvalidInput(f"ports {spec!r} map the same container port twice")
    hosts = [(m.host, m.protocol) for m in mappings if m.host]
    if len(set(hosts)) != len(hosts):
        raise InvalidInput(f"ports {spec!r} use the same host port twice")
    return tuple(mappings)


def _port(raw: str, host: str, container: str, protocol: str) -> PortMapping:
    if protocol not in ("tcp", "udp"):
        raise InvalidInput(f"port {raw!r}: protocol must be tcp or udp")
    try:
        h, c = int(host), int(container)
    except ValueError:
        raise InvalidInput(
            f"port {raw!r} is not HOST:CONTAINER with numbers (e.g. 8080:80, 0:22)"
        ) from None
    if not 0 <= h <= 65535 or not 1 <= c <= 65535:
        raise InvalidInput(f"port {raw!r}: host 0-65535 (0 = any free port), container 1-65535")
    return PortMapping(h, c, protocol)


def validate_env(env: tuple[str, ...]) -> tuple[str, ...]:
    for item in env:
        if not _ENV.match(item):
            raise InvalidInput(f"env entry {item!r} is not NAME=value")
    return env


def validate_labels(labels: Mapping[str, str], what: str = "label") -> Mapping[str, str]:
    if len(labels) > 64:
        raise InvalidInput(f"at most 64 {what}s")
    for key, value in labels.items():
        if not _LABEL_KEY.match(key) or key.startswith("thecloud."):
            raise InvalidInput(
                f"{what} key {key!r} is invalid: 1-63 letters, digits, '_', '.', '/', '-', "
                "not starting with 'thecloud.'"
            )
        if len(value) > 255:
            raise InvalidInput(f"{what} {key!r}: the value is longer than 255 characters")
    return labels


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One stats sample of an instance, kept as history (autoscaling reads it)."""

    id: str
    tenant_id: str
    instance_id: str
    created_at: datetime
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    network_rx_bytes: int
    network_tx_bytes: int
    block_read_bytes: int
    block_write_bytes: int


@dataclass(frozen=True, slots=True)
class SshKey:
    id: str
    tenant_id: str
    name: str
    public_key: str
    fingerprint: str
    created_by: str
    created_at: datetime


_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_USER_DATA = 16 * 1024


def parse_public_key(text: str) -> tuple[str, str]:
    """An OpenSSH public key line -> (the normalised line, its SHA256 fingerprint)."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        raise InvalidInput(
            "public_key must be an OpenSSH public key line, e.g. 'ssh-ed25519 AAAA... you@host' "
            f"(types: {', '.join(_KEY_TYPES[:3])}, ...)"
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("public_key: the key data is not base64") from None
    if _key_type(blob) != parts[0]:
        raise InvalidInput(f"public_key: the key data is not a {parts[0]} key")
    comment = parts[2] if len(parts) == 3 and re.fullmatch(r"[ -~]{1,255}", parts[2]) else ""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    line = " ".join(x for x in (parts[0], parts[1], comment) if x)
    return line, f"SHA256:{digest}"


def _key_type(blob: bytes) -> str:
    if len(blob) < 4:
        return ""
    size = int.from_bytes(blob[:4], "big")
    return blob[4 : 4 + size].decode("ascii", "replace")


def validate_user_data(text: str) -> str:
    if len(text.encode()) > MAX_USER_DATA:
        raise InvalidInput(f"user_data is longer than {MAX_USER_DATA} bytes")
    return text


class DeploymentStatus(StrEnum):
    ACTIVE = "ACTIVE"  # the worker keeps `replicas` instances running
    DELETING = "DELETING"  # the worker terminates its instances, then the row goes


MAX_REPLICAS = 100


@dataclass(frozen=True, slots=True)
class Deployment:
    """Image + replicas + ports: the compute worker keeps that many instances running."""

    id: str
    tenant_id: str
    name: str
    image: str
    instance_type: str
    replicas: int
    ports: tuple[PortMapping, ...]
    env: tuple[str, ...]
    cmd: tuple[str, ...]
    status: DeploymentStatus
    status_reason: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


def validate_replicas(replicas: int) -> int:
    if not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidInput(f"replicas must be between 0 and {MAX_REPLICAS}")
    return replicas
