"""Browser tests: Playwright driving Debian's Chromium against `live_server`.

* `page` (pytest-playwright's) runs in Debian's Chromium (`/usr/bin/chromium`, installed by
  `make test`): Playwright's own browser download is not used.
* `wallet` injects an EIP-1193 provider (`window.ethereum`) into every page of the test; its
  signatures come from a devnet key held by the test (eth-account, through
  `page.expose_function`): real signatures that the real server verifies.
* `axe_check(page)` runs axe-core (npm, tests/web/package.json; injected before the page's
  own scripts, so the page's Content-Security-Policy does not stop it) and fails on serious
  or critical
  violations; `snap(page, name)` saves screenshots at 1440 px and 390 px under
  `var/screenshots/` (git-ignored; a few are copied to `docs/screenshots/` for the README).
* The page's console is watched: a Content-Security-Policy violation fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

# Playwright's sync API runs an event loop in the test's thread; the test still talks to the
# database directly (fixtures, assertions), which Django would otherwise refuse there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("THE402_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"  # tests/web/package.json
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDTHS = {"desktop": 1440, "phone": 390}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium the browser tests cannot run: say how to install it, loudly."""
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    reason = (
        f"Chromium not found at {CHROMIUM}: `make test` installs it with apt-get "
        "(`apt-get install -y chromium`), or set THE402_CHROMIUM to a Chromium binary"
    )
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def page(page: Any, live_server: Any) -> Iterator[Any]:
    """A page against the live server, with axe-core loaded and CSP violations collected."""
    page.add_init_script(path=str(AXE))
    violations: list[str] = []

    def watch(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    page.set_default_timeout(15_000)
    yield page
    assert not violations, violations


@pytest.fixture
def url(live_server: Any) -> Callable[[str], str]:
    def _url(path: str) -> str:
        return f"{live_server.url}{path}"

    return _url


@dataclass
class Wallet:
    """The test's devnet key behind the page's `window.ethereum`."""

    account: LocalAccount
    requests: list[str]

    @property
    def address(self) -> str:
        return str(self.account.address)

    def handle(self, method: str, params_json: str) -> str:
        params = json.loads(params_json)
        self.requests.append(method)
        if method == "personal_sign":
            message, _address = params
            signed = self.account.sign_message(encode_defunct(hexstr=message))
        elif method == "eth_signTypedData_v4":
            _address, typed = params
            data = json.loads(typed) if isinstance(typed, str) else typed
            signed = self.account.sign_typed_data(full_message=data)
        else:
            raise ValueError(f"the test wallet does not do {method}")
        return "0x" + bytes(signed.signature).hex().removeprefix("0x")


_PROVIDER = """
(() => {
  const address = %(address)s;
  window.ethereum = {
    isThe402TestWallet: true,
    async request({ method, params }) {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "eth_chainId") return "0x14a34";
      return await window.__the402WalletSign(method, JSON.stringify(params || []));
    },
  };
})();
"""


@pytest.fixture
def wallet(page: Any) -> Callable[[LocalAccount | None], Wallet]:
    """`wallet(account)` puts an EIP-1193 provider for `account` (a new key by default) into
    every page the test opens from then on."""

    def _install(account: LocalAccount | None = None) -> Wallet:
        installed = Wallet(account or Account.create(), [])
        page.expose_function("__the402WalletSign", installed.handle)
        page.add_init_script(_PROVIDER % {"address": json.dumps(installed.address)})
        return installed

    return _install


def axe_check(page: Any) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    detail = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in bad
    ]
    assert not bad, "\n".join(detail)


def snap(page: Any, name: str) -> None:
    """Screenshots of the page at desktop and phone widths, full length."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1440, "height": 900}
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)
