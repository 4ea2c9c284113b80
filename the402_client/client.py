"""A small typed async client of the402's HTTP API (httpx), with x402 payments.

Three kinds of calls:

* public: no credentials (the catalog, a service, a profile, health);
* key: `X-API-Key` required (provider actions, balance, job updates);
* paid: the API key when there is one (`X-API-Key`, and `X-BALANCE-AUTH` to pay from the
  prepaid balance, as the official MCP server does); a 402 (no key, a short balance, an
  endpoint that takes no balance) is paid by the configured wallet with the official x402
  client up to the cap, or by an x402 payment payload handed in by the caller (MCP's
  `_meta["x402/payment"]`); otherwise it is raised as `PaymentRequired` with its terms.

Nothing here imports Django or the402's apps: it speaks HTTP only.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from the402_client.config import Settings
from the402_client.errors import ApiError, ConfigurationNeeded, PaymentRequired

Auth = Literal["public", "key", "paid"]
USER_AGENT = "the402-python-client/0.1"
PAYMENT_RESPONSE_HEADERS = ("PAYMENT-RESPONSE", "X-PAYMENT-RESPONSE")


@dataclass
class ApiResult:
    """A 2xx answer. `paid_with` is "balance", "wallet" or "x402" (a payload from the
    caller) when the call was paid; `payment_response` is the decoded settlement receipt."""

    status: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)
    paid_with: str | None = None
    paid_micros: int = 0
    payment_response: dict[str, Any] | None = None


def _decode_b64_json(value: str) -> Any:
    try:
        return json.loads(base64.b64decode(value))
    except (ValueError, TypeError):
        return None


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def encode_payment(payment: dict[str, Any]) -> dict[str, str]:
    """An x402 payment payload (a dict, as carried in MCP `_meta`) as its HTTP header."""
    encoded = base64.b64encode(json.dumps(payment, separators=(",", ":")).encode()).decode()
    name = "X-PAYMENT" if payment.get("x402Version") == 1 else "PAYMENT-SIGNATURE"
    return {name: encoded}


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without empty values (as the official server drops them)."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}


class The402Client:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._http = httpx.AsyncClient(
            base_url=self.settings.api_base,
            timeout=self.settings.timeout,
            transport=transport,
            headers={"User-Agent": user_agent},
        )
        self._payer: Any = None

    async def __aenter__(self) -> The402Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing ---------------------------------------------------------------------
    async def payer(self) -> Any:
        """The wallet payer (None without a wallet key), set up from /health once."""
        if self._payer is None and self.settings.wallet_private_key:
            from the402_client.payer import TEST_NETWORKS, WalletPayer

            health = (await self.request("GET", "/health")).data
            test_asset = None
            if isinstance(health, dict) and health.get("network_caip2") in TEST_NETWORKS:
                test_asset = health.get("asset")
            self._payer = WalletPayer(
                self.settings.wallet_private_key,
                max_payment_micros=self.settings.max_payment_micros,
                test_asset=test_asset,
            )
        return self._payer

    async def wallet_address(self) -> str | None:
        payer = await self.payer()
        return payer.address if payer else None

    async def _send(
        self, method: str, path: str, headers: dict[str, str], params: Any, body: Any
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": headers, "params": _clean(params)}
        if body is not None:
            kwargs["json"] = body
        return await self._http.request(method, path, **kwargs)

    def _raise(self, response: httpx.Response, method: str, path: str) -> None:
        body = _body(response)
        if response.status_code == 402:
            header = response.headers.get("PAYMENT-REQUIRED")
            challenge = _decode_b64_json(header) if header else None
            if not isinstance(challenge, dict):
                challenge = body if isinstance(body, dict) else {}
            raise PaymentRequired(402, body, challenge, method=method, path=path)
        raise ApiError(response.status_code, body, method=method, path=path)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        auth: Auth = "public",
        balance: bool = True,
        payment: dict[str, Any] | None = None,
        max_payment_micros: int | None = None,
    ) -> ApiResult:
        """One API call; raises ApiError (PaymentRequired for an unpaid 402)."""
        key = self.settings.api_key
        headers: dict[str, str] = {}
        if auth == "key" and not key:
            raise ConfigurationNeeded(
                f"{method} {path} needs an API key: set THE402_API_KEY (or send X-API-Key)"
            )
        if auth != "public" and key:
            headers["X-API-Key"] = key
        paid_with: str | None = None
        if auth == "paid" and payment is not None:
            headers.update(encode_payment(payment))
            paid_with = "x402"
        elif auth == "paid" and key and balance:
            headers["X-BALANCE-AUTH"] = key
            paid_with = "balance"
        response = await self._send(method, path, headers, params, body)
        paid_micros = 0
        if auth == "paid" and payment is None and self._balance_refused(response):
            # A short balance (402) or an endpoint that takes none: pay with x402 instead.
            headers.pop("X-BALANCE-AUTH", None)
            paid_with = None
            if response.status_code != 402:
                response = await self._send(method, path, headers, params, body)
            payer = await self.payer() if response.status_code == 402 else None
            if payer is not None:
                from the402_client.payer import challenge_from

                challenge = challenge_from(response.headers, response.content)
                pay_headers, paid_micros = await payer.headers_for(
                    challenge, cap_micros=max_payment_micros
                )
                response = await self._send(method, path, {**headers, **pay_headers}, params, body)
                paid_with = "wallet"
        if response.status_code >= 400:
            self._raise(response, method, path)
        receipt = next(
            (response.headers[h] for h in PAYMENT_RESPONSE_HEADERS if h in response.headers), None
        )
        payment_response = _decode_b64_json(receipt) if receipt else None
        if paid_with == "x402" and payment_response is None:
            paid_with = None  # an API key served it: the payload was not used
        return ApiResult(
            status=response.status_code,
            data=_body(response),
            headers=dict(response.headers),
            paid_with=paid_with,
            paid_micros=paid_micros,
            payment_response=payment_response if isinstance(payment_response, dict) else None,
        )

    @staticmethod
    def _balance_refused(response: httpx.Response) -> bool:
        if response.status_code == 402:
            return True
        if response.status_code in (400, 403, 409):
            body = _body(response)
            return isinstance(body, dict) and body.get("code") == "balance_not_accepted"
        return False

    async def raw_get(self, path: str, *, auth: Auth = "key") -> httpx.Response:
        """A GET whose body may be a file (a product download): the raw response."""
        headers = {"X-API-Key": self.settings.api_key} if self.settings.api_key else {}
        if auth == "key" and not headers:
            raise ConfigurationNeeded(f"GET {path} needs an API key: set THE402_API_KEY")
        response = await self._http.get(path, headers=headers)
        if response.status_code >= 400:
            self._raise(response, "GET", path)
        return response

    # --- discovery --------------------------------------------------------------------
    async def health(self) -> ApiResult:
        return await self.request("GET", "/health")

    async def search_catalog(self, **params: Any) -> ApiResult:
        """Query keys as the API takes them: q, category, service_type, sort,
        min_reputation, max_price, provider, limit, offset."""
        return await self.request("GET", "/v1/services/catalog", params=params)

    async def get_service(self, service_id: str) -> ApiResult:
        return await self.request("GET", f"/v1/services/{service_id}")

    async def referral_program(self) -> ApiResult:
        return await self.request("GET", "/v1/referrals/program")

    # --- buying -----------------------------------------------------------------------
    async def purchase_service(
        self,
        service_id: str,
        brief: Any,
        *,
        max_price: str | None = None,
        payment: dict[str, Any] | None = None,
    ) -> ApiResult:
        """Buy at most at `max_price` (agent price, USD): a higher price is refused 409."""
        return await self.request(
            "POST",
            f"/v1/services/{service_id}/purchase",
            params={"max_price": max_price},
            body={"brief": brief},
            auth="paid",
            payment=payment,
        )

    async def inquire_service(
        self,
        service_id: str,
        *,
        brief: Any = None,
        message: str | None = None,
        payment: dict[str, Any] | None = None,
    ) -> ApiResult:
        body: dict[str, Any] = {}
        if brief not in (None, ""):
            body["brief"] = brief
        if message:
            body["message"] = message
        return await self.request(
            "POST", f"/v1/services/{service_id}/inquire", body=body, auth="paid", payment=payment
        )

    # --- threads ----------------------------------------------------------------------
    async def list_threads(
        self, *, payment: dict[str, Any] | None = None, **params: Any
    ) -> ApiResult:
        return await self.request("GET", "/v1/threads", params=params, auth="paid", payment=payment)

    async def get_thread(
        self, thread_id: str, *, payment: dict[str, Any] | None = None
    ) -> ApiResult:
        return await self.request("GET", f"/v1/threads/{thread_id}", auth="paid", payment=payment)

    async def send_message(
        self, thread_id: str, message: str, *, payment: dict[str, Any] | None = None
    ) -> ApiResult:
        return await self.request(
            "POST",
            f"/v1/threads/{thread_id}/messages",
            body={"message": message},
            auth="paid",
            payment=payment,
        )

    async def propose_price(
        self, thread_id: str, price: str, message: str | None = None
    ) -> ApiResult:
        body: dict[str, Any] = {"price": price}
        if message:
            body["message"] = message
        return await self.request("POST", f"/v1/threads/{thread_id}/propose", body=body, auth="key")

    async def accept_proposal(
        self,
        thread_id: str,
        *,
        proposal_id: str | None = None,
        payment: dict[str, Any] | None = None,
    ) -> ApiResult:
        """Pay the proposal named `proposal_id`. Without it, the thread is read first and its
        open proposal named, so the buyer pays only the proposal it was shown."""
        if proposal_id is None:
            thread = (await self.get_thread(thread_id)).data
            proposal = thread.get("proposal") if isinstance(thread, dict) else None
            if isinstance(proposal, dict) and proposal.get("status") not in ("accepted",):
                proposal_id = proposal.get("proposal_id")
        return await self.request(
            "POST",
            f"/v1/threads/{thread_id}/accept",
            body={"proposal_id": proposal_id} if proposal_id else {},
            auth="paid",
            payment=payment,
        )

    async def verify_delivery(
        self, thread_id: str, *, payment: dict[str, Any] | None = None
    ) -> ApiResult:
        return await self.request(
            "POST", f"/v1/threads/{thread_id}/verify", body={}, auth="paid", payment=payment
        )

    async def decline_thread(
        self, thread_id: str, reason: str | None = None, *, payment: dict[str, Any] | None = None
    ) -> ApiResult:
        return await self.request(
            "POST",
            f"/v1/threads/{thread_id}/decline",
            body={"reason": reason} if reason else {},
            auth="paid",
            payment=payment,
        )

    # --- jobs -------------------------------------------------------------------------
    async def list_jobs(self, **params: Any) -> ApiResult:
        return await self.request("GET", "/v1/jobs", params=params, auth="key")

    async def get_job(self, job_id: str, *, payment: dict[str, Any] | None = None) -> ApiResult:
        return await self.request("GET", f"/v1/jobs/{job_id}", auth="paid", payment=payment)

    async def update_job(
        self,
        job_id: str,
        status: str,
        *,
        deliverables: Any = None,
        notes: str | None = None,
    ) -> ApiResult:
        body: dict[str, Any] = {"status": status}
        if deliverables is not None:
            body["deliverables"] = deliverables
        if notes:
            body["notes"] = notes
        return await self.request("POST", f"/v1/jobs/{job_id}/update", body=body, auth="key")

    async def verify_job(self, job_id: str, **body: Any) -> ApiResult:
        body = {k: v for k, v in body.items() if v is not None}
        return await self.request("POST", f"/v1/jobs/{job_id}/verify", body=body, auth="key")

    async def dispute_job(
        self, job_id: str, reason: str, *, payment: dict[str, Any] | None = None
    ) -> ApiResult:
        return await self.request(
            "POST",
            f"/v1/jobs/{job_id}/dispute",
            body={"reason": reason},
            auth="paid",
            payment=payment,
        )

    # --- provider ---------------------------------------------------------------------
    async def create_service(self, **fields: Any) -> ApiResult:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self.request("POST", "/v1/services", body=body, auth="key")

    async def update_service(self, service_id: str, **fields: Any) -> ApiResult:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self.request("PUT", f"/v1/services/{service_id}", body=body, auth="key")

    async def delete_service(self, service_id: str) -> ApiResult:
        return await self.request("DELETE", f"/v1/services/{service_id}", auth="key")

    async def provider_earnings(self) -> ApiResult:
        return await self.request("GET", "/v1/provider/earnings", auth="key")

    # --- plans and subscriptions --------------------------------------------------------
    async def list_plans(self, **params: Any) -> ApiResult:
        return await self.request("GET", "/v1/plans", params=params)

    async def subscribe_to_plan(
        self, plan_id: str, *, payment: dict[str, Any] | None = None
    ) -> ApiResult:
        return await self.request(
            "POST", f"/v1/plans/{plan_id}/subscribe", auth="paid", payment=payment
        )

    async def subscription(self, subscription_id: str, action: str) -> ApiResult:
        if action == "details":
            return await self.request("GET", f"/v1/subscriptions/{subscription_id}", auth="key")
        return await self.request(
            "POST", f"/v1/subscriptions/{subscription_id}/{action}", auth="key"
        )

    async def create_plan(self, **fields: Any) -> ApiResult:
        return await self.request("POST", "/v1/plans", body=fields, auth="key")

    async def update_plan(self, plan_id: str, **fields: Any) -> ApiResult:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self.request("PUT", f"/v1/plans/{plan_id}", body=body, auth="key")

    async def delete_plan(self, plan_id: str) -> ApiResult:
        return await self.request("DELETE", f"/v1/plans/{plan_id}", auth="key")

    # --- digital products ---------------------------------------------------------------
    async def browse_products(self, **params: Any) -> ApiResult:
        return await self.request("GET", "/v1/products", params=params)

    async def purchase_product(
        self,
        product_id: str,
        *,
        max_price: str | None = None,
        payment: dict[str, Any] | None = None,
    ) -> ApiResult:
        return await self.request(
            "POST",
            f"/v1/products/{product_id}/purchase",
            params={"max_price": max_price},
            auth="paid",
            payment=payment,
        )

    async def list_purchases(self) -> ApiResult:
        return await self.request("GET", "/v1/purchases", auth="key")

    async def create_product(self, **fields: Any) -> ApiResult:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self.request("POST", "/v1/products", body=body, auth="key")

    async def update_product(self, product_id: str, **fields: Any) -> ApiResult:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self.request("PUT", f"/v1/products/{product_id}", body=body, auth="key")

    async def delete_product(self, product_id: str) -> ApiResult:
        return await self.request("DELETE", f"/v1/products/{product_id}", auth="key")

    async def download_product(self, product_id: str) -> httpx.Response:
        return await self.raw_get(f"/v1/products/{product_id}/download")

    # --- money ------------------------------------------------------------------------
    async def balance(self) -> ApiResult:
        return await self.request("GET", "/v1/balance", auth="key")

    async def balance_history(self, **params: Any) -> ApiResult:
        return await self.request("GET", "/v1/balance/history", params=params, auth="key")

    async def deposit(
        self,
        amount: str,
        *,
        payment: dict[str, Any] | None = None,
        max_payment_micros: int | None = None,
    ) -> ApiResult:
        """Move `amount` USD of USDC into the prepaid balance (x402 for exactly that)."""
        return await self.request(
            "POST",
            "/v1/balance/deposit",
            params={"amount": amount},
            body={},
            auth="paid",
            balance=False,
            payment=payment,
            max_payment_micros=max_payment_micros,
        )

    async def referrals(self, action: str) -> ApiResult:
        paths = {
            "get_code": ("GET", "/v1/referrals/code"),
            "list": ("GET", "/v1/referrals"),
            "earnings": ("GET", "/v1/referrals/earnings"),
            "withdraw": ("POST", "/v1/referrals/withdraw"),
        }
        method, path = paths[action]
        return await self.request(method, path, auth="key")

    # --- participants and reputation ----------------------------------------------------
    async def get_participant(self, participant_id: str) -> ApiResult:
        return await self.request("GET", f"/v1/participants/{participant_id}")

    async def update_profile(self, participant_id: str, **fields: Any) -> ApiResult:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self.request(
            "PUT", f"/v1/participants/{participant_id}", body=body, auth="key"
        )

    async def reputation(self, wallet: str, *, payment: dict[str, Any] | None = None) -> ApiResult:
        return await self.request("GET", f"/v1/reputation/{wallet}", auth="paid", payment=payment)

    async def devnet_faucet(self, address: str, amount: str) -> ApiResult:
        return await self.request(
            "POST", "/v1/devnet/faucet", body={"address": address, "amount": amount}
        )
