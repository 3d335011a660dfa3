from __future__ import annotations

from decimal import Decimal

import pytest

from backbeat.domain.money import (
    cost_per_impression,
    ecpm,
    format_money,
    from_micros,
    to_micros,
)
from backbeat.errors import ValidationFailed


def test_to_micros_is_exact() -> None:
    assert to_micros("2.50", "bid") == 2_500_000
    assert to_micros(Decimal("0.000001"), "x") == 1
    assert to_micros(12, "x") == 12_000_000
    assert from_micros(2_500_000) == Decimal("2.5")


@pytest.mark.parametrize("value", [0.1, "abc", "1e400000", "NaN", "0.0000001", True])
def test_to_micros_refuses_floats_junk_and_excess_precision(value: object) -> None:
    with pytest.raises(ValidationFailed) as exc:
        to_micros(value, "budget")
    assert exc.value.fields[0].field == "budget"


def test_cost_per_impression_of_floor_cpm() -> None:
    assert cost_per_impression(2_500_000) == 2_500  # $0.0025 per impression
    assert sum(cost_per_impression(2_500_000) for _ in range(1000)) == 2_500_000
    with pytest.raises(ValueError):
        cost_per_impression(2_500_001)


def test_format_and_ecpm() -> None:
    assert format_money(1_234_500_000) == "$1,234.50"
    assert format_money(12_000_000, "EUR") == "12.00 EUR"
    assert ecpm(25_000_000, 10_000) == Decimal("2.5")
    assert ecpm(0, 0) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e1000000", "amounts above"),  # overflowed the decimal context: a 500 before
        ("-1e999999999999999999", "amounts above"),
        ("1e-999999999", "decimal places"),  # rounded to a valid zero before
        ("0.0000001", "decimal places"),
    ],
)
def test_extreme_exponents_are_refused_by_name(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        to_micros(text, "v")
    assert err.value.fields[0].field == "v" and reason in err.value.fields[0].reason


def test_trailing_zeros_and_zero_with_any_exponent_are_plain_amounts() -> None:
    assert to_micros("24.990000000", "v") == 24_990_000
    assert to_micros("0e-999999999", "v") == 0
    assert to_micros("1E+3", "v") == 1_000_000_000
    assert to_micros("1000000000000", "v") == 10**18
