"""Exact money: amounts are integer micros (1 USD = 1_000_000 micros). Never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from backbeat.errors import ValidationFailed

MICROS = 1_000_000
Micros = int
# Keeps every stored amount inside a signed 64-bit integer of micros.
MAX_AMOUNT = 10**12
_MAX_MAGNITUDE = len(str(MAX_AMOUNT)) - 1  # the power of ten of MAX_AMOUNT's first digit


def to_micros(value: object, field: str, *, max_places: int = 6) -> Micros:
    """Parse a decimal amount (str, int or Decimal; floats are refused) into micros."""
    if isinstance(value, (bool, float)):
        raise ValidationFailed.one(field, "give money as a decimal string or integer, not a float")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationFailed.one(field, f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValidationFailed.one(field, "must be a finite amount")
    # Read off the digits, before any arithmetic: "1e1000000" would overflow the decimal
    # context, and "1e-999999999" round to zero.
    if amount.adjusted() > _MAX_MAGNITUDE or abs(amount) > MAX_AMOUNT:
        raise ValidationFailed.one(field, f"amounts above {MAX_AMOUNT:,} are not accepted")
    if _decimal_places(amount) > max_places:
        raise ValidationFailed.one(field, f"at most {max_places} decimal places")
    return int(amount * MICROS)


def _decimal_places(amount: Decimal) -> int:
    """The places after the point that `amount` needs (trailing zeros do not count)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # a finite amount
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
        exponent += 1
    return 0 if digits[:kept] == (0,) else max(0, -exponent)


def from_micros(micros: Micros) -> Decimal:
    """Micros back to a Decimal amount, exactly."""
    return (Decimal(micros) / MICROS).quantize(Decimal("0.000001")).normalize()


def format_money(micros: Micros, currency: str = "USD") -> str:
    """Human form, rounded half-even to cents: `$1,234.50` for USD, `12.00 EUR` otherwise."""
    amount = (Decimal(micros) / MICROS).quantize(Decimal("0.01"))
    if currency == "USD":
        return f"${amount:,.2f}"
    return f"{amount:,.2f} {currency}"


def cost_per_impression(cpm_micros: Micros) -> Micros:
    """The price of one impression at a CPM. CPM bids have at most 3 decimals, so it is exact."""
    if cpm_micros % 1000:
        raise ValueError("CPM must be a multiple of 1000 micros (at most 3 decimal places)")
    return cpm_micros // 1000


def ecpm(spend_micros: Micros, impressions: int) -> Decimal | None:
    """Effective CPM in currency units; None without impressions."""
    if impressions <= 0:
        return None
    return Decimal(spend_micros) * 1000 / MICROS / impressions
