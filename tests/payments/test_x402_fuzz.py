"""Whatever a client sends as a payment, the protocol layer accepts it or refuses it with an
`X402Error` (which the gate turns into a 402): never any other exception, which would be a
500. Property tests: Hypothesis mutates genuine signed payments and invents header text."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.eip3009 import sign
from payments.x402 import X402Error, decode_payment_header, decode_payment_json
from payments.x402.samples import SAMPLE_NOW, payment_json, sample_authorization, sample_option
from payments.x402.selection import select_option
from payments.x402.verify import verify_payment

PAYER = Account.from_key("0x" + "4c" * 32)
OPTION = sample_option()

# Values near what the fields expect (numbers at the edges of uint256, hex of every length)
# come first; then any JSON at all.
edge_values = (
    st.integers(min_value=-(2**300), max_value=2**300)
    | st.integers(min_value=-(2**300), max_value=2**300).map(str)
    | st.integers(min_value=0, max_value=140).map(lambda n: "0x" + "ab" * n)
    | st.sampled_from(["", "0x", "-0", "1e3", " 1", "0x" + "00" * 20, "base", "eip155:1"])
)
json_values = edge_values | st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=6,
)


def _genuine(version: int) -> dict[str, Any]:
    authorization = sample_authorization(OPTION, PAYER)
    signature = sign(OPTION.domain(), authorization, PAYER.key)
    return payment_json(OPTION, authorization, signature, version=version)


GENUINE = {version: _genuine(version) for version in (1, 2)}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside a decoded payment, the whole payment included."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _mutated(payment: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    result = copy.deepcopy(payment)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


def _accept_or_refuse(run: Any) -> None:
    try:
        run()
    except X402Error as exc:
        assert exc.reason and exc.message


@settings(max_examples=500, deadline=None)
@given(data=st.data(), version=st.sampled_from([1, 2]))
def test_a_mutated_payment_is_accepted_or_refused_with_an_x402_error(
    data: st.DataObject, version: int
) -> None:
    payment = GENUINE[version]
    path = data.draw(st.sampled_from(list(_paths(payment))), label="path")
    value = data.draw(json_values, label="value")
    mutated = _mutated(payment, path, value, delete=data.draw(st.booleans(), label="delete"))

    def run() -> None:
        if not isinstance(mutated, dict):
            raise X402Error("invalid_payload", "not an object")  # the decoder's JSON gate
        payload = decode_payment_json(mutated, version=version)
        payload.fingerprint()  # the gate's replay key
        verify_payment(payload, select_option(payload, [OPTION]), now=SAMPLE_NOW)

    _accept_or_refuse(run)


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=200) | st.binary(max_size=150).map(lambda b: b.hex()))
def test_any_header_text_decodes_or_is_refused_with_an_x402_error(header: str) -> None:
    for version in (1, 2):
        _accept_or_refuse(lambda v=version: decode_payment_header(header, version=v))


def test_the_genuine_payments_verify() -> None:
    # The properties above start from these: they must be valid to begin with.
    for version, payment in GENUINE.items():
        payload = decode_payment_json(payment, version=version)
        assert verify_payment(payload, select_option(payload, [OPTION]), now=SAMPLE_NOW)
