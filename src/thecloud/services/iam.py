"""IAM policies (ABAC documents) and their attachment to users and service accounts."""

from __future__ import annotations

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.errors import Conflict, InvalidInput, NotFound, not_found
from thecloud.domain.iam import Policy, PolicyAttachment
from thecloud.domain.identity import Principal, PrincipalType
from thecloud.domain.policy import Effect, InvalidPolicy, PolicyDocument, parse_policy_document
from thecloud.ports.uow import UnitOfWork
from thecloud.services.authz import ensure_grantable
from thecloud.services.base import Service


def parse_document(raw: object) -> PolicyDocument:
    try:
        return parse_policy_document(raw)
    except InvalidPolicy as exc:
        raise InvalidInput(f"invalid policy document: {exc}") from exc


def _allowed_actions(doc: PolicyDocument) -> list[str]:
    return [a for st in doc.statements if st.effect is Effect.ALLOW for a in st.actions]


class IamService(Service):
    async def create_policy(
        self, p: Principal, name: str, description: str, document: object
    ) -> Policy:
        self.allow(p, "policy:create", "policy", name=name)
        if not name or len(name) > 128:
            raise InvalidInput("policy name must be 1 to 128 characters")
        doc, now = parse_document(document), self._clock.now()
        policy = Policy(new_id(), p.tenant_id, name, description, doc, p.id, now, now)
        async with self._uow() as uow:
            if await uow.policies.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"policy {name!r} already exists")
            await uow.policies.add(policy)
            await self._record(uow, p, "policy:create", "policy", policy.id, {"name": name})
            await uow.commit()
        return policy

    async def list_policies(self, p: Principal, query: ListQuery) -> Page[Policy]:
        self.allow(p, "policy:read", "policy")
        async with self._uow(read_only=True) as uow:
            return await uow.policies.list(query, p.tenant_id)

    async def get_policy(self, p: Principal, ident: str) -> Policy:
        async with self._uow(read_only=True) as uow:
            policy = await self._find(uow, p, ident)
        self.allow(p, "policy:read", "policy", policy.id, policy.name)
        return policy

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> Policy:
        policy = await uow.policies.get(ident, p.tenant_id)
        policy = policy or await uow.policies.find_one(tenant_id=p.tenant_id, name=ident)
        if policy is None:
            raise not_found("policy", ident)
        return policy

    async def delete_policy(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            policy = await self._find(uow, p, ident)
            self.allow(p, "policy:delete", "policy", policy.id, policy.name)
            await uow.policies.delete(policy.id, p.tenant_id)
            await uow.auth_state.bump()
            await self._record(uow, p, "policy:delete", "policy", policy.id, {"name": policy.name})
            await uow.commit()

    async def attach(
        self, p: Principal, kind: PrincipalType, principal_id: str, policy_id: str
    ) -> PolicyAttachment:
        async with self._uow() as uow:
            policy = await self._find(uow, p, policy_id)
            self.allow(p, "policy:attach", "policy", policy.id, policy.name)
            ensure_grantable(p, _allowed_actions(policy.document))
            await self._check_target(uow, p, kind, principal_id)
            if await uow.attachments.find_one(policy_id=policy.id, principal_id=principal_id):
                raise Conflict(f"policy {policy.name} is already attached to {kind} {principal_id}")
            att = PolicyAttachment(
                new_id(), p.tenant_id, policy.id, principal_id, str(kind), self._clock.now()
            )
            await uow.attachments.add(att)
            await uow.auth_state.bump()
            await self._record(
                uow, p, "policy:attach", "policy", policy.id, {"principal": principal_id}
            )
            await uow.commit()
        return att

    async def detach(
        self, p: Principal, kind: PrincipalType, principal_id: str, policy_id: str
    ) -> None:
        async with self._uow() as uow:
            policy = await self._find(uow, p, policy_id)
            self.allow(p, "policy:attach", "policy", policy.id, policy.name)
            att = await uow.attachments.find_one(policy_id=policy.id, principal_id=principal_id)
            if att is None:
                raise NotFound(f"policy {policy.name} is not attached to {kind} {principal_id}")
            await uow.attachments.delete(att.id, p.tenant_id)
            await uow.auth_state.bump()
            await self._record(
                uow,
                p,
                "policy:attach",
                "policy",
                policy.id,
                {"principal": principal_id, "detached": True},
            )
            await uow.commit()

    async def _check_target(
        self, uow: UnitOfWork, p: Principal, kind: PrincipalType, ident: str
    ) -> None:
        if kind is PrincipalType.SERVICE_ACCOUNT:
            found = await uow.service_accounts.get(ident, p.tenant_id) is not None
        else:
            found = (
                await uow.bindings.find_one(tenant_id=p.tenant_id, principal_id=ident) is not None
            )
        if not found:
            raise not_found(str(kind).replace("_", " "), ident)

    async def attached(self, p: Principal, kind: PrincipalType, principal_id: str) -> list[Policy]:
        self.allow(p, "policy:read", "policy")
        async with self._uow(read_only=True) as uow:
            await self._check_target(uow, p, kind, principal_id)
            return await uow.policies.attached_to(p.tenant_id, principal_id)
