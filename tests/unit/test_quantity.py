"""Kubernetes quantities: exact values, Kubernetes' rounding, and errors that say what is allowed."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protos import quantity
from protos.kubevirt.v1.meta_pb2 import Quantity


@pytest.mark.parametrize(("text", "value"), [
    ("4Gi", 4 * 1024**3),
    ("1024M", 1024 * 10**6),
    ("1.5Gi", 1610612736),
    ("500m", Fraction(1, 2)),
    ("2", 2),
    ("0.1", Fraction(1, 10)),
    (".5", Fraction(1, 2)),
    ("5.", 5),
    ("1e3", 1000),
    ("1E-3", Fraction(1, 1000)),
    ("+64Ki", 65536),
    ("-1k", -1000),
    ("1Ei", 1024**6),
    ("128974848", 128974848),
    ("129e6", 129000000),
    ("123Mi", 123 * 1024**2),
])
def test_parse_is_exact(text: str, value) -> None:
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", ["", "Gi", "1.5.5", "4GB", "4 Gi", "1e", "0x10", "1Ki5", "--1", "4gi"])
def test_malformed_quantities_name_the_grammar(text: str) -> None:
    with pytest.raises(quantity.QuantityError) as e:
        quantity.parse(text)
    assert repr(text) in str(e.value)
    assert "Gi" in str(e.value) and "500m" in str(e.value)


def test_huge_exponent_is_refused_before_computing_it() -> None:
    with pytest.raises(quantity.QuantityError, match="exponent out of range"):
        quantity.parse("1e999999999")


def test_rounding_up_like_kubernetes() -> None:
    assert quantity.to_bytes("0.5") == 1
    assert quantity.to_bytes("1.5Gi") == 1610612736
    assert quantity.to_millis("0.0001") == 1
    assert quantity.to_millis("2") == 2000
    assert quantity.to_millis("250m") == 250


def test_accepts_messages_and_integers() -> None:
    assert quantity.to_bytes(Quantity(value="1Mi")) == 1048576
    assert quantity.parse(3) == 3
    with pytest.raises(quantity.QuantityError):
        quantity.parse(True)


@given(st.decimals(min_value=-10**12, max_value=10**12, allow_nan=False, allow_infinity=False,
                   places=6),
       st.sampled_from(["", "k", "M", "G", "Ki", "Mi", "Gi", "m"]))
def test_decimal_text_equals_exact_decimal_value(number: Decimal, suffix: str) -> None:
    """Whatever decimal text a user writes, its value is the exact decimal times the suffix."""
    multiplier = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 1024, "Mi": 1024**2,
                  "Gi": 1024**3, "m": Fraction(1, 1000)}[suffix]
    text = format(number, "f") + suffix
    assert quantity.parse(text) == Fraction(number) * multiplier
