"""The data path of the Docker bridge fabric: iptables chains of the platform's own.

Everything lives in chains named `TC-<tag>-...` (the tag is derived from the installation id),
reached by one commented jump each from DOCKER-USER (filter) and POSTROUTING (nat); rules of
the host, of Docker or of another installation are never touched. A sync rewrites all of
the installation's chains in one `iptables-restore --noflush` transaction, so no packet ever
meets half a policy, and deletes the chains it no longer needs.

Instances reach the host itself (INPUT) only to ping their router, to ask its DNS resolver
(port 53) and for answers to what the host opened (HOST chain): the platform's API and the
host's services are not theirs.

Filter path of a forwarded packet that enters or leaves one of our bridges (`tc<tag>+`):
  VPC:  established/related -> ACCEPT; invalid -> DROP; then the path: same VPC, an active
        peering, or out to the world from a subnet with a gateway -> SRC; inbound that was
        DNATed (published ports, elastic IPs) -> IN; anything else -> DROP.
  SRC:  the sending instance's egress filters (O-<id>): allowed -> IN; else DROP.
  IN:   the receiving instance's ingress filters (I-<id>): allowed -> ACCEPT; else DROP;
        to no instance of ours -> DROP; to the world -> ACCEPT.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from thecloud.ports.network import Egress, Endpoint, FabricState, Filter

ALL_BRIDGES = "tc+"  # every platform bridge of every installation on the host
COMMENT = "thecloud:{tag}"
HASH_MARK = "tc:"  # the first rule of each of our chains: a no-op carrying its content hash


def tag_of(installation: str) -> str:
    return hashlib.sha256(installation.encode()).hexdigest()[:5]


def bridge_of(tag: str, vpc_id: str) -> str:
    """`tc` + tag + 8 hex of the VPC id: 15 characters, the kernel's limit."""
    return f"tc{tag}{vpc_id.replace('-', '')[:8]}"


class Jump(NamedTuple):
    table: str
    chain: str  # the built-in (or Docker's) chain the jump sits in
    target: str


@dataclass
class Ruleset:
    """Chains (in order of declaration) with their rules, per table, and the entry jumps."""

    tag: str
    tables: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    jumps: list[Jump] = field(default_factory=list)

    def chain(self, table: str, name: str) -> list[str]:
        return self.tables.setdefault(table, {}).setdefault(name, [])

    def chains(self, table: str) -> list[str]:
        return list(self.tables.get(table, {}))


class Names:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        p = f"TC-{tag}"
        self.prefix = p + "-"
        self.fwd, self.vpc, self.src, self.inb = f"{p}-FWD", f"{p}-VPC", f"{p}-SRC", f"{p}-IN"
        self.post, self.host = f"{p}-POST", f"{p}-HOST"
        self.out, self.dnat = f"{p}-OUT", f"{p}-DNAT"
        self.ours = f"tc{tag}+"

    def egress(self, e: Endpoint) -> str:
        return f"{self.prefix}O-{e.instance_id.replace('-', '')[:12]}"

    def ingress(self, e: Endpoint) -> str:
        return f"{self.prefix}I-{e.instance_id.replace('-', '')[:12]}"


def render(state: FabricState, tag: str) -> Ruleset:
    n = Names(tag)
    rs = Ruleset(tag)
    bridges = {v.id: v for v in state.vpcs}
    fwd = rs.chain("filter", n.fwd)
    fwd += [f"-i {n.ours} -j {n.vpc}", f"-o {n.ours} -j {n.vpc}"]
    vpc = rs.chain("filter", n.vpc)
    vpc += [
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-m conntrack --ctstate INVALID -j DROP",
    ]
    for v in state.vpcs:
        vpc.append(f"-i {v.bridge} -o {v.bridge} -g {n.src}")
    for a_id, b_id in state.peerings:
        a, b = bridges.get(a_id), bridges.get(b_id)
        if a is None or b is None:
            continue
        vpc.append(f"-i {a.bridge} -o {b.bridge} -s {a.cidr} -d {b.cidr} -g {n.src}")
        vpc.append(f"-i {b.bridge} -o {a.bridge} -s {b.cidr} -d {a.cidr} -g {n.src}")
    for v in state.vpcs:
        for way in v.egress:
            vpc.append(f"-i {v.bridge} ! -o {ALL_BRIDGES} -s {way.source}{_to(way)} -g {n.src}")
    vpc += [
        f"-i {n.ours} -j DROP",
        f"-o {n.ours} -m conntrack --ctstate DNAT -g {n.inb}",
        "-j DROP",
    ]
    src = rs.chain("filter", n.src)
    inb = rs.chain("filter", n.inb)
    for e in state.endpoints:
        net = bridges.get(e.vpc_id)
        if net is None:
            continue
        src.append(f"-i {net.bridge} -s {e.ip}/32 -g {n.egress(e)}")
        inb.append(f"-o {net.bridge} -d {e.ip}/32 -g {n.ingress(e)}")
        out = rs.chain("filter", n.egress(e))
        out += list(_filters(e.filters, "egress", f"-g {n.inb}"))
        out.append("-j DROP")
        into = rs.chain("filter", n.ingress(e))
        into += list(_filters(e.filters, "ingress", "-j ACCEPT"))
        into.append("-j DROP")
    src.append("-j DROP")
    inb += [f"-o {n.ours} -j DROP", "-j ACCEPT"]
    host = rs.chain("filter", n.host)
    host += [
        f"! -i {n.ours} -j RETURN",
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    for v in state.vpcs:
        if v.gateway:  # the VPC router: ping it, ask its DNS resolver
            router = f"-i {v.bridge} -d {v.gateway}/32"
            host.append(f"{router} -p icmp --icmp-type echo-request -j ACCEPT")
            host.append(f"{router} -p udp --dport 53 -j ACCEPT")
            host.append(f"{router} -p tcp --dport 53 -j ACCEPT")
    host.append("-j DROP")
    # The host's own connections to elastic IPs meet the instance's ingress rules too. Here the
    # output interface is still the one routed before the DNAT, so match the new destination.
    out = rs.chain("filter", n.out)
    out.append("-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
    ingress_of = {e.ip: n.ingress(e) for e in state.endpoints if e.vpc_id in bridges}
    for address in state.public:
        if address.private in ingress_of:
            chain = ingress_of[address.private]
            out.append(f"-d {address.private}/32 -m conntrack --ctstate DNAT -g {chain}")
    post = rs.chain("nat", n.post)
    for v in state.vpcs:
        # Between platform bridges addresses stay as they are (peers see the real source).
        post.append(f"-s {v.cidr} -o {ALL_BRIDGES} -j ACCEPT")
    for v in state.vpcs:
        for way in v.egress:
            if way.snat is not None:
                post.append(
                    f"-s {way.source}{_to(way)} ! -o {ALL_BRIDGES} -j SNAT --to-source {way.snat}"
                )
    dnat = rs.chain("nat", n.dnat)
    for address in state.public:
        dnat.append(f"-d {address.public}/32 -j DNAT --to-destination {address.private}")
    rs.jumps = [
        Jump("filter", "DOCKER-USER", n.fwd),
        Jump("filter", "INPUT", n.host),
        Jump("filter", "OUTPUT", n.out),
        Jump("nat", "POSTROUTING", n.post),
        Jump("nat", "PREROUTING", n.dnat),
        Jump("nat", "OUTPUT", n.dnat),
    ]
    return rs


def _to(e: Egress) -> str:
    return "" if e.destination == "0.0.0.0/0" else f" -d {e.destination}"


def _filters(filters: Iterable[Filter], direction: str, allowed: str) -> Iterable[str]:
    peer_flag = "-s" if direction == "ingress" else "-d"
    for f in filters:
        if f.direction != direction:
            continue
        verdict = allowed if f.allow else "-j DROP"
        match = "" if f.protocol == "all" else f"-p {f.protocol} "
        if f.protocol in ("tcp", "udp") and f.port_from is not None:
            ports = str(f.port_from) if f.port_from == f.port_to else f"{f.port_from}:{f.port_to}"
            match += f"--dport {ports} "
        for peer in f.peers:
            where = "" if peer == "0.0.0.0/0" else f"{peer_flag} {peer} "
            yield f"{where}{match}{verdict}".strip()


def jump_spec(j: Jump, tag: str) -> str:
    return f'-m comment --comment "{COMMENT.format(tag=tag)}" -j {j.target}'


def chain_hash(rules: list[str]) -> str:
    return hashlib.sha256("\n".join(rules).encode()).hexdigest()[:12]


def restore_script(
    rs: Ruleset,
    existing: dict[str, set[str]],
    jumps_present: set[Jump],
    hashes: dict[str, str] | None = None,
    misplaced: set[Jump] | None = None,
) -> str:
    """The iptables-restore input that installs `rs`, given which of our chains exist now
    (per table), which entry jumps are already in place and the content hash each existing
    chain carries (its first rule's comment): only chains whose content changed are
    rewritten, and stale chains are deleted. With nothing to change, each table's part is
    empty (`has_changes` tells)."""
    lines: list[str] = []
    hashes = hashes or {}
    for table in ("filter", "nat"):
        wanted = rs.chains(table)
        have = existing.get(table, set())
        stale = sorted(have - set(wanted))
        changed = [
            c for c in wanted if c not in have or hashes.get(c) != chain_hash(rs.tables[table][c])
        ]
        lines.append(f"*{table}")
        lines += [f":{c} - [0:0]" for c in changed]
        lines += [f"-F {c}" for c in changed]
        for c in changed:
            rules = rs.tables[table][c]
            lines.append(f'-A {c} -m comment --comment "{HASH_MARK}{chain_hash(rules)}"')
            lines += [f"-A {c} {rule}" for rule in rules]
        for j in sorted(misplaced or set(), key=lambda x: (x.chain, x.target)):
            if j.table == table:  # Docker inserted rules above it: back to the top
                lines.append(f"-D {j.chain} {jump_spec(j, rs.tag)}")
        for j in rs.jumps:
            if j.table == table and j not in jumps_present:
                lines.append(f"-I {j.chain} 1 {jump_spec(j, rs.tag)}")
        for c in stale:
            lines += [f"-F {c}", f"-X {c}"]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def has_changes(script: str) -> bool:
    """Does this restore script change anything (more than table headers and commits)?"""
    return any(
        line and not line.startswith("*") and line != "COMMIT" for line in script.splitlines()
    )


@dataclass
class Saved:
    """What `iptables-save` shows of one installation."""

    chains: dict[str, set[str]]  # table -> our chains
    jumps: set[Jump]  # our jumps that are first in their chain
    misplaced: set[Jump]  # ours, but no longer first (Docker inserted above)
    hashes: dict[str, str]  # chain -> content hash


def parse_save(text: str, tag: str) -> Saved:
    """From `iptables-save` output: our chains per table, our entry jumps (and whether each is
    still the first rule of its chain) and the content hash each of our chains carries."""
    saved = Saved({}, set(), set(), {})
    mark = f'--comment "{HASH_MARK}'
    table = ""
    prefix = f"TC-{tag}-"
    marker = COMMENT.format(tag=tag)
    seen: set[tuple[str, str]] = set()
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":" + prefix):
            saved.chains.setdefault(table, set()).add(line[1:].split()[0])
        elif line.startswith("-A "):
            parts = line.split()
            first = (table, parts[1]) not in seen
            seen.add((table, parts[1]))
            if marker in line:
                target = parts[parts.index("-j") + 1] if "-j" in parts else ""
                (saved.jumps if first else saved.misplaced).add(Jump(table, parts[1], target))
            elif line.startswith("-A " + prefix) and mark in line:
                saved.hashes.setdefault(parts[1], line.split(mark, 1)[1].split('"', 1)[0])
    return saved


def clear_script(tag: str, chains: dict[str, set[str]], jumps: set[Jump]) -> str:
    lines: list[str] = []
    for table in ("filter", "nat"):
        lines.append(f"*{table}")
        for j in sorted(jumps):
            if j.table == table:
                lines.append(f"-D {j.chain} {jump_spec(j, tag)}")
        ours = sorted(chains.get(table, set()))
        lines += [f"-F {c}" for c in ours]
        lines += [f"-X {c}" for c in ours]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"
