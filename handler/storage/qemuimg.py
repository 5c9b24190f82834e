"""qemu-img, the node's one image tool: inspect an image, create an overlay or an empty disk.

Owns every qemu-img call of the handler and the translation of its failures
into ImageToolError (naming the VMI field the image belongs to). Called by
handler/storage/volumes.py. When the handler runs as root, qemu-img runs as the
VM's user (the uid QEMU runs as), so probing an image a tenant supplied can
never open a file that QEMU itself could not: a crafted image that points at a
host file gets "permission denied", not root's read. Never writes an image it
was not asked to create, and never lets qemu-img open a backing file (`-u`):
the base's size comes from `info`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from handler.errors import ImageToolError

QEMU_IMG = "qemu-img"
TIMEOUT = 120  # seconds; info and create of a sparse image take milliseconds


@dataclass(frozen=True)
class Owner:
    """The uid/gid QEMU runs as: it owns what the node creates for the guest."""

    uid: int
    gid: int


@dataclass(frozen=True)
class ImageInfo:
    """What `qemu-img info` probed (the format is read from the content, never the name)."""

    format: str
    virtual_size: int
    backing: str | None
    backing_format: str | None
    data_file: str | None


def info(path: Path, field: str, owner: Owner) -> ImageInfo:
    """Probes `path` (no backing chain; shared lock, so an image in use can be read)."""
    out = _run(["info", "--output=json", "-U", str(path)], field, owner, f"inspect {path}")
    try:
        data = json.loads(out)
        specific = (data.get("format-specific") or {}).get("data") or {}
        return ImageInfo(format=str(data["format"]), virtual_size=int(data["virtual-size"]),
                         backing=data.get("backing-filename"),
                         backing_format=data.get("backing-filename-format"),
                         data_file=specific.get("data-file"))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ImageToolError(field, f"qemu-img info gave an answer the node cannot read for "
                                    f"{path}: {e}") from None


def create_overlay(path: Path, base: Path, base_format: str, size: int, field: str,
                   owner: Owner) -> None:
    """Formats `path` (which exists, owned by `owner`) as a qcow2 overlay backed by `base`."""
    _run(["create", "-q", "-f", "qcow2", "-u", "-b", str(base), "-F", base_format,
          str(path), str(size)], field, owner, f"create an overlay on {base}")


def create_empty(path: Path, size: int, field: str, owner: Owner) -> None:
    """Formats `path` (which exists, owned by `owner`) as an empty, sparse qcow2 of `size` bytes."""
    _run(["create", "-q", "-f", "qcow2", str(path), str(size)], field, owner,
         f"create an empty disk of {size} bytes")


def _run(args: list[str], field: str, owner: Owner, what: str) -> str:
    drop = os.geteuid() == 0 and owner.uid != 0
    try:
        done = subprocess.run(
            [QEMU_IMG, *args], capture_output=True, text=True, timeout=TIMEOUT, cwd="/",
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
            **({"user": owner.uid, "group": owner.gid, "extra_groups": []} if drop else {}))
    except FileNotFoundError:
        raise ImageToolError(field, f"cannot {what}: {QEMU_IMG} is not installed on this node "
                                    "(Debian package qemu-utils)") from None
    except subprocess.TimeoutExpired:
        raise ImageToolError(field, f"cannot {what}: qemu-img did not finish within "
                                    f"{TIMEOUT} s") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().removeprefix("qemu-img: ")
        if "Permission denied" in said and drop:
            said += (f" (qemu-img ran as uid {owner.uid}, the user QEMU runs as: it must be able "
                     "to reach and read the image)")
        raise ImageToolError(field, f"cannot {what}: {said or f'qemu-img exited {done.returncode}'}")
    return done.stdout
