"""The ways in and out of a VPC: elastic IPs, internet and NAT gateways, route tables."""

from __future__ import annotations

from thecloud.sdk._core import Call, body, listing, query, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream

_EIPS = "/elastic-ips"
_IGWS = "/internet-gateways"
_NATS = "/nat-gateways"
_TABLES = "/route-tables"


class ElasticIps(Resource[One, PageT, ListT, Done, Stream]):
    """`/elastic-ips`: stable addresses of the platform's pool. Associated with an instance in
    a VPC, traffic to the address reaches the instance (its security groups decide), and its
    traffic out through an internet gateway leaves from the address."""

    def allocate(self, *, idempotency_key: str | None = None) -> One:
        """Allocate the next free address of the pool (status ALLOCATED)."""
        return self._x.one(Call("POST", _EIPS, idempotency_key=idempotency_key))

    def list(
        self, *, status: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's elastic IPs, optionally of one status (ALLOCATED or
        ASSOCIATED)."""
        return self._x.page(listing(_EIPS, limit, offset, status=status))

    def iterate(self, *, status: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's elastic IPs."""
        return self._x.iterate(listing(_EIPS, page_size, 0, status=status), page_size)

    def get(self, eip: str) -> One:
        """An elastic IP by id or address."""
        return self._x.one(Call("GET", f"{_EIPS}/{seg(eip)}"))

    def release(self, eip: str) -> Done:
        """Give the address back to the pool. Refused (ConflictError) while it is associated
        or a NAT gateway uses it."""
        return self._x.done(Call("DELETE", f"{_EIPS}/{seg(eip)}"))

    def associate(self, eip: str, instance: str) -> One:
        """NAT the address (id or address) to an instance (id or name) in a VPC; one per
        instance. In force when this returns."""
        payload = {"instance_id": instance}
        return self._x.one(Call("POST", f"{_EIPS}/{seg(eip)}/associate", payload))

    def disassociate(self, eip: str) -> One:
        """Take the address off its instance; it stays allocated (status ALLOCATED)."""
        return self._x.one(Call("POST", f"{_EIPS}/{seg(eip)}/disassociate"))


class InternetGateways(Resource[One, PageT, ListT, Done, Stream]):
    """`/internet-gateways`: attached to a VPC, the target of routes to the world."""

    def create(self, *, name: str | None = None, idempotency_key: str | None = None) -> One:
        """Create an internet gateway (status DETACHED)."""
        payload = body(name=name)
        return self._x.one(Call("POST", _IGWS, payload, idempotency_key=idempotency_key))

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's internet gateways."""
        return self._x.page(listing(_IGWS, limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the tenant's internet gateways."""
        return self._x.iterate(listing(_IGWS, page_size, 0), page_size)

    def get(self, igw: str) -> One:
        """An internet gateway by id or name."""
        return self._x.one(Call("GET", f"{_IGWS}/{seg(igw)}"))

    def delete(self, igw: str) -> Done:
        """Delete a detached internet gateway no route names (else ConflictError)."""
        return self._x.done(Call("DELETE", f"{_IGWS}/{seg(igw)}"))

    def attach(self, igw: str, vpc: str) -> One:
        """Attach to a VPC (id or name; one gateway per VPC). Subnets reach the world once
        their route table has a route to it."""
        return self._x.one(Call("POST", f"{_IGWS}/{seg(igw)}/attach", {"vpc_id": vpc}))

    def detach(self, igw: str, *, vpc: str | None = None) -> One:
        """Detach from its VPC (`vpc`, when given, must be that VPC): routes to it stop
        carrying traffic when this returns."""
        return self._x.one(Call("POST", f"{_IGWS}/{seg(igw)}/detach", body(vpc_id=vpc)))


class NatGateways(Resource[One, PageT, ListT, Done, Stream]):
    """`/nat-gateways`: subnets whose route table routes to one reach the world, leaving from
    its elastic IP; nothing outside can open a connection back through it."""

    def create(self, subnet: str, eip: str, *, idempotency_key: str | None = None) -> One:
        """Create a NAT gateway in a subnet (id) with an unassociated elastic IP (id or
        address)."""
        payload = {"subnet_id": subnet, "eip_id": eip}
        return self._x.one(Call("POST", _NATS, payload, idempotency_key=idempotency_key))

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's NAT gateways."""
        return self._x.page(listing(_NATS, limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the tenant's NAT gateways."""
        return self._x.iterate(listing(_NATS, page_size, 0), page_size)

    def get(self, nat: str) -> One:
        """A NAT gateway by id."""
        return self._x.one(Call("GET", f"{_NATS}/{seg(nat)}"))

    def delete(self, nat: str) -> Done:
        """Delete a NAT gateway no route uses (else ConflictError); its elastic IP stays
        allocated."""
        return self._x.done(Call("DELETE", f"{_NATS}/{seg(nat)}"))


class RouteTables(Resource[One, PageT, ListT, Done, Stream]):
    """`/route-tables`: where traffic leaving a VPC goes. A subnet uses the table it is
    associated with, else its VPC's main one; without a route to a gateway, nothing beyond the
    VPC (and its peers) is reached. Every change is in force when the call returns."""

    def create(
        self, vpc: str, name: str, *, is_main: bool = False, idempotency_key: str | None = None
    ) -> One:
        """Create a table in a VPC (id or name) with only the local route; `is_main` makes it
        the table of every subnet without one of its own."""
        payload = {"vpc_id": vpc, "name": name, "is_main": is_main}
        return self._x.one(Call("POST", _TABLES, payload, idempotency_key=idempotency_key))

    def list(
        self, *, vpc_id: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's route tables, optionally of one VPC (by id)."""
        return self._x.page(listing(_TABLES, limit, offset, vpc_id=vpc_id))

    def iterate(self, *, vpc_id: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's route tables (of one VPC, by id, if given)."""
        return self._x.iterate(listing(_TABLES, page_size, 0, vpc_id=vpc_id), page_size)

    def get(self, table: str) -> One:
        """A route table by id, with its routes and the ids of its subnets (`subnet_ids`)."""
        return self._x.one(Call("GET", f"{_TABLES}/{seg(table)}"))

    def delete(self, table: str) -> Done:
        """Delete a table that is not the main one and has no subnets (else ConflictError)."""
        return self._x.done(Call("DELETE", f"{_TABLES}/{seg(table)}"))

    def add_route(
        self,
        table: str,
        destination_cidr: str,
        *,
        internet_gateway: str | None = None,
        nat_gateway: str | None = None,
    ) -> One:
        """Route a destination range outside the VPC to exactly one of an internet gateway
        attached to the VPC (id or name) or a NAT gateway of the VPC (id); the table."""
        if (internet_gateway is None) == (nat_gateway is None):
            raise ValueError("give exactly one of internet_gateway or nat_gateway")
        target_type, target_id = (
            ("igw", internet_gateway) if internet_gateway is not None else ("nat", nat_gateway)
        )
        payload = {
            "destination_cidr": destination_cidr,
            "target_type": target_type,
            "target_id": target_id,
        }
        return self._x.one(Call("POST", f"{_TABLES}/{seg(table)}/routes", payload))

    def remove_route(self, table: str, destination_cidr: str) -> One:
        """Remove the route to `destination_cidr` (the local route stays); the table."""
        params = query(destination_cidr=destination_cidr)
        return self._x.one(Call("DELETE", f"{_TABLES}/{seg(table)}/routes", params=params))

    def associate(self, table: str, subnet: str) -> One:
        """Make this the subnet's (id) table, instead of its current one or the main one."""
        payload = {"subnet_id": subnet}
        return self._x.one(Call("POST", f"{_TABLES}/{seg(table)}/associate", payload))

    def disassociate(self, table: str, subnet: str) -> One:
        """The subnet (id) goes back to its VPC's main table."""
        payload = {"subnet_id": subnet}
        return self._x.one(Call("POST", f"{_TABLES}/{seg(table)}/disassociate", payload))
