"""Debian packages of the test guest: resolve versions, download, unpack.

Asks apt (`apt-cache show`) which version of each package is the candidate and
what it depends on, downloads the .debs with `apt-get download` into a cache
folder, and unpacks them with `dpkg-deb -x`. Nothing is ever installed on the
host. Called by build.py only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.guest import hosttools
from tests.guest.errors import (
    PackageDownloadError,
    PackageResolutionError,
    PackageUnpackError,
)

APT_LISTS = Path("/var/lib/apt/lists")


@dataclass(frozen=True)
class Package:
    """One binary package at the version apt would install."""

    name: str
    version: str
    arch: str
    depends: tuple[str, ...]

    @property
    def filename(self) -> str:
        """The file name `apt-get download` gives this package's .deb."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


def parse_depends(field: str) -> list[str]:
    """Package names of a Depends field; of alternatives only the first counts.

    >>> parse_depends("libc6 (>= 2.34), libglib2.0-0 (>= 2.56) | libfoo, perl:any")
    ['libc6', 'libglib2.0-0', 'perl']
    """
    names = []
    for item in field.split(","):
        first = item.split("|")[0].strip()
        if not first:
            continue
        name = re.split(r"[\s(\[<]", first, maxsplit=1)[0]
        names.append(name.split(":")[0])
    return names


def show(names: Iterable[str]) -> dict[str, Package]:
    """The candidate version of each named package; PackageResolutionError for
    a name apt does not know (or knows only as a virtual package)."""
    names = sorted(set(names))
    proc_out = _apt_cache_show(names)
    found: dict[str, Package] = {}
    for stanza in proc_out.split("\n\n"):
        fields = _fields(stanza)
        name = fields.get("Package")
        if not name or name in found:
            continue
        depends = parse_depends(fields.get("Pre-Depends", "")) + parse_depends(fields.get("Depends", ""))
        found[name] = Package(name, fields["Version"], fields.get("Architecture", "amd64"), tuple(depends))
    missing = [name for name in names if name not in found]
    if missing:
        raise PackageResolutionError(
            f"apt knows no installable candidate for Debian package {', '.join(missing)}; "
            "run 'apt-get update' and check /etc/apt/sources.list"
        )
    return found


def _apt_cache_show(names: list[str]) -> str:
    argv = [hosttools.require("apt-cache"), "show", "--no-all-versions", *names]
    # apt-cache exits non-zero when one name is unknown but still prints the
    # others; show() reports exactly which ones are missing.
    proc = subprocess.run(argv, env=hosttools.ENV, capture_output=True, text=True)
    return proc.stdout


def _fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in stanza.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def resolve_kernel(metapackage: str) -> Package:
    """The real linux-image-<abi>-<flavour> package a metapackage depends on."""
    meta = show([metapackage])[metapackage]
    for name in meta.depends:
        if re.fullmatch(r"linux-image-\d.*", name):
            return show([name])[name]
    raise PackageResolutionError(
        f"Debian package {metapackage} {meta.version} depends on no linux-image-<version> package"
    )


def resolve_closure(roots: Iterable[str], follow: Callable[[str], bool]) -> dict[str, Package]:
    """The roots and, recursively, those of their dependencies that `follow` accepts."""
    resolved: dict[str, Package] = {}
    wanted = set(roots)
    while wanted:
        level = show(wanted)
        resolved.update(level)
        wanted = {d for p in level.values() for d in p.depends if follow(d) and d not in resolved}
    return resolved


def is_library_package(name: str) -> bool:
    """Debian names shared-library packages after the library (lib*, and zlib1g)."""
    return name.startswith("lib") or name == "zlib1g"


def download(packages: Iterable[Package], debs_dir: Path, log: Callable[[str], None]) -> dict[str, Path]:
    """Each package's .deb in debs_dir, downloading the ones not there yet.

    Downloads land in a temporary folder first, so an interrupted download never
    leaves a truncated .deb under its final name."""
    debs_dir.mkdir(parents=True, exist_ok=True)
    packages = sorted(packages, key=lambda p: p.name)
    for package in packages:
        if (debs_dir / package.filename).exists():
            continue
        log(f"guest: downloading {package.name} {package.version}")
        with tempfile.TemporaryDirectory(dir=debs_dir, prefix=".partial-") as tmp:
            os.chmod(tmp, 0o755)
            hosttools.run(
                ["apt-get", "download", "-q", f"{package.name}={package.version}"],
                failure=f"Could not download Debian package {package.name} {package.version}",
                error=PackageDownloadError,
                cwd=Path(tmp),
            )
            fetched = Path(tmp) / package.filename
            if not fetched.exists():
                got = ", ".join(sorted(os.listdir(tmp))) or "nothing"
                raise PackageDownloadError(
                    f"Could not download Debian package {package.name} {package.version}: "
                    f"expected {package.filename}, apt-get wrote {got}"
                )
            os.replace(fetched, debs_dir / package.filename)
    return {p.name: debs_dir / p.filename for p in packages}


def unpack(deb: Path, dest: Path) -> None:
    """Extracts a .deb's files under dest (dpkg-deb -x; no maintainer scripts run)."""
    hosttools.run(
        ["dpkg-deb", "-x", str(deb), str(dest)],
        failure=f"Could not unpack {deb.name}",
        error=PackageUnpackError,
    )


def prune(debs_dir: Path, keep: Iterable[Package]) -> None:
    """Removes .debs of versions no longer used, so the cache does not grow forever."""
    wanted = {p.filename for p in keep}
    for path in debs_dir.glob("*.deb"):
        if path.name not in wanted:
            path.unlink(missing_ok=True)
    for path in debs_dir.glob(".partial-*"):
        shutil.rmtree(path, ignore_errors=True)


def index_fingerprint() -> str:
    """A cheap digest of apt's package lists (names, sizes, mtimes).

    When it is unchanged since the last build, apt would resolve the same
    versions, so build.py may reuse its images without asking apt (which takes
    about half a second per call)."""
    digest = hashlib.sha256()
    try:
        entries = sorted(os.scandir(APT_LISTS), key=lambda e: e.name)
    except FileNotFoundError:
        entries = []
    for entry in entries:
        if "Packages" in entry.name or "Release" in entry.name:
            st = entry.stat()
            digest.update(f"{entry.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()
