"""Guest PCI addresses requested in the spec (disks[i].disk.pciAddress, interfaces[i].pciAddress).

Owns turning `dddd:bb:ss.f` into libvirt's <address type='pci' .../> and the
<source><address/></source> of an assigned host device. Never allocates addresses:
libvirt places every device the spec does not pin.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launcher.domain.causes import Causes
from launcher.domain.context import PCI_ADDRESS
from launcher.domain.xmlwriter import element


def pci_attrs(text: str) -> dict[str, str] | None:
    m = PCI_ADDRESS.match(text)
    if not m:
        return None
    domain, bus, slot, function = m.groups()
    return {"domain": f"0x{domain.lower()}", "bus": f"0x{bus.lower()}",
            "slot": f"0x{slot.lower()}", "function": f"0x{function}"}


def guest_pci_address(text: str, path: str, causes: Causes) -> ET.Element | None:
    """<address type='pci' .../> for a pciAddress the user wrote, or a cause."""
    if not text:
        return None
    attrs = pci_attrs(text)
    if attrs is None:
        causes.invalid(path, f"PCI address \"{text}\" is not of the form dddd:bb:ss.f "
                       "(for example 0000:81:01.0)")
        return None
    return element("address", {"type": "pci", **attrs})
