"""Paths a VMI chose, resolved inside a trusted directory without following any symbolic link.

Owns the one walk every tenant-influenced path takes (containerDisk.path, the
file under an image's /disk, kernelBoot kernelPath/initrdPath): component by
component from the trusted root with `openat(..., O_NOFOLLOW)`, refusing `..`,
`.`, symlinks and anything that is not the expected type. That is the
equivalent of `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` (ARCHITECTURE,
"Storage") that works on every kernel. Called by handler/storage only. Never
follows a link, never re-opens through /proc/self/fd, and never opens a device
node or a FIFO: the type is checked with `fstatat(AT_SYMLINK_NOFOLLOW)` first.

The answer is a path (QEMU and qemu-img open files by name) together with the
identity (device, inode) of the file that was checked; `still_same` lets a
caller confirm, after a slow step, that nothing was swapped in between.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from handler.errors import UnsafePathError, VolumeError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Checked:
    """A file or directory found beneath a root: its lexical path and its identity."""

    path: Path
    device: int
    inode: int
    mode: int
    size: int

    def still_same(self) -> bool:
        """Whether `path` still names the same object, reached without a symlink at the end."""
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (self.device, self.inode)


def components(relative: str, field: str) -> list[str]:
    """The names in a path inside an image (`/disk/a.qcow2` and `disk/a.qcow2` are the same)."""
    if "\0" in relative:
        raise UnsafePathError(field, "the path contains a NUL byte")
    names = [part for part in relative.split("/") if part]
    if not names:
        raise VolumeError(field, f"path {relative!r} names no file; give the absolute path of a "
                                 "file inside the image, like /disk/disk.qcow2")
    for part in names:
        if part in (".", ".."):
            raise UnsafePathError(field, f"path {relative!r} has a {part!r} component; give an "
                                         "absolute path inside the image without . or ..")
    return names


def find(root: Path, relative: str, field: str, *, want: str = "file", image: str = "") -> Checked:
    """`relative` beneath the trusted directory `root`; `want` is "file" (regular) or "directory".

    Refuses, with an error naming `field`: a `..` or `.` component, a symlink anywhere
    below `root`, a missing component, and an object of another type."""
    names = components(relative, field)
    where = f"image {image!r}" if image else str(root)
    shown = "/" + "/".join(names)
    fd = _open_dir_at(None, str(root), field, f"{where} ({root})")
    try:
        for depth, name in enumerate(names):
            last = depth == len(names) - 1
            so_far = "/" + "/".join(names[: depth + 1])
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise VolumeError(field, f"{so_far} does not exist in {where}") from None
            except OSError as e:
                raise VolumeError(field, f"cannot look at {so_far} in {where}: {e.strerror}") from None
            if stat.S_ISLNK(st.st_mode):
                raise UnsafePathError(field, f"{so_far} in {where} is a symbolic link; the node "
                                             "does not follow links inside an image, put the "
                                             "file itself there")
            if not last:
                if not stat.S_ISDIR(st.st_mode):
                    raise VolumeError(field, f"{so_far} in {where} is not a directory")
                fd = _reopen_dir(fd, name, field, f"{so_far} in {where}")
                continue
            if want == "directory":
                if not stat.S_ISDIR(st.st_mode):
                    raise VolumeError(field, f"{shown} in {where} is not a directory")
            elif not stat.S_ISREG(st.st_mode):
                raise VolumeError(field, f"{shown} in {where} is not a regular file")
            return Checked(Path(root, *names), st.st_dev, st.st_ino, st.st_mode, st.st_size)
    finally:
        os.close(fd)
    raise AssertionError("unreachable")  # components() never returns an empty list


def entries(directory: Checked, field: str) -> list[tuple[str, os.stat_result]]:
    """(name, lstat) of each entry of a directory found by `find`, sorted by name."""
    fd = _open_dir_at(None, str(directory.path), field, str(directory.path))
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (directory.device, directory.inode):
            raise UnsafePathError(field, f"{directory.path} changed while it was being read")
        return [(name, os.stat(name, dir_fd=fd, follow_symlinks=False))
                for name in sorted(os.listdir(fd))]
    finally:
        os.close(fd)


def _open_dir_at(dir_fd: int | None, name: str, field: str, what: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePathError(field, f"{what} is a symbolic link") from None
        raise VolumeError(field, f"cannot open {what}: {e.strerror}") from None


def _reopen_dir(fd: int, name: str, field: str, what: str) -> int:
    try:
        return _open_dir_at(fd, name, field, what)
    finally:
        os.close(fd)
