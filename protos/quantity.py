"""Kubernetes resource quantities, parsed exactly.

Owns the grammar of a quantity (`4Gi`, `1024M`, `1.5Gi`, `500m`, `2`, `1e3`)
and its value as an exact `fractions.Fraction`: no floating point anywhere, so
`1.5Gi` is 1610612736 bytes and `0.1` plus `0.2` is `0.3`. The API model keeps a
quantity as the text the user wrote (`Quantity.value`); everything that needs
its size calls `parse`, `to_bytes` or `to_millis` here.

The grammar is Kubernetes' (k8s.io/apimachinery resource.Quantity):

    quantity  ::= [+-] number suffix
    number    ::= digits | digits "." [digits] | "." digits
    suffix    ::= binarySI | decimalSI | ("e" | "E") [+-] digits
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei        (powers of 1024)
    decimalSI ::= m | "" | k | M | G | T | P | E     (powers of 1000)

Like Kubernetes, `to_bytes` and `to_millis` round a fraction up to the next
whole unit.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = ["QuantityError", "parse", "to_bytes", "to_millis", "text_of", "ALLOWED"]

ALLOWED = ("a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), "
           "m, k, M, G, T, P, E (powers of 1000) or an exponent like e3; "
           "for example 4Gi, 1024M, 1.5Gi, 500m")

_BINARY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6}
_DECIMAL = {"m": Fraction(1, 1000), "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
            "P": 10**15, "E": 10**18}

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE](?P<exp>[+-]?[0-9]+))?")

# Kubernetes refuses exponents this large; so do we, before Fraction would
# build a number with millions of digits.
_MAX_EXPONENT = 1000


class QuantityError(ValueError):
    """A text is not a Kubernetes quantity; the message says what is allowed."""


def text_of(value) -> str:
    """The quantity's text, from a Quantity message, a str, or an int."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity; expected {ALLOWED}")
    if isinstance(value, int):
        return str(value)
    text = getattr(value, "value", None)
    if isinstance(text, str):
        return text
    raise QuantityError(f"{value!r} is not a quantity; expected {ALLOWED}")


def parse(value) -> Fraction:
    """The exact value of a quantity (a str, an int, or a Quantity message)."""
    text = text_of(value)
    m = _QUANTITY.fullmatch(text)
    if m is None or not (m["int"] or m["frac"]):
        raise QuantityError(f"{text!r} is not a quantity; expected {ALLOWED}")
    digits = (m["int"] or "") + (m["frac"] or "")
    number = Fraction(int(digits), 10 ** len(m["frac"] or ""))
    if m["exp"] is not None:
        exponent = int(m["exp"])
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(f"{text!r} has an exponent out of range; "
                                f"use one between -{_MAX_EXPONENT} and {_MAX_EXPONENT}")
        number *= Fraction(10) ** exponent
    else:
        suffix = m["suffix"] or ""
        number *= _BINARY.get(suffix) or _DECIMAL[suffix]
    return -number if m["sign"] == "-" else number


def to_bytes(value) -> int:
    """A quantity as a whole number (bytes for memory), rounded up like Kubernetes' Value()."""
    return math.ceil(parse(value))


def to_millis(value) -> int:
    """A quantity in thousandths (millicores for cpu), rounded up like Kubernetes' MilliValue()."""
    return math.ceil(parse(value) * 1000)
