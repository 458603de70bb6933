"""Networking: VPCs, their subnets, security groups with their rules, and VPC peering."""

from __future__ import annotations

from collections.abc import Mapping

from thecloud.sdk._core import Call, body, listing, query, seg
from thecloud.sdk._wait import Poll, StatusCallback
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Ref, Resource, Stream, ident

_GROUPS = "/security-groups"
_PEERINGS = "/vpc-peerings"


class Vpcs(Resource[One, PageT, ListT, Done, Stream]):
    """`/vpcs`: private networks, isolated from each other, each with a default security group."""

    def create(
        self,
        name: str,
        *,
        cidr_block: str | None = None,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Create a VPC on a private range, /16 to /28 (default 10.0.0.0/16, else the next free
        10.N.0.0/16: ranges are unique on the host). Add a subnet before launching into it."""
        payload = body(
            name=name,
            cidr_block=cidr_block,
            description=description,
            labels=dict(labels) if labels is not None else None,
        )
        return self._x.one(Call("POST", "/vpcs", payload, idempotency_key=idempotency_key))

    def list(
        self, *, name: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's VPCs, optionally of one name."""
        return self._x.page(listing("/vpcs", limit, offset, name=name))

    def iterate(self, *, name: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's VPCs."""
        return self._x.iterate(listing("/vpcs", page_size, 0, name=name), page_size)

    def get(self, vpc: str) -> One:
        """A VPC by id or name."""
        return self._x.one(Call("GET", f"/vpcs/{seg(vpc)}"))

    def update(
        self,
        vpc: str,
        *,
        name: str | None = None,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> One:
        """Rename a VPC, or replace its description or labels (its range never changes)."""
        payload = body(
            name=name,
            description=description,
            labels=dict(labels) if labels is not None else None,
        )
        return self._x.one(Call("PATCH", f"/vpcs/{seg(vpc)}", payload))

    def delete(self, vpc: str, *, force: bool = False) -> Done:
        """Delete a VPC with its subnets and security groups. Refused (ConflictError) while it
        has instances or peerings, unless `force`: then its peerings go at once and its
        instances are terminated; the VPC stays DELETING until they are gone
        (`wait_deleted`)."""
        params = query(force=True) if force else {}
        return self._x.done(Call("DELETE", f"/vpcs/{seg(vpc)}", params=params))

    def wait_deleted(
        self,
        vpc: Ref,
        *,
        timeout: float = 120.0,
        interval: float = 0.5,
        on_status: StatusCallback | None = None,
    ) -> One:
        """Poll a VPC (id, name or object) until it is gone; its last state, status DELETED.
        Raises WaitTimeoutError after `timeout` seconds."""
        ref, last = ident(vpc)
        poll = Poll(
            Call("GET", f"/vpcs/{seg(ref)}"),
            "VPC",
            frozenset({"DELETED"}),
            failed=frozenset(),
            gone="DELETED",
            timeout=timeout,
            interval=interval,
            on_status=on_status,
            last=last,
        )
        return self._x.wait(poll)


class Subnets(Resource[One, PageT, ListT, Done, Stream]):
    """`/vpcs/{vpc}/subnets` and `/subnets`: the address ranges instances get an address from."""

    def create(
        self,
        vpc: str,
        name: str,
        cidr_block: str,
        *,
        availability_zone: str | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Add a subnet to a VPC (id or name): a range inside the VPC's, overlapping none of
        its other subnets (e.g. `10.0.1.0/24`)."""
        payload = body(name=name, cidr_block=cidr_block, availability_zone=availability_zone)
        path = f"/vpcs/{seg(vpc)}/subnets"
        return self._x.one(Call("POST", path, payload, idempotency_key=idempotency_key))

    def list(
        self,
        vpc: str,
        *,
        name: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of a VPC's subnets, optionally of one name."""
        return self._x.page(listing(f"/vpcs/{seg(vpc)}/subnets", limit, offset, name=name))

    def iterate(self, vpc: str, *, name: str | None = None, page_size: int = 100) -> Stream:
        """All of a VPC's subnets."""
        call = listing(f"/vpcs/{seg(vpc)}/subnets", page_size, 0, name=name)
        return self._x.iterate(call, page_size)

    def get(self, subnet: str) -> One:
        """A subnet by id."""
        return self._x.one(Call("GET", f"/subnets/{seg(subnet)}"))

    def delete(self, subnet: str) -> Done:
        """Delete a subnet no live instance uses (by id)."""
        return self._x.done(Call("DELETE", f"/subnets/{seg(subnet)}"))


class SecurityGroups(Resource[One, PageT, ListT, Done, Stream]):
    """`/security-groups`: allow/deny rules enforced in the data path, attached to instances.

    A group is shown with its `rules` (by priority) and its members' `instance_ids`. Rules,
    attachments and detachments are in force when the call returns.
    """

    def create(
        self,
        vpc: str,
        name: str,
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Create a group in a VPC (id or name): all traffic out allowed, nothing in until a
        rule opens it."""
        payload = body(vpc_id=vpc, name=name, description=description)
        return self._x.one(Call("POST", _GROUPS, payload, idempotency_key=idempotency_key))

    def list(
        self,
        *,
        name: str | None = None,
        vpc_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of the tenant's groups, optionally of one name or one VPC (by id)."""
        return self._x.page(listing(_GROUPS, limit, offset, name=name, vpc_id=vpc_id))

    def iterate(
        self, *, name: str | None = None, vpc_id: str | None = None, page_size: int = 100
    ) -> Stream:
        """All the tenant's groups (filtered as `list` is)."""
        call = listing(_GROUPS, page_size, 0, name=name, vpc_id=vpc_id)
        return self._x.iterate(call, page_size)

    def get(self, group: str) -> One:
        """A group by id or name, with its rules and members."""
        return self._x.one(Call("GET", f"{_GROUPS}/{seg(group)}"))

    def delete(self, group: str) -> Done:
        """Delete a group attached to no instance and named by no other group's rule (a VPC's
        default group goes only with the VPC)."""
        return self._x.done(Call("DELETE", f"{_GROUPS}/{seg(group)}"))

    def add_rule(
        self,
        group: str,
        direction: str,
        *,
        protocol: str | None = None,
        port_min: int | None = None,
        port_max: int | None = None,
        cidr: str | None = None,
        source_group: str | None = None,
        priority: int | None = None,
        action: str | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Add a rule; the new rule is returned.

        `direction` is `ingress` or `egress`; `protocol` tcp (default), udp, icmp or all;
        ports (tcp/udp only) from `port_min` to `port_max` (default: `port_min`; none: every
        port). The peer is exactly one of `cidr` or `source_group` (a group of the same VPC,
        id or name: its members' addresses). `priority` 1-4096, lower first (default 100; deny
        before allow at equal priority); `action` allow (default) or deny.
        """
        payload = body(
            direction=direction,
            protocol=protocol,
            port_min=port_min,
            port_max=port_max,
            cidr=cidr,
            source_group_id=source_group,
            priority=priority,
            action=action,
            description=description,
        )
        path = f"{_GROUPS}/{seg(group)}/rules"
        return self._x.one(Call("POST", path, payload, idempotency_key=idempotency_key))

    def remove_rule(self, rule_id: str) -> Done:
        """Remove a rule by id (the `rules` of a group show them)."""
        return self._x.done(Call("DELETE", f"{_GROUPS}/rules/{seg(rule_id)}"))

    def attach(self, group: str, instance: str) -> One:
        """Attach a group (id or name) to an instance (id or name) of its VPC; the group."""
        payload = {"instance_id": instance, "group_id": group}
        return self._x.one(Call("POST", f"{_GROUPS}/attach", payload))

    def detach(self, group: str, instance: str) -> One:
        """Detach a group from an instance; the group."""
        payload = {"instance_id": instance, "group_id": group}
        return self._x.one(Call("POST", f"{_GROUPS}/detach", payload))


class VpcPeerings(Resource[One, PageT, ListT, Done, Stream]):
    """`/vpc-peerings`: two of the tenant's VPCs, with ranges that do not overlap, reach each
    other by private address while a peering between them is ACTIVE."""

    def create(
        self, requester_vpc: str, accepter_vpc: str, *, idempotency_key: str | None = None
    ) -> One:
        """Request a peering (status PENDING_ACCEPTANCE) between two VPCs (ids or names)."""
        payload = {"requester_vpc_id": requester_vpc, "accepter_vpc_id": accepter_vpc}
        return self._x.one(Call("POST", _PEERINGS, payload, idempotency_key=idempotency_key))

    def list(
        self, *, status: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's peerings, optionally of one status (e.g. ACTIVE)."""
        return self._x.page(listing(_PEERINGS, limit, offset, status=status))

    def iterate(self, *, status: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's peerings."""
        return self._x.iterate(listing(_PEERINGS, page_size, 0, status=status), page_size)

    def get(self, peering: str) -> One:
        """A peering by id."""
        return self._x.one(Call("GET", f"{_PEERINGS}/{seg(peering)}"))

    def accept(self, peering: str) -> One:
        """Accept a pending peering: ACTIVE, and the VPCs reach each other, when this returns."""
        return self._x.one(Call("POST", f"{_PEERINGS}/{seg(peering)}/accept"))

    def reject(self, peering: str) -> One:
        """Reject a pending peering (REJECTED)."""
        return self._x.one(Call("POST", f"{_PEERINGS}/{seg(peering)}/reject"))

    def delete(self, peering: str) -> Done:
        """Delete a peering: the two VPCs are cut apart again when this returns."""
        return self._x.done(Call("DELETE", f"{_PEERINGS}/{seg(peering)}"))
