"""Settings from the environment (prefix THECLOUD_); the embedded defaults need none."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server. Defaults run an embedded single-machine platform."""

    model_config = SettingsConfigDict(env_prefix="THECLOUD_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    host: str = "0.0.0.0"  # noqa: S104 - a server listens on all interfaces by default
    port: int = 8080
    data_dir: Path = Path("./data")
    database_url: str = ""
    master_key: str | None = None
    log_level: str = "info"
    workers: int = Field(default=1, ge=1, le=64)

    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    jwt_ttl_seconds: int = 3600
    service_token_ttl_seconds: int = 900

    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    rate_limit_per_ip: float = 300.0
    rate_limit_per_key: float = 200.0
    rate_limit_burst_seconds: float = 2.0
    max_body_bytes: int = 1024 * 1024
    image_upload_max_bytes: int = (
        8 * 1024**3
    )  # a root filesystem tarball (POST /images/{id}/upload)
    idempotency_ttl_hours: int = 24
    cors_origins: list[str] = Field(default_factory=list)
    compute_worker: bool = True  # run the compute worker in each server process
    metrics_seconds: float = Field(default=30.0, gt=0)  # instance stats sampling interval
    metrics_retention_hours: int = Field(default=24, ge=1)
    installation_id: str = ""  # labels this platform's containers; default: from the database
    eip_pool: str = "100.64.0.0/10"  # elastic IPs are allocated from this range
    storage_backend: Literal["loop", "lvm"] = "loop"  # where volumes live
    storage_pool_gb: int = Field(default=100, ge=1)  # loop: the sparse pool volumes live in
    storage_lvm_vg: str = ""  # lvm: the volume group of the volumes
    storage_lvm_thin_pool: str | None = None  # lvm: thin volumes and snapshots in this pool
    resolver_port: int = 53  # each VPC's resolver listens on its router address, this port
    # a labelled network no VPC owns is removed once this old (younger: maybe a create in flight)
    network_orphan_grace_seconds: float = Field(default=120.0, ge=0)
    # The PowerDNS authoritative server (scripts/powerdns.sh start; `scripts/powerdns.sh env`).
    dns_api_url: str = "http://127.0.0.1:8081"
    dns_api_key: str = ""  # default: <data_dir>/powerdns/api-key, written by scripts/powerdns.sh
    dns_server: str = "127.0.0.1:5300"  # where users `dig` (shown in zone responses)
    dns_nameserver: str = "ns1.thecloud.internal."  # the NS (and SOA primary) of every zone

    # S3 endpoint (its own port; the same process serves it next to the API)
    s3_port: int = 9000
    s3_domains: list[str] = Field(default_factory=lambda: ["localhost"])  # <bucket>.<domain>
    s3_tls_cert: Path | None = None  # serve the S3 endpoint over HTTPS with this cert + key
    s3_tls_key: Path | None = None
    s3_fsync: bool = True  # fsync every object before it is acknowledged (off: benchmarks only)
    # objects of at most this many bytes are kept (encrypted) in their metadata row, not in a
    # file: one durable transaction per put instead of a file and two fsyncs; 0: always files
    s3_inline_max: int = Field(default=64 * 1024, ge=0, le=1024 * 1024)
    # an object blob no metadata refers to is removed once this old (younger: a put in flight)
    s3_orphan_grace_seconds: float = Field(default=3600.0, ge=0)
    s3_sweep_seconds: float = Field(default=60.0, gt=0)  # how often orphans are looked for
    s3_lifecycle_seconds: float = Field(default=3600.0, gt=0)  # how often lifecycle rules run

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'thecloud.db').resolve()}"

    @property
    def installation(self) -> str:
        """Tells this platform's containers from another's on a shared engine."""
        if self.installation_id:
            return self.installation_id
        return hashlib.sha256(self.effective_database_url.encode()).hexdigest()[:16]

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def effective_dns_api_key(self) -> str:
        """THECLOUD_DNS_API_KEY, else the key scripts/powerdns.sh wrote under the data dir."""
        if self.dns_api_key:
            return self.dns_api_key
        key_file = self.data_dir / "powerdns" / "api-key"
        return key_file.read_text().strip() if key_file.is_file() else ""
