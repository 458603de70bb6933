"""The iptables rendering of the Docker bridge fabric: chains, order, and the restore script."""

from __future__ import annotations

from thecloud.adapters.docker.firewall import (
    Jump,
    bridge_of,
    clear_script,
    has_changes,
    parse_save,
    render,
    restore_script,
    tag_of,
)
from thecloud.ports.network import Egress, Endpoint, FabricState, Filter, PublicAddress, VpcNet

TAG = tag_of("test-installation")
A = VpcNet("aaaaaaaa-1111", bridge_of(TAG, "aaaaaaaa-1111"), "10.0.0.0/16")
B = VpcNet(
    "bbbbbbbb-2222",
    bridge_of(TAG, "bbbbbbbb-2222"),
    "10.1.0.0/16",
    (
        Egress("10.1.1.7/32", snat="100.64.0.9"),
        Egress("10.1.1.0/24"),
        Egress("10.1.2.0/24", "192.0.2.0/24", "100.64.0.3"),
    ),
)
WEB = Endpoint(
    "11111111-aaaa-bbbb",
    A.id,
    "10.0.1.2",
    (
        Filter("ingress", False, "tcp", ("10.0.1.3/32",), 80, 80),
        Filter("ingress", True, "tcp", ("10.0.1.0/24",), 80, 80),
        Filter("ingress", True, "udp", ("10.0.2.0/24", "10.0.3.0/24"), 5000, 5100),
        Filter("egress", True, "all", ("0.0.0.0/0",)),
    ),
)
STATE = FabricState(
    vpcs=(A, B),
    peerings=((A.id, B.id),),
    endpoints=(WEB,),
    public=(PublicAddress("100.64.0.9", "10.1.1.7"),),
)


def test_bridge_names_fit_the_kernel_limit_and_carry_the_installation() -> None:
    assert len(A.bridge) == 15 and A.bridge.startswith(f"tc{TAG}")
    assert tag_of("other") != TAG


def test_the_ruleset_walks_path_then_egress_then_ingress() -> None:
    rs = render(STATE, TAG)
    p = f"TC-{TAG}"
    vpc = rs.tables["filter"][f"{p}-VPC"]
    assert vpc[0] == "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    assert f"-i {A.bridge} -o {A.bridge} -g {p}-SRC" in vpc
    assert f"-i {A.bridge} -o {B.bridge} -s 10.0.0.0/16 -d 10.1.0.0/16 -g {p}-SRC" in vpc
    assert f"-i {B.bridge} -o {A.bridge} -s 10.1.0.0/16 -d 10.0.0.0/16 -g {p}-SRC" in vpc
    assert f"-i {B.bridge} ! -o tc+ -s 10.1.1.0/24 -g {p}-SRC" in vpc  # B's gateway subnet
    assert f"-i {B.bridge} ! -o tc+ -s 10.1.2.0/24 -d 192.0.2.0/24 -g {p}-SRC" in vpc
    assert vpc[-3:] == [
        f"-i tc{TAG}+ -j DROP",
        f"-o tc{TAG}+ -m conntrack --ctstate DNAT -g {p}-IN",
        "-j DROP",
    ]
    ingress = rs.tables["filter"][f"{p}-I-11111111aaaa"]
    assert ingress == [
        "-s 10.0.1.3/32 -p tcp --dport 80 -j DROP",
        "-s 10.0.1.0/24 -p tcp --dport 80 -j ACCEPT",
        "-s 10.0.2.0/24 -p udp --dport 5000:5100 -j ACCEPT",
        "-s 10.0.3.0/24 -p udp --dport 5000:5100 -j ACCEPT",
        "-j DROP",
    ]
    assert rs.tables["filter"][f"{p}-O-11111111aaaa"] == [f"-g {p}-IN", "-j DROP"]
    assert rs.tables["filter"][f"{p}-SRC"][-1] == "-j DROP"
    assert rs.tables["filter"][f"{p}-IN"][-2:] == [f"-o tc{TAG}+ -j DROP", "-j ACCEPT"]
    assert rs.tables["nat"][f"{p}-POST"] == [
        "-s 10.0.0.0/16 -o tc+ -j ACCEPT",
        "-s 10.1.0.0/16 -o tc+ -j ACCEPT",
        "-s 10.1.1.7/32 ! -o tc+ -j SNAT --to-source 100.64.0.9",
        "-s 10.1.2.0/24 -d 192.0.2.0/24 ! -o tc+ -j SNAT --to-source 100.64.0.3",
    ]
    assert rs.tables["nat"][f"{p}-DNAT"] == ["-d 100.64.0.9/32 -j DNAT --to-destination 10.1.1.7"]
    assert rs.tables["filter"][f"{p}-OUT"] == [
        "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
    ]  # the elastic IP's instance is not one of this state's endpoints
    assert {(j.table, j.chain) for j in rs.jumps} == {
        ("filter", "DOCKER-USER"), ("filter", "INPUT"), ("filter", "OUTPUT"),
        ("nat", "POSTROUTING"), ("nat", "PREROUTING"), ("nat", "OUTPUT"),
    }  # fmt: skip


def test_the_restore_script_rewrites_ours_deletes_stale_chains_and_adds_missing_jumps() -> None:
    rs = render(STATE, TAG)
    p = f"TC-{TAG}"
    stale = f"{p}-I-999999999999"
    present = {j for j in rs.jumps if j.chain != "INPUT" and j.table == "filter"}
    script = restore_script(rs, {"filter": {f"{p}-FWD", stale}}, present)
    lines = script.splitlines()
    assert lines[0] == "*filter" and lines.count("COMMIT") == 2
    assert f":{p}-FWD - [0:0]" in lines and f"-F {p}-FWD" in lines
    assert lines.index(f"-F {stale}") < lines.index(f"-X {stale}")
    assert lines.index(f"-X {stale}") > lines.index(f"-A {p}-IN -j ACCEPT")
    assert not any(line.startswith(("-I DOCKER-USER", "-I OUTPUT")) for line in lines[:40])
    assert f'-I INPUT 1 -m comment --comment "thecloud:{TAG}" -j {p}-HOST' in lines
    assert f'-I POSTROUTING 1 -m comment --comment "thecloud:{TAG}" -j {p}-POST' in lines


def test_saved_rules_are_read_back_and_cleared_without_touching_others() -> None:
    p = f"TC-{TAG}"
    saved = "\n".join(
        [
            "*filter",
            ":DOCKER-USER - [0:0]",
            f":{p}-FWD - [0:0]",
            ":TC-zzzzz-FWD - [0:0]",
            f'-A DOCKER-USER -m comment --comment "thecloud:{TAG}" -j {p}-FWD',
            '-A DOCKER-USER -m comment --comment "thecloud:zzzzz" -j TC-zzzzz-FWD',
            "-A DOCKER-USER -j RETURN",
            "COMMIT",
            "*nat",
            f":{p}-POST - [0:0]",
            "COMMIT",
        ]
    )
    got = parse_save(saved, TAG)
    chains, jumps = got.chains, got.jumps
    assert chains == {"filter": {f"{p}-FWD"}, "nat": {f"{p}-POST"}}
    assert jumps == {("filter", "DOCKER-USER", f"{p}-FWD")}
    script = clear_script(TAG, chains, jumps)
    assert "zzzzz" not in script and "RETURN" not in script
    assert f'-D DOCKER-USER -m comment --comment "thecloud:{TAG}" -j {p}-FWD' in script


def test_only_chains_whose_content_changed_are_rewritten() -> None:
    rs = render(STATE, TAG)
    p = f"TC-{TAG}"
    first = restore_script(rs, {}, set())
    saved = "*filter\n" + "\n".join(
        line for line in first.splitlines() if line.startswith((":", "-A"))
    )
    got = parse_save(saved.replace("*nat", ""), TAG)
    chains, hashes = got.chains, got.hashes
    assert hashes[f"{p}-VPC"] and len(hashes) == len(chains["filter"])
    everything = {"filter": set(rs.chains("filter")), "nat": set(rs.chains("nat"))}
    all_hashes = {**hashes}
    jumps = set(rs.jumps)
    same = restore_script(rs, everything, jumps, all_hashes)
    assert same.splitlines() == ["*filter", "COMMIT", "*nat", "COMMIT"]
    moved = Endpoint(WEB.instance_id, WEB.vpc_id, "10.0.1.9", WEB.filters)
    again = restore_script(
        render(FabricState(STATE.vpcs, STATE.peerings, (moved,), STATE.public), TAG),
        everything,
        jumps,
        all_hashes,
    )
    rewritten = {line[1:].split()[0] for line in again.splitlines() if line.startswith(":")}
    assert rewritten == {f"{p}-SRC", f"{p}-IN"}  # the filters themselves did not change


def test_the_host_chain_opens_each_vpc_router_given_and_nothing_without_one() -> None:
    p = f"TC-{TAG}"
    routed = VpcNet(A.id, A.bridge, A.cidr, gateway="10.0.0.1")
    host = render(FabricState(vpcs=(routed, B)), TAG).tables["filter"][f"{p}-HOST"]
    assert host[2:] == [
        f"-i {A.bridge} -d 10.0.0.1/32 -p icmp --icmp-type echo-request -j ACCEPT",
        f"-i {A.bridge} -d 10.0.0.1/32 -p udp --dport 53 -j ACCEPT",
        f"-i {A.bridge} -d 10.0.0.1/32 -p tcp --dport 53 -j ACCEPT",
        "-j DROP",
    ]  # B has no router address: its instances reach nothing on the host


def test_saved_jumps_are_jumps_and_a_script_without_changes_is_told_apart() -> None:
    p, mark = f"TC-{TAG}", f'-m comment --comment "thecloud:{TAG}"'
    saved = "\n".join(
        [
            "*nat",
            f":{p}-POST - [0:0]",
            f"-A POSTROUTING {mark} -j {p}-POST",
            "*filter",
            f":{p}-HOST - [0:0]",
            "-A INPUT -j RETURN",
            f"-A INPUT {mark} -j {p}-HOST",
        ]
    )
    got = parse_save(saved, TAG)
    assert got.jumps == {Jump("nat", "POSTROUTING", f"{p}-POST")}
    assert got.misplaced == {Jump("filter", "INPUT", f"{p}-HOST")}
    assert all(isinstance(j, Jump) for j in got.jumps | got.misplaced)
    assert has_changes(restore_script(render(STATE, TAG), got.chains, got.jumps))
    assert not has_changes("*filter\nCOMMIT\n*nat\nCOMMIT\n")
