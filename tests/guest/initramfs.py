"""The guest's initramfs: kernel modules, shared libraries and the cpio archive.

Reads what it needs from the unpacked Debian tree: module dependencies from each
.ko's `.modinfo` section (Debian's kernel package ships no modules.dep; depmod
runs in its postinst, which we never run), built-in modules from
modules.builtin, and the DT_NEEDED libraries of dynamically linked programs.
Writes a gzip-compressed cpio (newc) archive in pure Python, so building needs
no root and no device nodes on the host. Called by build.py only.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.guest.errors import KernelModuleError, LibraryResolutionError

# Where a multiarch Debian tree keeps x86-64 shared libraries.
LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "usr/lib64", "lib", "usr/lib")


# --- ELF ------------------------------------------------------------------


@dataclass
class ElfInfo:
    """What the guest build needs to know about one ELF file."""

    interpreter: str | None = None
    needed: list[str] = field(default_factory=list)
    sections: dict[str, bytes] = field(default_factory=dict)


def read_elf(path: Path, want_sections: Iterable[str] = ()) -> ElfInfo:
    """Parses a little-endian ELF64 file: PT_INTERP, DT_NEEDED and named sections."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise LibraryResolutionError(f"{path} is not a little-endian 64-bit ELF file")
    (phoff, shoff) = struct.unpack_from("<QQ", data, 0x20)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from("<HHHHH", data, 0x36)
    info = ElfInfo()
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            info.interpreter = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode()
    sections = []
    for i in range(shnum):
        sh = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        sections.append(sh)  # name, type, flags, addr, offset, size, link, info, align, entsize
    if not sections:
        return info
    names_off = sections[shstrndx][4]

    def name_of(sh: tuple) -> str:
        start = names_off + sh[0]
        return data[start : data.index(b"\0", start)].decode()

    wanted = set(want_sections)
    for sh in sections:
        name = name_of(sh)
        if name in wanted:
            info.sections[name] = data[sh[4] : sh[4] + sh[5]]
        if sh[1] == 6:  # SHT_DYNAMIC
            strtab = sections[sh[6]]
            for off in range(sh[4], sh[4] + sh[5], 16):
                tag, val = struct.unpack_from("<qQ", data, off)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    start = strtab[4] + val
                    info.needed.append(data[start : data.index(b"\0", start)].decode())
    return info


def resolve_libraries(program: Path, root: Path) -> dict[str, Path]:
    """soname (and the ELF interpreter's path) -> file in the unpacked tree, for
    every library `program` needs, directly or through other libraries."""
    found: dict[str, Path] = {}
    info = read_elf(program)
    if info.interpreter:
        interp = root / info.interpreter.lstrip("/")
        if not interp.exists():
            interp = _find_library(Path(info.interpreter).name, root)
        if interp is None:
            raise LibraryResolutionError(
                f"The ELF interpreter {info.interpreter} of {program.name} is in none of the downloaded packages"
            )
        found[info.interpreter] = interp
    queue = [(name, program.name) for name in info.needed]
    while queue:
        soname, needed_by = queue.pop()
        if soname in found:
            continue
        path = _find_library(soname, root)
        if path is None:
            raise LibraryResolutionError(
                f"The shared library {soname} needed by {needed_by} is in none of the downloaded packages"
            )
        found[soname] = path
        queue.extend((name, soname) for name in read_elf(path).needed)
    return found


def _find_library(soname: str, root: Path) -> Path | None:
    for folder in LIBRARY_DIRS:
        candidate = root / folder / soname
        if candidate.exists():
            resolved = candidate.resolve()
            if root.resolve() in resolved.parents:
                return resolved
    return None


# --- kernel modules ---------------------------------------------------------


class ModuleTree:
    """The modules of one unpacked kernel: lib/modules/<version>/."""

    def __init__(self, root: Path, kernel_version: str):
        self.base = root / "lib" / "modules" / kernel_version
        if not self.base.is_dir():
            raise KernelModuleError(f"The kernel package has no lib/modules/{kernel_version} folder")
        self.files = {_canonical(p.name.split(".ko")[0]): p for p in self.base.rglob("*.ko*")}
        builtin = self.base / "modules.builtin"
        self.builtin = {
            _canonical(Path(line.strip()).name.split(".ko")[0])
            for line in (builtin.read_text().splitlines() if builtin.exists() else [])
            if line.strip()
        }

    def depends(self, name: str) -> list[str]:
        """The modules `name` needs loaded first (its modinfo `depends=`)."""
        path = self.files[name]
        data = read_elf(_decompressed(path), [".modinfo"]).sections.get(".modinfo", b"")
        for entry in data.split(b"\0"):
            if entry.startswith(b"depends="):
                return [_canonical(d) for d in entry[8:].decode().split(",") if d]
        return []

    def load_order(self, wanted: Iterable[str]) -> list[tuple[str, Path]]:
        """(name, .ko) for the wanted modules and their dependencies, each after
        what it depends on; built-in ones are left out."""
        order: list[tuple[str, Path]] = []
        seen: set[str] = set()

        def visit(name: str, chain: tuple[str, ...]) -> None:
            name = _canonical(name)
            if name in seen or name in self.builtin:
                return
            if name not in self.files:
                via = f" (needed by {chain[-1]})" if chain else ""
                raise KernelModuleError(
                    f"Kernel module {name}{via} is neither built into the kernel nor shipped in lib/modules"
                )
            seen.add(name)
            for dep in self.depends(name):
                visit(dep, (*chain, name))
            order.append((name, self.files[name]))

        for name in wanted:
            visit(name, ())
        return order


def _canonical(name: str) -> str:
    return name.replace("-", "_")


def _decompressed(path: Path) -> Path:
    if path.suffix == ".ko":
        return path
    raise KernelModuleError(f"Compressed kernel modules are not supported yet: {path.name}")


# --- cpio (newc) --------------------------------------------------------------

S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR = 0o040000, 0o100000, 0o120000, 0o020000


class CpioArchive:
    """An in-memory newc cpio archive, the format the kernel unpacks as initramfs.

    Entries are owned by root with mtime 0, so the same inputs give the same bytes."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._ino = 0
        self._dirs: set[str] = set()

    def directory(self, path: str, mode: int = 0o755) -> None:
        path = path.strip("/")
        if not path or path in self._dirs:
            return
        self._parents(path)
        self._dirs.add(path)
        self._entry(path, S_IFDIR | mode, b"")

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        path = path.strip("/")
        self._parents(path)
        self._entry(path, S_IFREG | mode, data)

    def symlink(self, path: str, target: str) -> None:
        path = path.strip("/")
        self._parents(path)
        self._entry(path, S_IFLNK | 0o777, target.encode())

    def char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        path = path.strip("/")
        self._parents(path)
        self._entry(path, S_IFCHR | mode, b"", rdev=(major, minor))

    def gzipped(self) -> bytes:
        """The finished archive (with its TRAILER!!! entry), gzip-compressed."""
        self._entry("TRAILER!!!", 0, b"", ino=0)
        return gzip.compress(self._out.getvalue(), compresslevel=6, mtime=0)

    def _parents(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        if parent:
            self.directory(parent)

    def _entry(self, name: str, mode: int, data: bytes, rdev: tuple[int, int] = (0, 0), ino: int | None = None) -> None:
        if ino is None:
            self._ino += 1
            ino = self._ino
        encoded = name.encode() + b"\0"
        nlink = 2 if mode & 0o170000 == S_IFDIR else 1
        fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self._out.write(header + encoded)
        self._pad()
        self._out.write(data)
        self._pad()

    def _pad(self) -> None:
        self._out.write(b"\0" * (-self._out.tell() % 4))
