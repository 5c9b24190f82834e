"""The launcher user's access to /dev/net/tun and /dev/kvm: one POSIX ACL entry each.

Owns `grant_devices(uid)` and `revoke_devices(uid)`: they add (remove) a named
user entry `user:<uid>:rw-` to the access ACL of each device node, written
directly as the `system.posix_acl_access` extended attribute (the same bytes
`setfacl` writes; no extra package). Owner, group and the other users' access
are unchanged, so nothing but that one unprivileged user gains anything.
Called by the handler once at start (and by tests). Never changes a file that
is not a character device under /dev.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Iterable
from pathlib import Path

from handler.sandbox.errors import DeviceGrantError

LAUNCHER_DEVICES = (Path("/dev/net/tun"), Path("/dev/kvm"))

XATTR = "system.posix_acl_access"
ACL_VERSION = 2
UNDEFINED_ID = 0xFFFFFFFF
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")

Entry = tuple[int, int, int]  # (tag, perm, id)


def parse_acl(data: bytes) -> list[Entry]:
    """Entries of a system.posix_acl_access value (little-endian, version 2)."""
    (version,) = _HEADER.unpack_from(data)
    if version != ACL_VERSION or (len(data) - _HEADER.size) % _ENTRY.size:
        raise ValueError(f"Unknown POSIX ACL encoding (version {version}, {len(data)} bytes)")
    return [_ENTRY.unpack_from(data, off) for off in range(_HEADER.size, len(data), _ENTRY.size)]


def encode_acl(entries: Iterable[Entry]) -> bytes:
    """The xattr value of `entries`, sorted as the kernel requires (by tag, then id)."""
    ordered = sorted(entries, key=lambda e: (e[0], e[2]))
    return _HEADER.pack(ACL_VERSION) + b"".join(_ENTRY.pack(*e) for e in ordered)


def acl_from_mode(mode: int) -> list[Entry]:
    """The minimal ACL equal to the permission bits of `mode`."""
    return [
        (USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID),
        (GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID),
        (OTHER, mode & 7, UNDEFINED_ID),
    ]


def with_user(entries: list[Entry], uid: int, perm: int | None) -> list[Entry]:
    """`entries` with user:<uid> set to `perm` (None removes it) and the mask recomputed.

    With no named entries left the mask is dropped, so the kernel folds the ACL
    back into plain mode bits.
    """
    kept = [e for e in entries if e[0] != MASK and not (e[0] == USER and e[2] == uid)]
    if perm is not None:
        kept.append((USER, perm, uid))
    if any(tag in (USER, GROUP) for tag, _, _ in kept):
        mask = 0
        for tag, p, _ in kept:
            if tag in (USER, GROUP_OBJ, GROUP):
                mask |= p
        kept.append((MASK, mask, UNDEFINED_ID))
    return kept


def _current_acl(path: Path) -> list[Entry]:
    try:
        return parse_acl(os.getxattr(path, XATTR))
    except OSError as exc:
        if exc.errno != errno.ENODATA:  # no ACL beyond the mode bits
            raise
    return acl_from_mode(os.stat(path).st_mode)


def _set_user(path: Path, uid: int, perm: int | None) -> None:
    info = os.stat(path)
    if not stat.S_ISCHR(info.st_mode) or path.parent.parts[:2] != ("/", "dev"):
        raise DeviceGrantError(f"Refusing to change the ACL of {path}: not a character device under /dev")
    try:
        entries = with_user(_current_acl(path), uid, perm)
        os.setxattr(path, XATTR, encode_acl(entries))
    except (OSError, ValueError) as exc:
        raise DeviceGrantError(f"Failed to change the ACL of {path} for uid {uid}: {exc}") from exc


def grant_devices(uid: int, devices: Iterable[Path] = LAUNCHER_DEVICES) -> list[Path]:
    """Give user `uid` read-write access to each device node that exists; the ones granted."""
    granted = []
    for path in devices:
        if path.exists():
            _set_user(path, uid, 6)
            granted.append(path)
    return granted


def revoke_devices(uid: int, devices: Iterable[Path] = LAUNCHER_DEVICES) -> None:
    """Remove user `uid`'s entry from each device node's ACL (absent entries are fine)."""
    for path in devices:
        if path.exists():
            _set_user(path, uid, None)


def has_grant(uid: int, path: Path) -> bool:
    """True when `path`'s ACL names user `uid`."""
    return any(tag == USER and ident == uid for tag, _, ident in _current_acl(path))
