"""The402Escrow: funding from unallocated deposits, exactly-once moves, payer reclaim."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from .devnet import CHAIN_ID, Accounts, Chain

ONE_USDC = 1_000_000
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DAY = 24 * 3600

# Escrow.state values
NONE, HELD, RELEASED, REFUNDED, SPLIT, RECLAIMED = range(6)

Deposit = Callable[[int], None]


def new_id() -> bytes:
    return os.urandom(32)


def fund(
    chain: Chain,
    escrow: Contract,
    accounts: Accounts,
    *,
    amount: int,
    fee: int,
    escrow_id: bytes | None = None,
    expiry: int | None = None,
) -> bytes:
    escrow_id = new_id() if escrow_id is None else escrow_id
    expiry = chain.now() + DAY if expiry is None else expiry
    chain.transact(
        escrow.functions.fund(escrow_id, accounts.payer, accounts.payee, amount, fee, expiry),
        accounts.operator,
    )
    return escrow_id


def balances(usdc: Contract, *holders: str) -> list[int]:
    return [usdc.functions.balanceOf(h).call() for h in holders]


def state(escrow: Contract, escrow_id: bytes) -> int:
    return int(escrow.functions.escrows(escrow_id).call()[5])


# --------------------------------------------------------------------------- happy paths


def test_fund_then_release(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(1_050_000)
    escrow_id = new_id()
    expiry = chain.now() + DAY

    funded = chain.transact(
        escrow.functions.fund(escrow_id, accounts.payer, accounts.payee, ONE_USDC, 50_000, expiry),
        accounts.operator,
    )
    chain.record_gas("fund", funded)

    assert escrow.functions.escrows(escrow_id).call() == [
        accounts.payer,
        accounts.payee,
        ONE_USDC,
        50_000,
        expiry,
        HELD,
    ]
    assert escrow.functions.totalAllocated().call() == 1_050_000
    assert escrow.functions.unallocated().call() == 0
    assert chain.events(escrow, funded) == [
        (
            "Funded",
            {
                "id": escrow_id,
                "payer": accounts.payer,
                "payee": accounts.payee,
                "amount": ONE_USDC,
                "fee": 50_000,
                "expiry": expiry,
            },
        )
    ]

    released = chain.transact(escrow.functions.release(escrow_id), accounts.operator)
    chain.record_gas("release", released)

    assert balances(usdc, accounts.payee, accounts.treasury, escrow.address, accounts.payer) == [
        ONE_USDC,
        50_000,
        0,
        0,
    ]
    assert state(escrow, escrow_id) == RELEASED
    assert escrow.functions.totalAllocated().call() == 0
    assert chain.events(escrow, released) == [
        (
            "Released",
            {"id": escrow_id, "payee": accounts.payee, "amount": ONE_USDC, "fee": 50_000},
        )
    ]


def test_fund_then_refund(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(1_050_000)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_000)

    refunded = chain.transact(escrow.functions.refund(escrow_id), accounts.operator)
    chain.record_gas("refund", refunded)

    assert balances(usdc, accounts.payer, accounts.payee, accounts.treasury, escrow.address) == [
        1_050_000,
        0,
        0,
        0,
    ]
    assert state(escrow, escrow_id) == REFUNDED
    assert escrow.functions.totalAllocated().call() == 0
    assert chain.events(escrow, refunded) == [
        ("Refunded", {"id": escrow_id, "payer": accounts.payer, "value": 1_050_000})
    ]


def test_split_charges_fee_pro_rata_rounding_down(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(1_050_001)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_001)

    receipt = chain.transact(escrow.functions.split(escrow_id, 333_333), accounts.operator)
    chain.record_gas("split", receipt)

    # fee share = 50_001 * 333_333 // 1_000_000 = 16_666 (16_666.98 rounded down); the payer
    # gets the undelivered 666_667 plus the remaining 33_335 of the fee.
    assert balances(usdc, accounts.payee, accounts.treasury, accounts.payer, escrow.address) == [
        333_333,
        16_666,
        700_002,
        0,
    ]
    assert state(escrow, escrow_id) == SPLIT
    assert escrow.functions.totalAllocated().call() == 0
    assert chain.events(escrow, receipt) == [
        (
            "Split",
            {"id": escrow_id, "payeeAmount": 333_333, "payerAmount": 700_002, "feeAmount": 16_666},
        )
    ]


def test_split_of_fee_only_escrow_returns_fee_to_payer(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(10_000)
    escrow_id = fund(chain, escrow, accounts, amount=0, fee=10_000)
    chain.transact(escrow.functions.split(escrow_id, 0), accounts.operator)
    assert balances(usdc, accounts.payee, accounts.treasury, accounts.payer) == [0, 0, 10_000]


def test_split_cannot_pay_payee_more_than_amount(
    chain: Chain, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(1_050_000)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_000)
    chain.assert_reverts(
        escrow.functions.split(escrow_id, ONE_USDC + 1),
        accounts.operator,
        "Escrow: payee amount exceeds escrow amount",
    )
    assert state(escrow, escrow_id) == HELD


def test_x402_payment_into_escrow_then_release(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts
) -> None:
    """The real flow: an EIP-3009 authorization pays the escrow, the operator funds it."""
    buyer: LocalAccount = Account.create()
    chain.transact(usdc.functions.mint(buyer.address, 2 * ONE_USDC), accounts.deployer)
    auth = {
        "from": buyer.address,
        "to": escrow.address,
        "value": 1_100_000,
        "validAfter": 0,
        "validBefore": chain.now() + 600,
        "nonce": new_id(),
    }
    fields = ["from", "to", "value", "validAfter", "validBefore", "nonce"]
    types = ["address", "address", "uint256", "uint256", "uint256", "bytes32"]
    signed = Account.sign_typed_data(
        buyer.key,
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "TransferWithAuthorization": [
                    {"name": n, "type": t} for n, t in zip(fields, types, strict=True)
                ],
            },
            "primaryType": "TransferWithAuthorization",
            "domain": {
                "name": "USDC",
                "version": "2",
                "chainId": CHAIN_ID,
                "verifyingContract": usdc.address,
            },
            "message": auth,
        },
    )
    settle = usdc.get_function_by_signature(
        "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
    )
    chain.transact(settle(*[auth[f] for f in fields], bytes(signed.signature)), accounts.operator)
    assert escrow.functions.unallocated().call() == 1_100_000

    escrow_id = new_id()
    chain.transact(
        escrow.functions.fund(
            escrow_id, buyer.address, accounts.payee, ONE_USDC, 100_000, chain.now() + DAY
        ),
        accounts.operator,
    )
    chain.transact(escrow.functions.release(escrow_id), accounts.operator)

    assert balances(usdc, buyer.address, accounts.payee, accounts.treasury, escrow.address) == [
        900_000,
        ONE_USDC,
        100_000,
        0,
    ]


# --------------------------------------------------------------------------- reclaim


def test_payer_reclaims_after_expiry(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(1_050_000)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_000, expiry=chain.now() + 60)
    chain.advance_time(61)

    receipt = chain.transact(escrow.functions.reclaim(escrow_id), accounts.payer)
    chain.record_gas("reclaim", receipt)

    assert balances(usdc, accounts.payer, accounts.payee, accounts.treasury, escrow.address) == [
        1_050_000,
        0,
        0,
        0,
    ]
    assert state(escrow, escrow_id) == RECLAIMED
    assert escrow.functions.totalAllocated().call() == 0
    assert chain.events(escrow, receipt) == [
        ("Reclaimed", {"id": escrow_id, "payer": accounts.payer, "value": 1_050_000})
    ]


def test_reclaim_refused_before_expiry(
    chain: Chain, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(ONE_USDC)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=0, expiry=chain.now() + 3600)
    chain.assert_reverts(escrow.functions.reclaim(escrow_id), accounts.payer, "Escrow: not expired")
    assert state(escrow, escrow_id) == HELD


def test_reclaim_refused_for_non_payer(
    chain: Chain, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(ONE_USDC)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=0, expiry=chain.now() + 60)
    chain.advance_time(61)
    for caller in (accounts.payee, accounts.operator, accounts.stranger):
        chain.assert_reverts(
            escrow.functions.reclaim(escrow_id), caller, "Escrow: caller is not the payer"
        )
    assert state(escrow, escrow_id) == HELD


# --------------------------------------------------------------------------- exactly once


MOVES: dict[str, Callable[[Contract, bytes], Any]] = {
    "release": lambda e, i: e.functions.release(i),
    "refund": lambda e, i: e.functions.refund(i),
    "split": lambda e, i: e.functions.split(i, 0),
}


@pytest.mark.parametrize("second", ["release", "refund", "split", "reclaim"])
@pytest.mark.parametrize("first", ["release", "refund"])
def test_each_id_moves_exactly_once(
    chain: Chain,
    usdc: Contract,
    escrow: Contract,
    accounts: Accounts,
    deposit: Deposit,
    first: str,
    second: str,
) -> None:
    deposit(2 * 1_050_000)  # a second escrow's money must stay untouchable
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_000)
    fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_000)
    chain.transact(MOVES[first](escrow, escrow_id), accounts.operator)
    chain.advance_time(DAY + 1)  # expired, so reclaim would be allowed on a held escrow

    if second == "reclaim":
        chain.assert_reverts(
            escrow.functions.reclaim(escrow_id), accounts.payer, "Escrow: not held"
        )
    else:
        chain.assert_reverts(
            MOVES[second](escrow, escrow_id), accounts.operator, "Escrow: not held"
        )
    assert usdc.functions.balanceOf(escrow.address).call() == 1_050_000
    assert escrow.functions.totalAllocated().call() == 1_050_000


def test_moves_of_unknown_id_revert(chain: Chain, escrow: Contract, accounts: Accounts) -> None:
    unknown = new_id()
    for move in MOVES.values():
        chain.assert_reverts(move(escrow, unknown), accounts.operator, "Escrow: not held")
    chain.assert_reverts(escrow.functions.reclaim(unknown), accounts.payer, "Escrow: not held")


# --------------------------------------------------------------------------- funding rules


def test_fund_needs_unallocated_funds(
    chain: Chain, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    expiry = chain.now() + DAY
    args = (accounts.payer, accounts.payee, ONE_USDC, 50_000, expiry)
    chain.assert_reverts(
        escrow.functions.fund(new_id(), *args),
        accounts.operator,
        "Escrow: insufficient unallocated funds",
    )
    deposit(1_050_000)
    # Two escrows compete for the same deposit: only the first one gets it.
    chain.transact(escrow.functions.fund(new_id(), *args), accounts.operator)
    chain.assert_reverts(
        escrow.functions.fund(new_id(), *args),
        accounts.operator,
        "Escrow: insufficient unallocated funds",
    )
    deposit(1_049_999)  # one unit short
    chain.assert_reverts(
        escrow.functions.fund(new_id(), *args),
        accounts.operator,
        "Escrow: insufficient unallocated funds",
    )
    deposit(1)
    chain.transact(escrow.functions.fund(new_id(), *args), accounts.operator)
    assert escrow.functions.totalAllocated().call() == 2_100_000
    assert escrow.functions.unallocated().call() == 0


def test_fund_refuses_reused_id(
    chain: Chain, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(3 * ONE_USDC)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=0)
    expiry = chain.now() + DAY
    reuse = escrow.functions.fund(escrow_id, accounts.payer, accounts.payee, ONE_USDC, 0, expiry)
    chain.assert_reverts(reuse, accounts.operator, "Escrow: id already used")
    # Still used after the escrow has been settled.
    chain.transact(escrow.functions.release(escrow_id), accounts.operator)
    chain.assert_reverts(reuse, accounts.operator, "Escrow: id already used")


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("payer", "Escrow: payer is the zero address"),
        ("payee", "Escrow: payee is the zero address"),
        ("value", "Escrow: zero value"),
        ("expiry", "Escrow: expiry must be in the future"),
    ],
)
def test_fund_validates_arguments(
    chain: Chain,
    escrow: Contract,
    accounts: Accounts,
    deposit: Deposit,
    field: str,
    reason: str,
) -> None:
    deposit(ONE_USDC)
    kwargs: dict[str, Any] = {
        "payer": accounts.payer,
        "payee": accounts.payee,
        "amount": ONE_USDC,
        "fee": 0,
        "expiry": chain.now() + DAY,
    }
    if field in ("payer", "payee"):
        kwargs[field] = ZERO_ADDRESS
    elif field == "value":
        kwargs["amount"] = 0
    else:
        kwargs["expiry"] = chain.now()
    call = escrow.functions.fund(
        new_id(),
        kwargs["payer"],
        kwargs["payee"],
        kwargs["amount"],
        kwargs["fee"],
        kwargs["expiry"],
    )
    chain.assert_reverts(call, accounts.operator, reason)


# --------------------------------------------------------------------------- access control


def test_operator_only_functions_reject_other_callers(
    chain: Chain, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(2 * ONE_USDC)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=0)
    calls = [
        escrow.functions.fund(
            new_id(), accounts.payer, accounts.payee, ONE_USDC, 0, chain.now() + DAY
        ),
        escrow.functions.release(escrow_id),
        escrow.functions.refund(escrow_id),
        escrow.functions.split(escrow_id, 0),
        escrow.functions.returnUnallocated(accounts.stranger, 1),
    ]
    # Not even the owner, the payer or the payee may act as the operator.
    for caller in (accounts.stranger, accounts.deployer, accounts.payer, accounts.payee):
        for call in calls:
            chain.assert_reverts(call, caller, "Escrow: caller is not the operator")
    assert state(escrow, escrow_id) == HELD


def test_owner_changes_operator_and_treasury(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    new_operator, new_treasury = accounts.relayer, accounts.stranger
    for call in (
        escrow.functions.setOperator(new_operator),
        escrow.functions.setTreasury(new_treasury),
    ):
        chain.assert_reverts(call, accounts.operator, "Escrow: caller is not the owner")

    op_receipt = chain.transact(escrow.functions.setOperator(new_operator), accounts.deployer)
    tr_receipt = chain.transact(escrow.functions.setTreasury(new_treasury), accounts.deployer)

    assert chain.events(escrow, op_receipt) == [
        ("OperatorChanged", {"previousOperator": accounts.operator, "newOperator": new_operator})
    ]
    assert chain.events(escrow, tr_receipt) == [
        ("TreasuryChanged", {"previousTreasury": accounts.treasury, "newTreasury": new_treasury})
    ]
    deposit(1_050_000)
    expiry = chain.now() + DAY
    call = escrow.functions.fund(new_id(), accounts.payer, accounts.payee, ONE_USDC, 50_000, expiry)
    chain.assert_reverts(call, accounts.operator, "Escrow: caller is not the operator")
    escrow_id = new_id()
    chain.transact(
        escrow.functions.fund(escrow_id, accounts.payer, accounts.payee, ONE_USDC, 50_000, expiry),
        new_operator,
    )
    chain.transact(escrow.functions.release(escrow_id), new_operator)
    assert balances(usdc, new_treasury, accounts.treasury) == [50_000, 0]


# --------------------------------------------------------------------------- crash recovery


def test_return_unallocated_never_touches_allocated_funds(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts, deposit: Deposit
) -> None:
    deposit(1_050_000)
    escrow_id = fund(chain, escrow, accounts, amount=ONE_USDC, fee=50_000)
    chain.assert_reverts(
        escrow.functions.returnUnallocated(accounts.payer, 1),
        accounts.operator,
        "Escrow: insufficient unallocated funds",
    )

    deposit(200_000)  # a payment that settled but was never funded (platform crashed)
    chain.assert_reverts(
        escrow.functions.returnUnallocated(accounts.payer, 200_001),
        accounts.operator,
        "Escrow: insufficient unallocated funds",
    )
    receipt = chain.transact(
        escrow.functions.returnUnallocated(accounts.payer, 200_000), accounts.operator
    )

    assert chain.events(escrow, receipt) == [
        ("UnallocatedReturned", {"to": accounts.payer, "value": 200_000})
    ]
    assert usdc.functions.balanceOf(accounts.payer).call() == 200_000
    assert escrow.functions.unallocated().call() == 0
    assert escrow.functions.totalAllocated().call() == 1_050_000
    # The held escrow is intact and still pays out in full.
    chain.transact(escrow.functions.release(escrow_id), accounts.operator)
    assert balances(usdc, accounts.payee, accounts.treasury, escrow.address) == [
        ONE_USDC,
        50_000,
        0,
    ]
