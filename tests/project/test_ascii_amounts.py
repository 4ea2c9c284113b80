"""Amounts are ASCII: a digit from another script is not a digit of a price.

Python's `\\d` and `int()` read "٣" (Arabic-Indic), "３" (full-width) or "৩" (Bengali) as 3;
a price, a deposit or a payment amount written that way is refused, not read as dollars.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from payments.networks import NETWORKS
from payments.x402.errors import X402Error
from payments.x402.requirements import option_from_requirements
from the402.lib import money

NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())


@pytest.mark.parametrize("text", ["٣", "３", "$３.00", "1٠", "2.５", "৩", "\u0663.50"])
def test_parse_usd_refuses_non_ascii_digits(text: str) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_usd(text)


@given(
    units=st.integers(min_value=0, max_value=10**6),
    digit=NON_ASCII_DIGITS,
    position=st.integers(min_value=0, max_value=8),
)
def test_one_foreign_digit_anywhere_makes_an_amount_invalid(
    units: int, digit: str, position: int
) -> None:
    text = f"{units}.25"
    spot = min(position, len(text))
    with pytest.raises(money.MoneyError):
        money.parse_usd(text[:spot] + digit + text[spot:])


@given(micros=st.integers(min_value=0, max_value=10**15))
def test_ascii_amounts_still_round_trip(micros: int) -> None:
    assert money.parse_usd(money.format_usd(micros)) == micros


@pytest.mark.django_db
def test_a_deposit_of_arabic_indic_three_is_a_400_not_three_dollars(api: Client) -> None:
    response = api.post("/v1/balance/deposit?amount=%D9%A3", "{}", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_amount"


@pytest.mark.django_db
def test_a_catalog_max_price_in_full_width_digits_is_a_400(api: Client) -> None:
    response = api.get("/v1/services/catalog", {"max_price": "３"})
    assert response.status_code == 400


def _requirements(amount: Any) -> dict[str, Any]:
    network = NETWORKS["base-sepolia"]
    return {
        "scheme": "exact",
        "network": network.x402_name,
        "maxAmountRequired": amount,
        "asset": "0x" + "1" * 40,
        "payTo": "0x" + "2" * 40,
        "extra": {"name": "USDC", "version": "2"},
    }


@pytest.mark.parametrize("amount", ["٣", "３０００", "1_000", " 5", "-1", -1, True, "1e3"])
def test_facilitator_requirements_refuse_an_amount_that_is_not_ascii_digits(amount: Any) -> None:
    with pytest.raises(X402Error):
        option_from_requirements(_requirements(amount), version=1, network=NETWORKS["base-sepolia"])


@pytest.mark.parametrize("amount", ["3000", 3000])
def test_facilitator_requirements_read_atomic_amounts(amount: Any) -> None:
    option = option_from_requirements(
        _requirements(amount), version=1, network=NETWORKS["base-sepolia"]
    )
    assert option.amount == 3000


def test_json_amounts_are_not_read_from_floats() -> None:
    with pytest.raises(money.MoneyError):
        money.parse_usd(json.loads("3.0"))
