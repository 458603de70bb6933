"""The one authorization decision: RBAC permissions plus IAM policies, explicit Deny wins."""

from __future__ import annotations

from datetime import datetime

from thecloud.domain.errors import Forbidden
from thecloud.domain.iam import ResourceRef
from thecloud.domain.identity import Principal
from thecloud.domain.policy import Decision, action_allowed_by_permissions, evaluate


def condition_context(principal: Principal, now: datetime) -> dict[str, object]:
    """The condition keys every policy may use (documented in docs/iam.md)."""
    ctx = principal.context
    return {
        "thecloud:SourceIp": ctx.source_ip,
        "thecloud:CurrentTime": now,
        "thecloud:SecureTransport": ctx.secure_transport,
        "thecloud:PrincipalType": str(principal.type),
        "thecloud:PrincipalId": principal.id,
        "thecloud:PrincipalName": principal.name,
        "thecloud:TenantId": principal.tenant_id,
        "thecloud:UserAgent": ctx.user_agent,
    }


def decide(principal: Principal, action: str, resource: ResourceRef, now: datetime) -> bool:
    names = resource.names(principal.tenant_id)
    verdict = evaluate(principal.policies, action, names, condition_context(principal, now))
    if verdict is Decision.DENY:
        return False
    if verdict is Decision.ALLOW:
        return True
    return action_allowed_by_permissions(principal.permissions, action)


def authorize(principal: Principal, action: str, resource: ResourceRef, now: datetime) -> None:
    """Raise Forbidden unless the principal may do `action` on `resource`."""
    if not decide(principal, action, resource, now):
        raise Forbidden(
            f"{principal.type} {principal.name} is not allowed to {action} on {resource.kind}"
        )
