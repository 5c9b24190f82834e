"""Running the host programs the guest build needs (apt, dpkg-deb, mtools, ...).

Owns the map from program to the Debian package that provides it, so a missing
tool is reported with what to install. Used by the other modules of
tests/guest; it never installs anything itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.guest.errors import GuestBuildError, MissingToolError

# Program -> Debian package that installs it on the host.
PROVIDERS = {
    "apt-get": "apt",
    "apt-cache": "apt",
    "dpkg-deb": "dpkg",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "syslinux": "syslinux",
    "qemu-img": "qemu-utils",
    "xorriso": "xorriso",
}

# Files (not programs) the build reads from host packages.
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")  # syslinux-common

ENV = {**os.environ, "LC_ALL": "C", "MTOOLS_SKIP_CHECK": "1", "DEBIAN_FRONTEND": "noninteractive"}


def require(program: str) -> str:
    """The full path of `program`, or MissingToolError naming its Debian package."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        package = PROVIDERS.get(program, program)
        raise MissingToolError(
            f"The test guest build needs {program} (Debian package {package}); "
            f"install it with 'apt-get install {package}' or run 'make install' as root"
        )
    return path


def run(
    argv: list[str],
    *,
    failure: str,
    error: type[GuestBuildError],
    cwd: Path | None = None,
) -> str:
    """Runs argv and returns its stdout; on failure raises `error` with the sentence
    `failure` followed by the last lines the tool printed."""
    argv = [require(argv[0]), *argv[1:]]
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise error(f"{failure}: {last_words(proc.stderr or proc.stdout)}")
    return proc.stdout


def last_words(output: str, lines: int = 3) -> str:
    """The last few non-empty lines of a tool's output, joined, for an error message."""
    kept = [line.strip() for line in output.splitlines() if line.strip()]
    return " / ".join(kept[-lines:]) or "no output"
