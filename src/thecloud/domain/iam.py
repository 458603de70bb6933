"""IAM policies as stored resources, their attachments, and resource names (TRNs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from thecloud.domain.policy import PolicyDocument


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    tenant_id: str
    name: str
    description: str
    document: PolicyDocument
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyAttachment:
    id: str
    tenant_id: str
    policy_id: str
    principal_id: str
    principal_type: str
    created_at: datetime


def trn(tenant_id: str, kind: str, ident: str) -> str:
    """The resource name policies match: `trn:<tenant id>:<kind>/<id or name>`."""
    return f"trn:{tenant_id}:{kind}/{ident}"


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """The resource an action is on: its kind, id and (optional) name."""

    kind: str
    id: str = "*"
    name: str = ""

    def names(self, tenant_id: str) -> list[str]:
        found = [trn(tenant_id, self.kind, self.id)]
        if self.name and self.name != self.id:
            found.append(trn(tenant_id, self.kind, self.name))
        return found
