"""Money is integer micro-USDC on every path that moves it: the modules below never call
`float()` and never divide with `/` (integer `//` or an exact `Decimal` instead). Read from
the source, so a float cannot creep in where no test happens to look."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MONEY_MODULES = [
    "the402/lib/money.py",
    "payments/ledger.py",
    "payments/ledger_check.py",
    "payments/escrow.py",
    "payments/gate.py",
    "payments/payouts.py",
    "payments/earnings.py",
    "payments/settlements.py",
    "payments/reconcile.py",
    "payments/eip3009.py",
    "payments/chain/usdc.py",
    *sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "payments/x402").glob("*.py")
        if path.name != "bench.py"  # measures verifications per second
    ),
    "marketplace/deals/purchases.py",
    "marketplace/deals/agreements.py",
    "marketplace/deals/escrows.py",
    "marketplace/deals/jobs.py",
    "marketplace/deals/threads.py",
]


def float_arithmetic(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "float"
        ):
            found.append(f"line {node.lineno}: float(...)")
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append(f"line {node.lineno}: true division {ast.unparse(node)!r}")
    return sorted(found)


@pytest.mark.parametrize("module", MONEY_MODULES)
def test_money_modules_use_no_float_arithmetic(module: str) -> None:
    assert float_arithmetic((ROOT / module).read_text()) == []


def test_the_check_finds_float_arithmetic() -> None:
    assert float_arithmetic("fee = float(price) * 0.05\nshare = price / 2\nx /= 3\n") == [
        "line 1: float(...)",
        "line 2: true division 'price / 2'",
        "line 3: true division 'x /= 3'",
    ]
