"""Reading The402Escrow: the state of one escrow and the contract's unallocated funds."""

from __future__ import annotations

from typing import TypedDict

from eth_utils import to_checksum_address
from web3.contract import Contract

from payments.chain.client import current_deployment, get_web3
from payments.contracts import load_artifact

STATES = ("None", "Held", "Released", "Refunded", "Split", "Reclaimed")


class EscrowRecord(TypedDict):
    payer: str
    payee: str
    amount: int
    fee: int
    expiry: int
    state: str  # one of STATES


def _contract() -> Contract:
    deployment = current_deployment()
    w3 = get_web3(deployment.rpc_url)
    return w3.eth.contract(
        address=to_checksum_address(deployment.escrow), abi=load_artifact("The402Escrow")["abi"]
    )


def escrow_record(chain_id: str) -> EscrowRecord:
    """The on-chain record of an escrow: payer, payee, amount, fee, expiry and state name."""
    payer, payee, amount, fee, expiry, state = (
        _contract().functions.escrows(bytes.fromhex(chain_id.removeprefix("0x"))).call()
    )
    return {
        "payer": payer,
        "payee": payee,
        "amount": amount,
        "fee": fee,
        "expiry": expiry,
        "state": STATES[state],
    }


def escrow_state(chain_id: str) -> str:
    return escrow_record(chain_id)["state"]


def unallocated() -> int:
    return int(_contract().functions.unallocated().call())
