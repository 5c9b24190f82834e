"""Errors of the test guest build: one class per way the build can fail.

Raised by `build`, `debs`, `initramfs`, `bootdisk` and `nocloud`; the
command line of `build.py` prints their message and exits non-zero, without a
traceback. Each message is a sentence that names what failed.
"""

from __future__ import annotations


class GuestBuildError(Exception):
    """The test guest could not be built."""


class MissingToolError(GuestBuildError):
    """A host program the build runs is not installed."""


class PackageResolutionError(GuestBuildError):
    """apt does not know a package the guest is made of."""


class PackageDownloadError(GuestBuildError):
    """apt-get download failed for a package."""


class PackageUnpackError(GuestBuildError):
    """dpkg-deb could not unpack a downloaded package."""


class KernelModuleError(GuestBuildError):
    """A kernel module the guest needs is missing from the kernel package."""


class LibraryResolutionError(GuestBuildError):
    """A shared library a guest binary needs is in none of the downloaded packages."""


class ImageAssemblyError(GuestBuildError):
    """A host tool failed while writing the initramfs, the disk or a seed."""
