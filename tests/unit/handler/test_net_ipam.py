"""The pod IP table: one address per VMI uid, kept on disk, never the gateway, never twice."""

from __future__ import annotations

import multiprocessing
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from handler.net.errors import AddressPoolExhaustedError
from handler.net.ipam import AddressPool

NET = IPv4Network("10.244.0.0/29")  # hosts .1 to .6; .1 is the gateway
GATEWAY = IPv4Address("10.244.0.1")


def pool(tmp_path: Path) -> AddressPool:
    return AddressPool(tmp_path / "pod-addresses.json", NET, reserved={GATEWAY})


def test_same_uid_same_address_across_restarts(tmp_path: Path) -> None:
    """A uid keeps its address, also for a new pool object on the same file (a handler restart)."""
    first = pool(tmp_path).allocate("vmi-a")
    assert first == IPv4Address("10.244.0.2")
    assert pool(tmp_path).allocate("vmi-a") == first
    assert pool(tmp_path).lookup("vmi-a") == first


def test_addresses_are_distinct_and_released_ones_reused(tmp_path: Path) -> None:
    """Different uids get different addresses; a released address is the next one handed out."""
    p = pool(tmp_path)
    got = [p.allocate(f"vmi-{i}") for i in range(3)]
    assert got == [IPv4Address(f"10.244.0.{i}") for i in (2, 3, 4)]
    p.release("vmi-1")
    p.release("vmi-1")  # twice is fine
    assert p.lookup("vmi-1") is None
    assert p.allocate("vmi-new") == IPv4Address("10.244.0.3")


def test_exhausted_pool_says_so(tmp_path: Path) -> None:
    """With .2-.6 taken, the next VMI gets an error naming the CIDR and what to do."""
    p = pool(tmp_path)
    for i in range(5):
        p.allocate(f"vmi-{i}")
    with pytest.raises(AddressPoolExhaustedError, match=r"No free address left in the pod network "
                                                         r"10\.244\.0\.0/29 for VMI vmi-5: 5 are allocated"):
        p.allocate("vmi-5")


def test_an_address_outside_the_cidr_is_replaced(tmp_path: Path) -> None:
    """After the node's CIDR changed, a VMI's old address (outside it) is not handed back."""
    AddressPool(tmp_path / "pod-addresses.json", IPv4Network("10.9.0.0/24")).allocate("vmi-a")
    assert pool(tmp_path).allocate("vmi-a") == IPv4Address("10.244.0.2")


def _allocate_many(path: str, prefix: str, count: int, out) -> None:
    p = AddressPool(Path(path), IPv4Network("10.244.0.0/24"), reserved={GATEWAY})
    out.put([str(p.allocate(f"{prefix}-{i}")) for i in range(count)])


def test_concurrent_allocations_never_share_an_address(tmp_path: Path) -> None:
    """Two processes allocating at once (the file lock) hand out 40 different addresses."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_allocate_many, args=(str(tmp_path / "t.json"), name, 20, out))
             for name in ("a", "b")]
    for proc in procs:
        proc.start()
    got = out.get(timeout=30) + out.get(timeout=30)
    for proc in procs:
        proc.join(30)
    assert len(set(got)) == 40
    assert len(AddressPool(tmp_path / "t.json", IPv4Network("10.244.0.0/24")).allocations()) == 40
