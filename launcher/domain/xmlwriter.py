"""Building and printing the domain document with xml.etree, deterministically.

Owns the element helper every part of the conversion uses and the one printer:
two-space indentation, attributes in the order they were given, no XML
declaration, a trailing newline. The same VMI and context always print the same
bytes, which is what lets golden files be compared byte for byte. Never
interprets what it writes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

Attrs = dict[str, "str | int | bool | None"]


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def element(tag: str, attrs: Attrs | None = None, *children: ET.Element | None,
            text: str | int | None = None) -> ET.Element:
    """<tag attrs...>text or children</tag>; attributes and children that are None are left out.

    A bool attribute is written yes/no (libvirt's spelling for most switches).
    """
    node = ET.Element(tag)
    for key, value in (attrs or {}).items():
        if value is not None:
            node.set(key, _text(value))
    if text is not None:
        node.text = _text(text)
    append(node, children)
    return node


def append(parent: ET.Element, children: Iterable[ET.Element | None]) -> ET.Element:
    """Appends the children that are not None; returns the parent."""
    for child in children:
        if child is not None:
            parent.append(child)
    return parent


def on_off(value: bool) -> str:
    return "on" if value else "off"


def render(root: ET.Element) -> str:
    """The document as text: indented by two spaces, ending in a newline."""
    ET.indent(root, space="  ")
    # ElementTree writes "<acpi />"; libvirt and its docs write "<acpi/>". Text and
    # attribute values never hold " />" (">" is escaped), so this touches only tags.
    return ET.tostring(root, encoding="unicode").replace(" />", "/>") + "\n"
