"""The nftables rulesets of the pod network, as text an operator reads with `nft list ruleset`."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from handler.net import nft
from handler.net.spec import Port

POD_IP, GUEST = IPv4Address("10.244.0.5"), IPv4Address("10.0.2.2")


def test_masquerade_without_ports_forwards_everything() -> None:
    """No ports: everything for the pod IP arriving on eth0 goes to the guest; its traffic is
    masqueraded out of eth0; the table is replaced atomically."""
    text = nft.masquerade_ruleset("eth0", POD_IP, GUEST, ())
    assert text.startswith("table ip virtnode\ndelete table ip virtnode\ntable ip virtnode {\n")
    assert 'iifname "eth0" ip daddr 10.244.0.5 jump inbound' in text
    assert "  chain inbound {\n    counter dnat to 10.0.2.2\n  }" in text
    assert 'oifname "eth0" ip saddr 10.0.2.2 counter masquerade' in text
    assert "type nat hook prerouting priority dstnat" in text
    assert "type nat hook postrouting priority srcnat" in text


def test_masquerade_with_ports_forwards_only_those() -> None:
    """Listed ports, grouped by protocol, are the only ones DNATed to the guest."""
    text = nft.masquerade_ruleset("eth0", POD_IP, GUEST, (Port("tcp", 8080), Port("udp", 53), Port("tcp", 22)))
    assert ("  chain inbound {\n"
            "    tcp dport { 22, 8080 } counter dnat to 10.0.2.2\n"
            "    udp dport { 53 } counter dnat to 10.0.2.2\n"
            "  }\n") in text


def test_egress_masquerades_the_cidr_leaving_by_other_links() -> None:
    """Egress: the pod CIDR leaving by any link but the node bridge is masqueraded, in the node's table."""
    text = nft.egress_ruleset("vn0", IPv4Network("10.244.0.0/24"))
    assert nft.node_table("vn0") == "virtnode_vn0"
    assert 'ip saddr 10.244.0.0/24 oifname != "vn0" counter masquerade' in text
    assert text.startswith("table ip virtnode_vn0\ndelete table ip virtnode_vn0\n")


def test_bridge_binding_keeps_dhcp_inside_the_sandbox() -> None:
    """Bridge binding: DHCP from and to eth0 is dropped at the sandbox's bridge."""
    text = nft.bridge_isolation_ruleset("eth0")
    assert text.startswith("table bridge virtnode\n")
    assert 'oifname "eth0" udp sport 67 counter drop' in text
    assert 'iifname "eth0" udp dport 67 counter drop' in text


def test_node_table_names_are_nft_identifiers() -> None:
    """A bridge name with '-' or '.' still gives a valid nft table name."""
    assert nft.node_table("vn-test.0") == "virtnode_vn_test_0"
