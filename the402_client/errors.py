"""Errors of the client: what the API answered, or why the client did not send a request."""

from __future__ import annotations

from typing import Any


class The402Error(Exception):
    """Base class. `as_json()` is the error as a tool or `--json` shows it."""

    code = "client_error"

    def as_json(self) -> dict[str, Any]:
        return {"error": str(self), "code": self.code}


class ConfigurationNeeded(The402Error):
    """The call needs a credential that is not configured (an API key, a wallet)."""

    code = "not_configured"


class PaymentTooHigh(The402Error):
    """A challenge above the automatic payment cap: nothing was signed."""

    code = "payment_above_cap"

    def __init__(self, message: str, *, amount_micros: int, cap_micros: int) -> None:
        super().__init__(message)
        self.amount_micros = amount_micros
        self.cap_micros = cap_micros

    def as_json(self) -> dict[str, Any]:
        return {
            **super().as_json(),
            "amount_micros": self.amount_micros,
            "cap_micros": self.cap_micros,
        }


class ApiError(The402Error):
    """A non-2xx answer: the server's `{"error", "code"}` plus the HTTP status and body."""

    def __init__(self, status: int, body: Any, *, method: str, path: str) -> None:
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = body["error"]
        else:
            message = str(body)[:500] or f"HTTP {status}"
        super().__init__(f"{method} {path} -> {status}: {message}")
        self.status = status
        self.body = body
        self.message = message
        self.code = (
            str(body["code"]) if isinstance(body, dict) and body.get("code") else f"http_{status}"
        )

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message, "code": self.code, "status": self.status}
        if isinstance(self.body, dict):
            out["details"] = {k: v for k, v in self.body.items() if k not in ("error", "code")}
        return out


class PaymentRequired(ApiError):
    """A 402 the client could not (or was not allowed to) pay. `challenge` holds the x402
    terms: the decoded v2 PAYMENT-REQUIRED header when there is one, else the v1 body."""

    def __init__(
        self, status: int, body: Any, challenge: dict[str, Any], *, method: str, path: str
    ) -> None:
        super().__init__(status, body, method=method, path=path)
        self.challenge = challenge
