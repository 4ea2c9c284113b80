"""TestUSDC behaves like Circle's FiatToken v2 for x402 (EIP-712 + EIP-3009)."""

from __future__ import annotations

import os
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.datastructures import SignedMessage
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import Contract

from .devnet import CHAIN_ID, Accounts, Chain

ONE_USDC = 1_000_000
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

AUTHORIZATION_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "TransferWithAuthorization": AUTHORIZATION_FIELDS,
    "ReceiveWithAuthorization": AUTHORIZATION_FIELDS,
    "CancelAuthorization": [
        {"name": "authorizer", "type": "address"},
        {"name": "nonce", "type": "bytes32"},
    ],
}


def typed_data(token: Contract, primary_type: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": TYPES["EIP712Domain"], primary_type: TYPES[primary_type]},
        "primaryType": primary_type,
        "domain": {
            "name": "USDC",
            "version": "2",
            "chainId": CHAIN_ID,
            "verifyingContract": token.address,
        },
        "message": message,
    }


def authorization(
    chain: Chain,
    signer: LocalAccount,
    to: str,
    value: int,
    *,
    valid_after: int = 0,
    valid_before: int | None = None,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    return {
        "from": signer.address,
        "to": to,
        "value": value,
        "validAfter": valid_after,
        "validBefore": chain.now() + 3600 if valid_before is None else valid_before,
        "nonce": os.urandom(32) if nonce is None else nonce,
    }


def sign(
    token: Contract, key: LocalAccount, message: dict[str, Any], primary_type: str
) -> SignedMessage:
    return Account.sign_typed_data(key.key, full_message=typed_data(token, primary_type, message))


def args(auth: dict[str, Any]) -> list[Any]:
    return [
        auth["from"],
        auth["to"],
        auth["value"],
        auth["validAfter"],
        auth["validBefore"],
        auth["nonce"],
    ]


def vrs(signed: SignedMessage) -> list[Any]:
    return [signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")]


def funded_payer(chain: Chain, usdc: Contract, accounts: Accounts, amount: int) -> LocalAccount:
    payer: LocalAccount = Account.create()
    chain.transact(usdc.functions.mint(payer.address, amount), accounts.deployer)
    return payer


# --------------------------------------------------------------------------- metadata


def test_metadata(usdc: Contract) -> None:
    assert usdc.functions.name().call() == "USDC"
    assert usdc.functions.symbol().call() == "USDC"
    assert usdc.functions.decimals().call() == 6
    assert usdc.functions.version().call() == "2"
    assert usdc.functions.totalSupply().call() == 0


def test_typehashes_match_eip3009(usdc: Contract) -> None:
    fields = (
        "address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce"
    )
    f = usdc.functions
    assert f.TRANSFER_WITH_AUTHORIZATION_TYPEHASH().call() == keccak(
        text=f"TransferWithAuthorization({fields})"
    )
    assert f.RECEIVE_WITH_AUTHORIZATION_TYPEHASH().call() == keccak(
        text=f"ReceiveWithAuthorization({fields})"
    )
    assert f.CANCEL_AUTHORIZATION_TYPEHASH().call() == keccak(
        text="CancelAuthorization(address authorizer,bytes32 nonce)"
    )


def test_domain_separator_matches_eip712(usdc: Contract) -> None:
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,"
                    "address verifyingContract)"
                ),
                keccak(text="USDC"),
                keccak(text="2"),
                84532,
                usdc.address,
            ],
        )
    )
    assert usdc.functions.DOMAIN_SEPARATOR().call() == expected
    # eth-account's EIP-712 encoder agrees (the header of a v1 signable message).
    message = {"authorizer": usdc.address, "nonce": b"\x00" * 32}
    signable = encode_typed_data(full_message=typed_data(usdc, "CancelAuthorization", message))
    assert signable.header == expected


def test_mint_is_owner_only(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    chain.assert_reverts(
        usdc.functions.mint(accounts.stranger, ONE_USDC),
        accounts.stranger,
        "Ownable: caller is not the owner",
    )
    chain.transact(usdc.functions.mint(accounts.stranger, ONE_USDC), accounts.deployer)
    assert usdc.functions.balanceOf(accounts.stranger).call() == ONE_USDC
    assert usdc.functions.totalSupply().call() == ONE_USDC


# --------------------------------------------------------------------------- EIP-3009 transfer


def test_transfer_with_authorization_is_relayed(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer = funded_payer(chain, usdc, accounts, 5 * ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, 2 * ONE_USDC)
    signed = sign(usdc, payer, auth, "TransferWithAuthorization")
    relayer_eth = chain.w3.eth.get_balance(accounts.relayer)

    receipt = chain.transact(
        usdc.functions.transferWithAuthorization(*args(auth), *vrs(signed)), accounts.relayer
    )

    assert usdc.functions.balanceOf(payer.address).call() == 3 * ONE_USDC
    assert usdc.functions.balanceOf(accounts.payee).call() == 2 * ONE_USDC
    assert usdc.functions.authorizationState(payer.address, auth["nonce"]).call() is True
    # The relayer paid the gas; the payer never held any ETH.
    assert receipt["from"] == accounts.relayer
    assert chain.w3.eth.get_balance(accounts.relayer) < relayer_eth
    assert chain.w3.eth.get_balance(payer.address) == 0
    assert chain.events(usdc, receipt) == [
        ("AuthorizationUsed", {"authorizer": payer.address, "nonce": auth["nonce"]}),
        ("Transfer", {"from": payer.address, "to": accounts.payee, "value": 2 * ONE_USDC}),
    ]


def test_replayed_authorization_reverts(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, 5 * ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    call = usdc.functions.transferWithAuthorization(
        *args(auth), *vrs(sign(usdc, payer, auth, "TransferWithAuthorization"))
    )
    chain.transact(call, accounts.relayer)
    chain.assert_reverts(call, accounts.relayer, "FiatTokenV2: authorization is used or canceled")
    assert usdc.functions.balanceOf(accounts.payee).call() == ONE_USDC


def test_expired_authorization_reverts(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    # validBefore is exclusive: an authorization valid before "now" is already expired.
    auth = authorization(chain, payer, accounts.payee, ONE_USDC, valid_before=chain.now())
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(
            *args(auth), *vrs(sign(usdc, payer, auth, "TransferWithAuthorization"))
        ),
        accounts.relayer,
        "FiatTokenV2: authorization is expired",
    )


def test_not_yet_valid_authorization_reverts(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC, valid_after=chain.now() + 600)
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(
            *args(auth), *vrs(sign(usdc, payer, auth, "TransferWithAuthorization"))
        ),
        accounts.relayer,
        "FiatTokenV2: authorization is not yet valid",
    )


def test_signature_by_another_key_reverts(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    thief: LocalAccount = Account.create()
    auth = authorization(chain, payer, thief.address, ONE_USDC)
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(
            *args(auth), *vrs(sign(usdc, thief, auth, "TransferWithAuthorization"))
        ),
        accounts.relayer,
        "FiatTokenV2: invalid signature",
    )


def test_tampered_value_reverts(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, 5 * ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    signed = sign(usdc, payer, auth, "TransferWithAuthorization")
    tampered = {**auth, "value": 5 * ONE_USDC}
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(*args(tampered), *vrs(signed)),
        accounts.relayer,
        "FiatTokenV2: invalid signature",
    )


def test_high_s_signature_is_rejected(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    signed = sign(usdc, payer, auth, "TransferWithAuthorization")
    # (r, n - s, flipped v) is the same signature's malleable twin: ecrecover would accept it.
    malleable = [55 - signed.v, signed.r.to_bytes(32, "big"), (SECP256K1_N - signed.s).to_bytes(32)]
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(*args(auth), *malleable),
        accounts.relayer,
        "ECRecover: invalid signature 's' value",
    )


def test_v_outside_27_28_is_rejected(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    v, r, s = vrs(sign(usdc, payer, auth, "TransferWithAuthorization"))
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(*args(auth), v - 27, r, s),
        accounts.relayer,
        "ECRecover: invalid signature 'v' value",
    )


def test_transfer_exceeding_balance_reverts(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC + 1)
    chain.assert_reverts(
        usdc.functions.transferWithAuthorization(
            *args(auth), *vrs(sign(usdc, payer, auth, "TransferWithAuthorization"))
        ),
        accounts.relayer,
        "ERC20: transfer amount exceeds balance",
    )


def test_bytes_signature_overload(chain: Chain, usdc: Contract, accounts: Accounts) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    signed = sign(usdc, payer, auth, "TransferWithAuthorization")
    assert len(signed.signature) == 65
    fn = usdc.get_function_by_signature(
        "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
    )
    chain.assert_reverts(
        fn(*args(auth), bytes(signed.signature[:64])),
        accounts.relayer,
        "ECRecover: invalid signature length",
    )
    chain.transact(fn(*args(auth), bytes(signed.signature)), accounts.relayer)
    assert usdc.functions.balanceOf(accounts.payee).call() == ONE_USDC
    assert usdc.functions.authorizationState(payer.address, auth["nonce"]).call() is True


# --------------------------------------------------------------------------- EIP-3009 receive


def test_receive_with_authorization_requires_payee_as_caller(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    call = usdc.functions.receiveWithAuthorization(
        *args(auth), *vrs(sign(usdc, payer, auth, "ReceiveWithAuthorization"))
    )
    chain.assert_reverts(call, accounts.relayer, "FiatTokenV2: caller must be the payee")
    chain.transact(call, accounts.payee)
    assert usdc.functions.balanceOf(accounts.payee).call() == ONE_USDC


def test_receive_bytes_overload_and_typehash_separation(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    fn = usdc.get_function_by_signature(
        "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
    )
    # A TransferWithAuthorization signature cannot be used as a ReceiveWithAuthorization.
    wrong_type = sign(usdc, payer, auth, "TransferWithAuthorization")
    chain.assert_reverts(
        fn(*args(auth), bytes(wrong_type.signature)),
        accounts.payee,
        "FiatTokenV2: invalid signature",
    )
    signed = sign(usdc, payer, auth, "ReceiveWithAuthorization")
    chain.transact(fn(*args(auth), bytes(signed.signature)), accounts.payee)
    assert usdc.functions.balanceOf(accounts.payee).call() == ONE_USDC


# --------------------------------------------------------------------------- EIP-3009 cancel


def test_cancel_authorization_blocks_later_transfer(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer = funded_payer(chain, usdc, accounts, ONE_USDC)
    auth = authorization(chain, payer, accounts.payee, ONE_USDC)
    transfer = usdc.functions.transferWithAuthorization(
        *args(auth), *vrs(sign(usdc, payer, auth, "TransferWithAuthorization"))
    )
    cancel_message = {"authorizer": payer.address, "nonce": auth["nonce"]}
    cancel_sig = sign(usdc, payer, cancel_message, "CancelAuthorization")
    assert usdc.functions.authorizationState(payer.address, auth["nonce"]).call() is False

    receipt = chain.transact(
        usdc.functions.cancelAuthorization(payer.address, auth["nonce"], *vrs(cancel_sig)),
        accounts.relayer,
    )

    assert usdc.functions.authorizationState(payer.address, auth["nonce"]).call() is True
    assert chain.events(usdc, receipt) == [
        ("AuthorizationCanceled", {"authorizer": payer.address, "nonce": auth["nonce"]}),
    ]
    chain.assert_reverts(
        transfer, accounts.relayer, "FiatTokenV2: authorization is used or canceled"
    )
    assert usdc.functions.balanceOf(payer.address).call() == ONE_USDC


def test_cancel_bytes_overload_checks_signer(
    chain: Chain, usdc: Contract, accounts: Accounts
) -> None:
    payer: LocalAccount = Account.create()
    nonce = os.urandom(32)
    message = {"authorizer": payer.address, "nonce": nonce}
    fn = usdc.get_function_by_signature("cancelAuthorization(address,bytes32,bytes)")
    forged = sign(usdc, Account.create(), message, "CancelAuthorization")
    chain.assert_reverts(
        fn(payer.address, nonce, bytes(forged.signature)),
        accounts.relayer,
        "FiatTokenV2: invalid signature",
    )
    signed = sign(usdc, payer, message, "CancelAuthorization")
    call = fn(payer.address, nonce, bytes(signed.signature))
    chain.transact(call, accounts.relayer)
    assert usdc.functions.authorizationState(payer.address, nonce).call() is True
    chain.assert_reverts(call, accounts.relayer, "FiatTokenV2: authorization is used or canceled")
