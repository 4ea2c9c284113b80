"""Money is integer micro-USDC (6 decimals, the unit USDC uses on-chain) everywhere.

This module owns the two rules every price in the product follows:

* the platform fee is 5% of the provider's price, paid by the agent on top, rounded **up** to
  the next micro-USDC (`platform_fee`);
* conversion between integers and USD text is exact (`parse_usd`, `format_usd`): amounts with
  more than six decimals are rejected, never rounded, and floats are never used.
"""

from __future__ import annotations

import re
from decimal import Decimal

MICROS_PER_USD = 1_000_000
PLATFORM_FEE_BPS = 500  # 5%
_BPS = 10_000

# ASCII digits only: `\d` (and `int()`) would also take "٣" or full-width "３" as a 3.
_USD_TEXT = re.compile(r"\$?[ \t]*(?P<units>[0-9]{1,12})(?:\.(?P<frac>[0-9]{1,6}))?")


class MoneyError(ValueError):
    """A USD amount that cannot be represented exactly in micro-USDC."""


def platform_fee(price_micros: int) -> int:
    """The platform fee on a provider price: 5%, rounded up to the next micro-USDC."""
    if price_micros < 0:
        raise MoneyError("price cannot be negative")
    return -(-price_micros * PLATFORM_FEE_BPS // _BPS)


def agent_price(price_micros: int) -> int:
    """What the agent pays for a provider price: the price plus the platform fee."""
    return price_micros + platform_fee(price_micros)


def max_provider_price_within(agent_budget_micros: int) -> int:
    """The largest provider price whose agent price fits in `agent_budget_micros`.

    `agent_price` is monotonic, so filtering on `price <= max_provider_price_within(budget)`
    is the same as filtering on `agent_price(price) <= budget`, and can use an index.
    """
    if agent_budget_micros < 0:
        return -1
    guess = agent_budget_micros * _BPS // (_BPS + PLATFORM_FEE_BPS)
    while agent_price(guess + 1) <= agent_budget_micros:
        guess += 1
    while guess > 0 and agent_price(guess) > agent_budget_micros:
        guess -= 1
    return guess


def parse_usd(text: str | int | Decimal) -> int:
    """Parse `"25"`, `"25.5"`, `"$0.001"` or an int/Decimal of dollars into micro-USDC."""
    if isinstance(text, bool):
        raise MoneyError("amount must be a number of US dollars")
    if isinstance(text, int):
        text = str(text)
    elif isinstance(text, Decimal):
        text = format(text, "f")
    if not isinstance(text, str):
        raise MoneyError('amount must be a string such as "25.00"')
    match = _USD_TEXT.fullmatch(text.strip(" \t\r\n"))
    if not match:
        raise MoneyError(
            f'{text!r} is not a US dollar amount (use up to 6 decimals, such as "25.00")'
        )
    frac = (match.group("frac") or "").ljust(6, "0")
    return int(match.group("units")) * MICROS_PER_USD + int(frac)


def format_usd(micros: int) -> str:
    """Render micro-USDC as dollars with at least two decimals: 25000000 -> "25.00"."""
    sign = "-" if micros < 0 else ""
    units, frac = divmod(abs(micros), MICROS_PER_USD)
    frac_text = f"{frac:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{units}.{frac_text}"


def usd_decimal(micros: int) -> Decimal:
    """Exact Decimal dollars for JSON `*_usd` numbers.

    The JSON encoder writes a Decimal as the shortest float text, which is exact for the
    at most 15 significant digits any micro-USDC amount below a billion dollars has.
    """
    return Decimal(micros).scaleb(-6)
