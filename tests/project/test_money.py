from __future__ import annotations

import pytest

from the402.lib import money


@pytest.mark.parametrize(
    ("price", "fee"),
    [(0, 0), (1, 1), (19, 1), (20, 1), (21, 2), (2_500_000, 125_000), (50_000, 2_500)],
)
def test_the_platform_fee_is_five_percent_rounded_up(price: int, fee: int) -> None:
    assert money.platform_fee(price) == fee


def test_the_agent_price_adds_the_fee() -> None:
    assert money.agent_price(25_000_000) == 26_250_000


def test_max_provider_price_within_is_the_exact_inverse_of_agent_price() -> None:
    for budget in range(0, 5_000):
        best = money.max_provider_price_within(budget)
        assert money.agent_price(best) <= budget
        assert money.agent_price(best + 1) > budget


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("25", 25_000_000),
        ("25.5", 25_500_000),
        ("$0.001", 1_000),
        ("0.000001", 1),
        ("$ 10.00", 10_000_000),
        (7, 7_000_000),
    ],
)
def test_parse_usd_reads_dollar_amounts_exactly(text: str | int, micros: int) -> None:
    assert money.parse_usd(text) == micros


@pytest.mark.parametrize("text", ["0.0000001", "-1", "abc", "", "1e3", "1,000", True, 1.5])
def test_parse_usd_rejects_anything_not_exact(text: object) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_usd(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("micros", "text"),
    [(25_000_000, "25.00"), (2_625_000, "2.625"), (1, "0.000001"), (0, "0.00"), (-5, "-0.000005")],
)
def test_format_usd(micros: int, text: str) -> None:
    assert money.format_usd(micros) == text
