"""ISO 9660 images with Joliet and Rock Ridge names, written in-process (pycdlib behind it).

Owns turning a small set of files (`{"openstack/latest/user_data": b"..."}`)
into the bytes of a CD image with a volume id, the way `genisoimage -J -R
-V <id>` lays it out: cloud-init's NoCloud (`cidata`) and ConfigDrive
(`config-2`) data sources read such images, and so does any Linux guest with
isofs. Called by handler/storage/volumes.py. Never touches the filesystem
except the open file it is given; pycdlib's exceptions do not leave this module.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import BinaryIO

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

SYSTEM_ID = "LINUX"
APPLICATION_ID = "virtnode"
# Zeros after the image, as xorriso's -pad writes them: filesystem probers read past the end
# of a device (busybox's volume_id, which the guest's `findfs LABEL=cidata` uses, gives up on
# a 66 KiB seed whose end a btrfs/reiserfs probe overruns).
PADDING = 300 * 1024
_NOT_D_CHARACTER = re.compile(r"[^A-Z0-9_]")


class IsoWriteError(Exception):
    """pycdlib refused the layout (a name, a volume id); the caller names the volume."""


def iso9660_name(name: str, directory: bool = False) -> str:
    """The ISO 9660 (level 3) spelling of a name: d-characters, one dot, `;1` on files.

    `meta-data` -> `META_DATA.;1`, `meta_data.json` -> `META_DATA.JSON;1`; the real
    name is kept in the Joliet and Rock Ridge records, which is what guests read."""
    stem, dot, extension = name.upper().rpartition(".") if "." in name else (name.upper(), "", "")
    stem = _NOT_D_CHARACTER.sub("_", stem)[:30] or "_"
    if directory:
        return _NOT_D_CHARACTER.sub("_", name.upper())[:31]
    extension = _NOT_D_CHARACTER.sub("_", extension)[: 30 - len(stem)]
    return f"{stem}.{extension};1"


def write_iso(out: BinaryIO, volume_id: str, files: Mapping[str, bytes]) -> None:
    """Writes an ISO holding `files` (relative paths, `/`-separated) with `volume_id` to `out`
    (a file opened for reading and writing), followed by PADDING zero bytes."""
    iso = pycdlib.PyCdlib()
    try:
        iso.new(interchange_level=3, sys_ident=SYSTEM_ID, vol_ident=volume_id,
                app_ident_str=APPLICATION_ID, joliet=3, rock_ridge="1.09")
    except PyCdlibException as e:
        raise IsoWriteError(str(e)) from None
    try:
        made: set[tuple[str, ...]] = set()
        for relative in sorted(files):
            parts = relative.split("/")
            for depth in range(1, len(parts)):
                folder = tuple(parts[:depth])
                if folder in made:
                    continue
                iso.add_directory(
                    "/" + "/".join(iso9660_name(p, directory=True) for p in folder),
                    rr_name=folder[-1], joliet_path="/" + "/".join(folder))
                made.add(folder)
            data = files[relative]
            iso_path = "/" + "/".join([*(iso9660_name(p, True) for p in parts[:-1]),
                                       iso9660_name(parts[-1])])
            iso.add_fp(io.BytesIO(data), len(data), iso_path, rr_name=parts[-1],
                       joliet_path="/" + relative, file_mode=0o100444)
        iso.write_fp(out)
        end = out.seek(0, io.SEEK_END)
        out.truncate(end + PADDING)
    except PyCdlibException as e:
        raise IsoWriteError(str(e)) from None
    finally:
        iso.close()
