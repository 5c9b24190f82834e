"""VMI -> libvirt domain XML: a pure function, golden-tested.

Owns the conversion of a defaulted VirtualMachineInstance plus the node's
DomainContext into the domain XML the launcher defines in its private libvirt
daemon (docs/domain.md has the mapping, the defaults and what is rejected).
Called by the launcher's sync command; never imports libvirt or controller/,
never touches files or sockets, and reports every problem at once as one
ConversionError whose causes carry the VMI field paths.
"""

from __future__ import annotations

from launcher.domain.context import (DiskSource, DomainContext, FirmwareFiles, HostDeviceMdev,
                                     HostDevicePCI, KernelBootFiles, PreparedInterface)
from launcher.domain.document import domain_name, to_domain_element, to_domain_xml

__all__ = ["DomainContext", "DiskSource", "PreparedInterface", "KernelBootFiles", "FirmwareFiles",
           "HostDevicePCI", "HostDeviceMdev", "to_domain_xml", "to_domain_element", "domain_name"]
