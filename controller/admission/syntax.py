"""Syntax of the values admission checks: names, keys, addresses, encodings.

Owns the small predicates that say whether a string is a DNS-1123 label, a
Kubernetes qualified name, a MAC or PCI address, a UUID, base64, an absolute
path; and reading a Quantity without raising. Each predicate returns the
problem as a sentence (or None), so rules only choose the path. Pure functions;
never builds FieldCauses or knows which field it is looking at.
"""

from __future__ import annotations

import base64
import binascii
import re
from fractions import Fraction

from protos import quantity
from controller.admission.messages import quoted

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NAME_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}")
_PCI = re.compile(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SERIAL = re.compile(r"[A-Za-z0-9_.+-]+")

LABEL_RULE = ("at most 63 lowercase letters, digits and '-', starting and ending with a "
              "letter or digit")
SUBDOMAIN_RULE = ("at most 253 characters of lowercase letters, digits, '-' and '.', each "
                  "dot-separated part starting and ending with a letter or digit")
NAME_PART_RULE = ("at most 63 letters, digits, '-', '_' and '.', starting and ending with a "
                  "letter or digit")


def dns_label(value: str) -> str | None:
    """Why value is not a DNS-1123 label (hostnames, port names), or None."""
    if len(value) > 63 or not _LABEL.fullmatch(value):
        return f"{quoted(value)} is not a DNS-1123 label; use {LABEL_RULE}"
    return None


def dns_subdomain(value: str) -> str | None:
    """Why value is not a DNS-1123 subdomain (object names), or None."""
    if len(value) > 253 or not _SUBDOMAIN.fullmatch(value):
        return f"{quoted(value)} is not a DNS-1123 subdomain; use {SUBDOMAIN_RULE}"
    return None


def qualified_name(key: str) -> str | None:
    """Why key is not a label/annotation key (`[prefix/]name`), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        return (f"key {quoted(key)} has an invalid prefix; the part before '/' must be a DNS-1123 "
                f"subdomain ({SUBDOMAIN_RULE})")
    if not name or len(name) > 63 or not _NAME_PART.fullmatch(name):
        return f"key {quoted(key)} is not a qualified name; use an optional DNS prefix and '/', then {NAME_PART_RULE}"
    return None


def label_value(value: str) -> str | None:
    """Why value is not a label value (empty is allowed), or None."""
    if value and (len(value) > 63 or not _NAME_PART.fullmatch(value)):
        return f"label value {quoted(value)} is not valid; use an empty value or {NAME_PART_RULE}"
    return None


def mac_address(value: str) -> str | None:
    """Why value is not a unicast 48-bit MAC address, or None."""
    if not _MAC.fullmatch(value):
        return (f"{quoted(value)} is not a MAC address; use six pairs of hex digits separated by "
                f"':' or '-', like 02:00:00:00:00:01")
    return None


def mac_is_multicast(value: str) -> bool:
    """True when a well-formed MAC has the multicast bit (least significant bit of octet 1) set."""
    return bool(int(value[:2], 16) & 1)


def pci_address(value: str) -> str | None:
    """Why value is not a PCI address `dddd:bb:ss.f`, or None."""
    if not _PCI.fullmatch(value):
        return (f"{quoted(value)} is not a PCI address; use domain:bus:slot.function in hex, "
                f"like 0000:81:01.0")
    return None


def uuid_text(value: str) -> str | None:
    """Why value is not a UUID in its canonical 8-4-4-4-12 form, or None."""
    if not _UUID.fullmatch(value):
        return (f"{quoted(value)} is not a UUID; use 32 hex digits grouped 8-4-4-4-12, like "
                f"5b1e2c0a-34f1-4f9e-9a0e-1f2b3c4d5e6f")
    return None


def serial(value: str) -> str | None:
    """Why value is not a serial number KubeVirt accepts, or None."""
    if len(value) > 256 or not _SERIAL.fullmatch(value):
        return (f"serial {quoted(value)} is not valid; use at most 256 letters, digits, '_', '.', "
                f"'+' and '-'")
    return None


def base64_text(value: str) -> str | None:
    """Why value is not standard base64 (line breaks are ignored, as Go's decoder does), or None."""
    try:
        base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64; use standard base64 (A-Z, a-z, 0-9, '+', '/', '=' padding)"
    return None


def absolute_file_path(value: str) -> str | None:
    """Why value is not an absolute path to a file with no '.' or '..' parts, or None."""
    parts = value.split("/")
    if not value.startswith("/") or value.rstrip("/") == "" or any(p in (".", "..") for p in parts[1:]) \
            or value.endswith("/"):
        return (f"path {quoted(value)} is not allowed; use an absolute path to a file, without "
                f"'.' or '..' components and not '/' itself")
    return None


def quantity_value(q) -> Fraction | None:
    """The exact value of a Quantity message, or None when it does not parse.

    Unparsable quantities are reported once, by the quantity-invalid rule; every
    other rule reads through this and skips what it cannot compare.
    """
    try:
        return quantity.parse(q)
    except quantity.QuantityError:
        return None


def quantity_problem(q) -> str | None:
    """QuantityError's message for an unparsable Quantity, or None."""
    try:
        quantity.parse(q)
    except quantity.QuantityError as e:
        return str(e)
    return None


def show(value: Fraction) -> str:
    """A quantity value for a message: an integer when whole, else a decimal."""
    if value.denominator == 1:
        return str(value.numerator)
    return str(float(value))
