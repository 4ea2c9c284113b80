"""What a paid request costs and how it was paid: plain values, no HTTP.

The payment gate (`payments.gate`) prices a request with a `Price`, takes the money and
hands the view a `Paid`; services receive these (never a request or a DRF type), so the
same service runs from the API, the admin, a task or a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from payments.models import Participant, X402Payment


@dataclass(frozen=True)
class Price:
    """What one request costs and where the money goes in the ledger."""

    amount: int  # micro-USDC
    description: str
    destination: str | None  # ledger account credited; None: the payer's own balance
    allow_balance: bool = True
    # Escrowed purchases: x402 pays The402Escrow instead of the treasury, and `perform`
    # holds the money itself (escrow_open_on_chain / escrow_open_ledger), so the gate
    # records no ledger movement of its own.
    escrow: bool = False
    # Parts of the amount that go to other accounts than `destination` (a data API's
    # provider share): (ledger account, micro-USDC) pairs.
    shares: tuple[tuple[str, int], ...] = ()
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None


@dataclass
class Paid:
    """How the request was paid, handed to `perform`."""

    method: str  # "x402" or "balance"
    participant: Participant
    amount: int
    payment: X402Payment | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    # What the money paid for, beyond the objects the URL names (the job a data API sale
    # created, its thread): `perform` fills it, the gate records it on the ledger movement.
    reference: dict[str, str] = field(default_factory=dict)
