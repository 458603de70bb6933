"""The one authorization decision: RBAC permissions plus IAM policies, explicit Deny wins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from thecloud.domain.errors import Forbidden
from thecloud.domain.iam import ResourceRef
from thecloud.domain.identity import Principal
from thecloud.domain.policy import Decision, action_allowed_by_permissions, evaluate
from thecloud.domain.rbac import ALL_PERMISSIONS, S3_ACTIONS


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
    coarse = S3_ACTIONS.get(action)  # an S3 action is also granted by its storage permission
    if principal.policies:
        verdict = _policies(principal, action, resource, now)
        if coarse is not None and verdict is not Decision.DENY:
            other = _policies(principal, coarse, resource, now)
            verdict = (
                other if other is Decision.DENY or verdict is Decision.NOT_APPLICABLE else verdict
            )
        if verdict is not Decision.NOT_APPLICABLE:
            return verdict is Decision.ALLOW
    return _granted(principal.permissions, action) or (
        coarse is not None and _granted(principal.permissions, coarse)
    )


def _policies(principal: Principal, action: str, resource: ResourceRef, now: datetime) -> Decision:
    names = resource.names(principal.tenant_id)
    return evaluate(principal.policies, action, names, condition_context(principal, now))


def _granted(permissions: frozenset[str], action: str) -> bool:
    if action in permissions:  # the common case: an exact grant, one set lookup
        return True
    return action_allowed_by_permissions(permissions, action)


def authorize(principal: Principal, action: str, resource: ResourceRef, now: datetime) -> None:
    """Raise Forbidden unless the principal may do `action` on `resource`."""
    if not decide(principal, action, resource, now):
        raise Forbidden(
            f"{principal.type} {principal.name} is not allowed to {action} on {resource.kind}"
        )


def _expand(permission: str) -> list[str]:
    """The concrete permissions a (possibly wildcard) permission stands for."""
    if "*" not in permission and "?" not in permission:
        return [permission]
    return [p for p in sorted(ALL_PERMISSIONS) if action_allowed_by_permissions([permission], p)]


def ensure_grantable(principal: Principal, permissions: Iterable[str]) -> None:
    """No one grants what they do not hold: every permission given away through a role,
    a binding, a service account or an Allow policy must be covered by the granter's roles."""
    missing = sorted(
        {
            concrete
            for permission in permissions
            for concrete in _expand(permission)
            if not action_allowed_by_permissions(principal.permissions, concrete)
        }
    )
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise Forbidden(f"you cannot grant permissions you do not hold: {shown}")
