"""The boot log: everything the guest printed on its serial console, bounded, on disk.

Owns the two log files of one VM (`path` and `path.1`) and the sidecar
`path.base` that persists where `path` starts in the absolute byte stream.
The console relay (launcher/console.py) appends to it; the command server
reads it for `virtctl console --show-log` / `virtctl logs`. It never touches
sockets and never deletes anything but its own rotated file.

Offsets are absolute: byte N of everything ever logged for this VM keeps
offset N across rotations and across launcher restarts (a new BootLog over
the same path continues after what is there), so a reader that polls with
the `next_offset` it was last given receives only new bytes, and learns from
`LogChunk.start` when the bytes it asked for were rotated away.

Disk use: `path` is rotated to `path.1` before it would exceed limit/2, so
both files together never hold more than `limit_bytes`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO, NamedTuple

from launcher.errors import InvalidRequestError

DEFAULT_LIMIT_BYTES = 1 << 20


class BootLogArgumentError(InvalidRequestError):
    """A boot-log call got an argument it cannot serve (negative, or past the end)."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(message)


class LogChunk(NamedTuple):
    """Bytes read from the boot log and the offset to ask for next."""

    data: bytes
    next_offset: int

    @property
    def start(self) -> int:
        """Absolute offset of data[0]; greater than the offset asked for when bytes were rotated away."""
        return self.next_offset - len(self.data)


class BootLog:
    """A bounded, rotating, restart-surviving log with absolute byte offsets. Thread-safe."""

    def __init__(self, path: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        if limit_bytes < 2:
            raise BootLogArgumentError(
                "limit_bytes", f"Boot log limit_bytes must be at least 2, not {limit_bytes}")
        self.path = Path(path)
        self.rotated_path = self.path.with_name(self.path.name + ".1")
        self.sidecar_path = self.path.with_name(self.path.name + ".base")
        self.limit_bytes = limit_bytes
        self._half = limit_bytes // 2
        self._lock = threading.Lock()
        self._base = self._recover_base()       # absolute offset of path's first byte
        self._file: BinaryIO = open(self.path, "ab")
        self._size = os.fstat(self._file.fileno()).st_size
        self._size1 = _size_or_zero(self.rotated_path)
        self._write_sidecar()
        self._enforce_bound()

    # -- writing ----------------------------------------------------------

    def append(self, data: bytes) -> None:
        """Append bytes, rotating as needed; flushed (not fsynced) before returning."""
        view = memoryview(data)
        with self._lock:
            self._check_open()
            while view:
                room = self._half - self._size
                if room <= 0:
                    self._rotate()
                    continue
                piece = view[:room]
                self._file.write(piece)
                self._size += len(piece)
                view = view[len(piece):]
            self._file.flush()

    def close(self) -> None:
        """Close the file; later appends and reads raise ValueError. Idempotent."""
        with self._lock:
            if not self._file.closed:
                self._file.close()

    # -- reading ----------------------------------------------------------

    @property
    def end_offset(self) -> int:
        """Absolute offset just past the last byte logged (= bytes ever logged for this VM)."""
        with self._lock:
            return self._base + self._size

    @property
    def oldest_offset(self) -> int:
        """Absolute offset of the oldest byte still kept."""
        with self._lock:
            return self._base - self._size1

    def read(self, offset: int = 0, limit: int | None = None) -> LogChunk:
        """Bytes from `offset` (or from the oldest kept byte, if `offset` was rotated away).

        At most `limit` bytes when given. `next_offset` is where the next read should start;
        `start` is where the data begins. An offset past the end raises BootLogArgumentError.
        """
        if offset < 0:
            raise BootLogArgumentError("offset", f"Boot log offset must not be negative, not {offset}")
        if limit is not None and limit < 0:
            raise BootLogArgumentError("limit", f"Boot log read limit must not be negative, not {limit}")
        with self._lock:
            self._check_open()
            end = self._base + self._size
            if offset > end:
                raise BootLogArgumentError(
                    "offset", f"Boot log offset {offset} is past the end of the log ({end})")
            oldest = self._base - self._size1
            start = max(offset, oldest)
            stop = end if limit is None else min(end, start + limit)
            parts = []
            if start < self._base:      # part of it lies in path.1
                parts.append(_read_range(self.rotated_path, start - oldest,
                                         min(stop, self._base) - start))
            if stop > self._base:
                lo = max(start, self._base)
                parts.append(_read_range(self.path, lo - self._base, stop - lo))
            data = b"".join(parts)
            return LogChunk(data, start + len(data))

    def tail(self, n_bytes: int) -> LogChunk:
        """The last `n_bytes` kept (fewer when the log holds fewer)."""
        if n_bytes < 0:
            raise BootLogArgumentError(
                "n_bytes", f"Boot log tail n_bytes must not be negative, not {n_bytes}")
        with self._lock:
            start = max(self._base - self._size1, self._base + self._size - n_bytes)
        return self.read(start)

    # -- internals (caller holds the lock, or is the constructor) ----------

    def _check_open(self) -> None:
        if self._file.closed:
            raise ValueError(f"Boot log {self.path} is closed")

    def _rotate(self) -> None:
        """path → path.1, a fresh path, then the sidecar. Crash-safe: see _recover_base."""
        self._file.close()
        os.replace(self.path, self.rotated_path)
        self._base += self._size
        self._size1, self._size = self._size, 0
        self._file = open(self.path, "ab")
        self._write_sidecar()

    def _enforce_bound(self) -> None:
        """Bring files written under a larger limit within this one (reopen only)."""
        if self._size > self._half:
            self._rotate()
        excess = self._size1 + self._size - self.limit_bytes
        if excess > 0:
            # path.1's start is derived (base - size1), so dropping its head keeps offsets right.
            keep = _read_range(self.rotated_path, excess, self._size1 - excess)
            tmp = self.rotated_path.with_name(self.rotated_path.name + ".tmp")
            tmp.write_bytes(keep)
            os.replace(tmp, self.rotated_path)
            self._size1 = len(keep)

    def _write_sidecar(self) -> None:
        """Persist "<base of path> <inode of path>" atomically."""
        ino = os.fstat(self._file.fileno()).st_ino
        tmp = self.sidecar_path.with_name(self.sidecar_path.name + ".tmp")
        tmp.write_text(f"{self._base} {ino}\n")
        os.replace(tmp, self.sidecar_path)

    def _recover_base(self) -> int:
        """Where `path` starts, from the sidecar, repairing a rotation cut short by a crash.

        The sidecar names the inode it describes. If that inode is now path.1, the launcher
        died after renaming but before rewriting the sidecar: path starts after path.1.
        """
        try:
            base_text, ino_text = self.sidecar_path.read_text().split()
            base, ino = int(base_text), int(ino_text)
        except (OSError, ValueError):
            # No (readable) sidecar: a fresh log, or one whose sidecar was lost; count from 0.
            return _size_or_zero(self.rotated_path)
        if ino != _inode_or_none(self.path) and ino == _inode_or_none(self.rotated_path):
            return base + _size_or_zero(self.rotated_path)
        return base


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _inode_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _read_range(path: Path, start: int, length: int) -> bytes:
    if length <= 0:
        return b""
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(length)
