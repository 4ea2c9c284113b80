"""Client configuration from the environment (no Django: this package stands alone)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_API_BASE = "http://127.0.0.1:8000"
DEFAULT_MAX_PAYMENT_USD = "1.00"
MICROS = 1_000_000


class ConfigError(ValueError):
    """A bad configuration value, named in the message."""


def usd_to_micros(text: str, *, what: str) -> int:
    """'1.25' or '$1.25' -> 1250000 (exact; at most 6 decimals, never negative)."""
    cleaned = str(text).strip().removeprefix("$")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ConfigError(f"{what}: {text!r} is not an amount in USD") from None
    if not value.is_finite() or value < 0 or not cleaned.isascii():
        raise ConfigError(f"{what}: {text!r} is not an amount in USD")
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise ConfigError(f"{what}: {text!r} has more than 6 decimals")
    return int(micros)


def micros_to_usd(micros: int) -> str:
    return f"{Decimal(micros) / MICROS:.6f}".rstrip("0").rstrip(".") or "0"


def read_key_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError(f"wallet key file {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class Settings:
    """Where the API is and how to pay it.

    api_key: sent as X-API-Key (and X-BALANCE-AUTH on paid calls, as the official server).
    wallet_private_key: pays x402 challenges itself, each at most max_payment_micros.
    """

    api_base: str = DEFAULT_API_BASE
    api_key: str | None = None
    wallet_private_key: str | None = None
    max_payment_micros: int = usd_to_micros(DEFAULT_MAX_PAYMENT_USD, what="default")
    timeout: float = 60.0

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, *, key_file: str | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        wallet = env.get("THE402_WALLET_PRIVATE_KEY") or None
        key_file = key_file or env.get("THE402_WALLET_KEY_FILE") or None
        if wallet is None and key_file:
            wallet = read_key_file(key_file)
        return cls(
            api_base=(env.get("THE402_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            api_key=env.get("THE402_API_KEY") or None,
            wallet_private_key=wallet,
            max_payment_micros=usd_to_micros(
                env.get("THE402_MAX_PAYMENT_USD") or DEFAULT_MAX_PAYMENT_USD,
                what="THE402_MAX_PAYMENT_USD",
            ),
        )
