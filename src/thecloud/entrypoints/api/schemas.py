"""Request bodies: strict (unknown fields are rejected) and named as the original API names them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


def _no_nul(value: object, where: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where} must not contain NUL characters (\\u0000)")
    if isinstance(value, list):
        for item in value:
            _no_nul(item, where)


class Body(BaseModel):
    """Strict bodies; text with NUL characters is refused the same way on every backend."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _text_without_nul(self) -> Body:
        for name in type(self).model_fields:
            _no_nul(getattr(self, name), name)
        return self


class RegisterRequest(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(max_length=200)


class LoginRequest(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class CreateKeyRequest(Body):
    name: str = Field(min_length=1, max_length=200)


class TokenRequest(Body):
    grant_type: str = Field(max_length=50)
    client_id: str = Field(max_length=100)
    client_secret: str = Field(max_length=200)


class CreateTenantRequest(Body):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=63)


class InviteMemberRequest(Body):
    email: str = Field(max_length=320)
    role: str = Field(min_length=1, max_length=100)


class QuotaRequest(Body):
    instances: int | None = Field(default=None, ge=0, le=1_000_000)
    vcpus: int | None = Field(default=None, ge=0, le=1_000_000)
    memory_mb: int | None = Field(default=None, ge=0, le=1_000_000_000)
    vpcs: int | None = Field(default=None, ge=0, le=1_000_000)
    storage_gb: int | None = Field(default=None, ge=0, le=1_000_000_000)


class CreateRoleRequest(Body):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    permissions: list[str] = Field(default_factory=list, max_length=500)


class UpdateRoleRequest(Body):
    description: str | None = Field(default=None, max_length=1000)
    permissions: list[str] | None = Field(default=None, max_length=500)


class AddPermissionRequest(Body):
    permission: str = Field(min_length=1, max_length=100)


class BindRoleRequest(Body):
    user_identifier: str = Field(min_length=1, max_length=320)
    role_name: str = Field(min_length=1, max_length=100)


class CreatePolicyRequest(Body):
    """A policy: `document` (AWS style) or `statements` (the original API's shape)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=1000)
    document: dict[str, Any] | None = None
    statements: list[dict[str, Any]] | None = Field(default=None, max_length=100)


class CreateServiceAccountRequest(Body):
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


class CreateSecretRequest(Body):
    name: str = Field(min_length=1, max_length=255)
    value: str = Field(min_length=1, max_length=65536)
    description: str = Field(default="", max_length=1000)


class UpdateSecretRequest(Body):
    value: str | None = Field(default=None, min_length=1, max_length=65536)
    description: str | None = Field(default=None, max_length=1000)


class VolumeMount(Body):
    volume_id: str = Field(min_length=1, max_length=200, description="volume id or name")
    mount_path: str = Field(min_length=1, max_length=255, description="e.g. /data")


class LaunchInstanceRequest(Body):
    name: str = Field(min_length=1, max_length=63)
    image: str = Field(min_length=1, max_length=200)
    instance_type: str = Field(default="", max_length=50)
    ports: str = Field(default="", max_length=1000, description='e.g. "8080:80,0:22" (0 = any)')
    env: list[str] = Field(default_factory=list, max_length=200, description='["NAME=value"]')
    cmd: list[str] = Field(default_factory=list, max_length=200, description="the command")
    labels: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    ssh_key_id: str | None = Field(default=None, max_length=200, description="id or name")
    user_data: str = Field(default="", max_length=16384, description="a script run at first boot")
    vpc_id: str | None = Field(default=None, max_length=200, description="VPC id or name")
    subnet_id: str | None = Field(
        default=None, max_length=36, description="subnet id (default: the VPC's first subnet)"
    )
    private_ip: str | None = Field(
        default=None, max_length=45, description="an address of the subnet (default: IPAM)"
    )
    security_group_ids: list[str] = Field(
        default_factory=list, max_length=16, description="default: the VPC's default group"
    )
    volumes: list[VolumeMount] = Field(
        default_factory=list, max_length=16, description="volumes mounted from the first start"
    )


class CreateSshKeyRequest(Body):
    name: str = Field(min_length=1, max_length=200)
    public_key: str = Field(min_length=1, max_length=16384)


class ResizeInstanceRequest(Body):
    instance_type: str = Field(min_length=1, max_length=50)


class MetadataRequest(Body):
    metadata: dict[str, str]


class SetTagsRequest(Body):
    tags: dict[str, str]


class ExecRequest(Body):
    command: list[str] = Field(min_length=1, max_length=200, description='e.g. ["ls", "-l"]')
    timeout: float = Field(default=60.0, gt=0, le=300, description="seconds")


class CreateDeploymentRequest(Body):
    name: str = Field(min_length=1, max_length=63)
    image: str = Field(min_length=1, max_length=200)
    replicas: int = Field(ge=0, le=100)
    ports: str = Field(default="", max_length=1000, description='e.g. "0:80" (0 = any)')
    instance_type: str = Field(default="", max_length=50)
    env: list[str] = Field(default_factory=list, max_length=200)
    cmd: list[str] = Field(default_factory=list, max_length=200)


class ScaleDeploymentRequest(Body):
    replicas: int = Field(ge=0, le=100)


class RegisterImageRequest(Body):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=1000)


class CreateVpcRequest(Body):
    name: str = Field(min_length=1, max_length=63)
    cidr_block: str | None = Field(
        default=None,
        max_length=18,
        description="private IPv4 range, /16 to /28 (default 10.0.0.0/16, else the next free "
        "10.N.0.0/16)",
    )
    description: str = Field(default="", max_length=1000)
    labels: dict[str, str] = Field(default_factory=dict)


class UpdateVpcRequest(Body):
    name: str | None = Field(default=None, min_length=1, max_length=63)
    description: str | None = Field(default=None, max_length=1000)
    labels: dict[str, str] | None = None


class CreateSubnetRequest(Body):
    name: str = Field(min_length=1, max_length=63)
    cidr_block: str = Field(min_length=1, max_length=18, description="inside the VPC's range")
    availability_zone: str | None = Field(default=None, max_length=63)


class CreateSecurityGroupRequest(Body):
    vpc_id: str = Field(min_length=1, max_length=200, description="VPC id or name")
    name: str = Field(min_length=1, max_length=63)
    description: str = Field(default="", max_length=1000)


class AddRuleRequest(Body):
    direction: str = Field(max_length=10, description="ingress or egress")
    protocol: str = Field(default="tcp", max_length=10, description="tcp, udp, icmp or all")
    port_min: int | None = Field(default=None, description="tcp/udp only; none = every port")
    port_max: int | None = Field(default=None, description="default: port_min")
    cidr: str | None = Field(default=None, max_length=18, description="e.g. 10.0.1.0/24")
    source_group_id: str | None = Field(
        default=None, max_length=200, description="another group of the VPC (its members)"
    )
    priority: int | None = Field(default=None, description="1-4096, lower first (default 100)")
    action: str | None = Field(default=None, max_length=10, description="allow (default) or deny")
    description: str = Field(default="", max_length=255)


class AttachGroupRequest(Body):
    instance_id: str = Field(min_length=1, max_length=200, description="instance id or name")
    group_id: str = Field(min_length=1, max_length=200, description="group id or name")


class CreatePeeringRequest(Body):
    requester_vpc_id: str = Field(min_length=1, max_length=200)
    accepter_vpc_id: str = Field(min_length=1, max_length=200)


class CreateZoneRequest(Body):
    name: str = Field(min_length=1, max_length=254, description="e.g. corp.internal")
    description: str = Field(default="", max_length=1000)
    vpc_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="VPC id or name: a private zone of that VPC; none: a public zone",
    )


class CreateRecordRequest(Body):
    name: str = Field(
        min_length=1, max_length=254, description="relative (www, @ for the apex) or absolute"
    )
    type: str = Field(min_length=1, max_length=10, description="A, AAAA, CNAME, MX, TXT or SRV")
    content: str = Field(
        min_length=1,
        max_length=4000,
        description="A: IPv4, AAAA: IPv6, CNAME/MX: a host name, TXT: text, "
        "SRV: 'weight port target'",
    )
    ttl: int | None = Field(default=None, description="seconds, clamped to 60-86400 (default 300)")
    priority: int | None = Field(default=None, description="MX and SRV only: 0-65535")


class UpdateRecordRequest(Body):
    content: str | None = Field(default=None, min_length=1, max_length=4000)
    ttl: int | None = Field(
        default=None, description="seconds, clamped to 60-86400; applies to the whole set"
    )
    priority: int | None = Field(default=None, description="MX and SRV only: 0-65535")


class AllocateEipRequest(Body):
    """Nothing to choose: the next free address of the pool."""


class AssociateEipRequest(Body):
    instance_id: str = Field(min_length=1, max_length=200, description="instance id or name")


class CreateInternetGatewayRequest(Body):
    name: str = Field(default="", max_length=63)


class AttachInternetGatewayRequest(Body):
    vpc_id: str = Field(min_length=1, max_length=200, description="VPC id or name")


class DetachInternetGatewayRequest(Body):
    vpc_id: str | None = Field(default=None, max_length=200)


class CreateNatGatewayRequest(Body):
    subnet_id: str = Field(min_length=1, max_length=36)
    eip_id: str = Field(min_length=1, max_length=45, description="elastic IP id or address")


class CreateRouteTableRequest(Body):
    vpc_id: str = Field(min_length=1, max_length=200, description="VPC id or name")
    name: str = Field(min_length=1, max_length=63)
    is_main: bool = False


class AddRouteRequest(Body):
    destination_cidr: str = Field(min_length=1, max_length=18, description="e.g. 0.0.0.0/0")
    target_type: str = Field(max_length=10, description="igw (internet gateway) or nat")
    target_id: str | None = Field(default=None, max_length=200)


class AssociateSubnetRequest(Body):
    subnet_id: str = Field(min_length=1, max_length=36)


class CreateVolumeRequest(Body):
    name: str = Field(min_length=1, max_length=63)
    size_gb: int = Field(ge=1, le=1024, description="GiB; a real limit (ENOSPC past it)")
    encrypted: bool = False
    description: str = Field(default="", max_length=1000)
    labels: dict[str, str] = Field(default_factory=dict)


class AttachVolumeRequest(Body):
    instance_id: str = Field(min_length=1, max_length=200, description="instance id or name")
    mount_path: str = Field(min_length=1, max_length=255, description="e.g. /data")


class CreateSnapshotRequest(Body):
    volume_id: str = Field(min_length=1, max_length=200, description="volume id or name")
    description: str = Field(default="", max_length=1000)


class RestoreSnapshotRequest(Body):
    new_volume_name: str = Field(min_length=1, max_length=63)


class CreateStorageCredentialRequest(Body):
    description: str = Field(default="", max_length=256)
    service_account_id: str | None = Field(
        default=None, max_length=64, description="issue the key pair to this service account"
    )
