"""Pod IP addresses: a small allocation table on disk, keyed by VMI uid.

Owns `AddressPool`: the addresses of the node's pod CIDR handed to VMIs,
kept in one JSON file (`{"allocations": {"<uid>": "10.244.0.2"}}`) under the
handler's state directory, so a restarted handler gives a VMI the address it
had. Every read-modify-write holds an exclusive flock on a lock file beside it
(two handlers, or a handler and a test, never hand out one address twice), and
the file is replaced atomically. Called by handler/net/pod.py. Never hands out
the network address, the gateway or the broadcast address.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from handler.net.errors import AddressPoolExhaustedError, NetworkError


class AddressPool:
    """The allocations of one pod CIDR in `path` (created on first use)."""

    def __init__(self, path: Path, network: IPv4Network, reserved: set[IPv4Address] = frozenset()) -> None:
        self.path = Path(path)
        self.network = network
        self.reserved = set(reserved)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        """The allocation table, held under the lock; what the block leaves in it is written back."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise NetworkError(f"Failed to open the pod address table lock {self._lock_path}: "
                               f"{exc.strerror}") from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            table = self._read()
            before = dict(table)
            yield table
            if table != before:
                self._write(table)
        finally:
            os.close(lock)  # closing releases the flock

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise NetworkError(f"Failed to read the pod address table {self.path}: {exc}") from exc
        allocations = data.get("allocations") if isinstance(data, dict) else None
        if not isinstance(allocations, dict):
            raise NetworkError(f"The pod address table {self.path} has no \"allocations\" object")
        return {str(k): str(v) for k, v in allocations.items()}

    def _write(self, table: dict[str, str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w") as f:
                json.dump({"allocations": dict(sorted(table.items()))}, f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise NetworkError(f"Failed to write the pod address table {self.path}: {exc.strerror}") from exc

    def _in_pool(self, address: str) -> bool:
        try:
            ip = IPv4Address(address)
        except ipaddress.AddressValueError:
            return False
        return ip in self.network and ip not in self.reserved and ip not in (
            self.network.network_address, self.network.broadcast_address)

    def allocate(self, key: str) -> IPv4Address:
        """The address of `key`: the one it holds already, else the lowest free one."""
        with self._locked() as table:
            held = table.get(key)
            if held is not None and self._in_pool(held):
                return IPv4Address(held)
            taken = set(table.values())
            for ip in self.network.hosts():
                if ip not in self.reserved and str(ip) not in taken:
                    table[key] = str(ip)
                    return ip
        raise AddressPoolExhaustedError(
            f"No free address left in the pod network {self.network} for VMI {key}: "
            f"{len(taken)} are allocated; delete a VMI or configure a larger CIDR")

    def lookup(self, key: str) -> IPv4Address | None:
        """The address `key` holds, or None."""
        with self._locked() as table:
            held = table.get(key)
        return IPv4Address(held) if held is not None and self._in_pool(held) else None

    def release(self, key: str) -> None:
        """Free `key`'s address; a key that holds none is fine."""
        with self._locked() as table:
            table.pop(key, None)

    def allocations(self) -> dict[str, str]:
        """Every allocation: key -> address."""
        with self._locked() as table:
            return dict(table)
