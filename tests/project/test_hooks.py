"""The extension points (`the402.lib.hooks`): what the apps register in `ready()`, and the
one way tests swap them (`installed`)."""

from __future__ import annotations

import pytest

from marketplace.deals import escrows, selectors
from payments import hooks
from the402.lib.hooks import Extension, Hook


def test_the_marketplace_answers_the_payments_extension_points() -> None:
    assert hooks.escrow_expired.implementation is escrows.escrow_expired
    assert hooks.escrow_failed.implementation is escrows.escrow_failed
    assert hooks.services_of_jobs.implementation is selectors.service_ids_of_jobs


def test_an_extension_answers_with_its_default_until_implemented() -> None:
    point: Extension[[int], int] = Extension("test.double", lambda n: n * 2)
    assert point(3) == 6
    point.implement(lambda n: n * 3)
    assert point(3) == 9


def test_a_second_implementation_is_refused() -> None:
    point: Extension[[int], int] = Extension("test.double", lambda n: n * 2)
    first = point.implement(lambda n: n * 3)
    point.implement(first)  # the same one again: nothing changes
    with pytest.raises(ValueError, match="already implemented"):
        point.implement(lambda n: n * 4)


def test_installed_swaps_an_implementation_for_a_block_and_restores_it() -> None:
    point: Extension[[int], int] = Extension("test.double", lambda n: n * 2)
    point.implement(lambda n: n * 3)
    with point.installed(lambda n: 0):
        assert point(3) == 0
    assert point(3) == 9


def test_installed_restores_even_when_the_block_raises() -> None:
    point: Extension[[int], int] = Extension("test.double", lambda n: n * 2)
    with pytest.raises(RuntimeError), point.installed(lambda n: 0):
        raise RuntimeError
    assert point(3) == 6


def test_a_hook_calls_every_handler_in_order_and_installed_removes_its_own() -> None:
    seen: list[str] = []
    hook: Hook[str] = Hook("test.event")
    hook.register(lambda event: seen.append(f"a:{event}"))
    with hook.installed(lambda event: seen.append(f"b:{event}")):
        hook.fire("x")
    hook.fire("y")
    assert seen == ["a:x", "b:x", "a:y"]
