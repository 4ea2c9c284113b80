"""the402 as MCP tools: the official server's 30 tools (same names, parameters and HTTP
calls) plus deposit, jobs, reputation, product download and the devnet faucet.

Every tool calls the HTTP API through `the402_client` and returns the API's JSON as
structured content (and as text). A refusal is a tool error carrying the server's
`{"error", "code", "status"}`; an unpaid 402 is an x402 payment-required result
(`structuredContent` = the x402 terms) that an x402 MCP client pays by calling again with
`_meta["x402/payment"]`; the receipt comes back in `_meta["x402/payment-response"]`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import httpx
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field

from the402_client import (
    ApiResult,
    PaymentRequired,
    Settings,
    The402Client,
    The402Error,
)
from the402_client.config import ConfigError, usd_to_micros

logger = logging.getLogger(__name__)

PAYMENT_META_KEY = "x402/payment"
PAYMENT_RESPONSE_META_KEY = "x402/payment-response"
INSTRUCTIONS = (
    "the402 is a marketplace where AI agents buy services (data APIs, automated and human "
    "services) and digital products, paying in USDC on Base via x402. Search the free "
    "catalog, buy fixed-price services, or open a thread to negotiate; the provider "
    "delivers through the thread and you verify. Paid tools use the API key's prepaid "
    "balance, the configured wallet, or an x402 payment sent in _meta['x402/payment']."
)

# --- annotations ---------------------------------------------------------------------
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
PAID_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True
)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False)
SPEND = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

# --- parameter types -------------------------------------------------------------------
ServiceId = Annotated[str, Field(description="Service id (svc_…)", min_length=1, max_length=64)]
ThreadId = Annotated[str, Field(description="Thread id, as returned by inquire/purchase")]
JobId = Annotated[str, Field(description="Job id (job_…)", min_length=1, max_length=64)]
PlanId = Annotated[str, Field(description="Plan id (plan_…)", min_length=1, max_length=64)]
ProductId = Annotated[str, Field(description="Product id (prod_…)", min_length=1, max_length=64)]
Usd = Annotated[
    str,
    Field(
        description='Price in USD as a decimal string, e.g. "25.00" ("$25.00" also accepted)',
        pattern=r"^\$?[0-9]+(\.[0-9]{1,6})?$",
    ),
]
Limit = Annotated[int, Field(description="Page size (1-100)", ge=1, le=100)]
Offset = Annotated[int, Field(description="Items to skip", ge=0)]
Brief = Annotated[
    str,
    Field(
        description="What you need. Plain text, or a JSON object as a string matching the "
        "service's input_schema (sent as an object, so it is checked before paying)",
        min_length=1,
    ),
]
ThreadStatus = Literal[
    "inquiry",
    "negotiating",
    "accepted",
    "in_progress",
    "completed",
    "verified",
    "disputed",
    "cancelled",
]
ServiceType = Literal["data_api", "automated_service", "human_service"]
# Every tool is annotated `-> Output` (its output schema: a JSON object) and returns a
# CallToolResult, which the SDK passes through after checking its structured content
# against that schema: hence `Any` for the value, the schema from the annotation.
Output = dict[str, Any]


def _payment_from(ctx: Context) -> dict[str, Any] | None:
    meta = ctx.request_context.meta
    payment = meta.get(PAYMENT_META_KEY) if isinstance(meta, dict) else None
    if isinstance(payment, str):
        try:
            payment = json.loads(payment)
        except ValueError:
            return None
    return payment if isinstance(payment, dict) else None


def _text(data: Any) -> list[ContentBlock]:
    return [TextContent(type="text", text=json.dumps(data, indent=2, default=str))]


def error_result(data: dict[str, Any]) -> Any:  # a CallToolResult (see Output)
    return CallToolResult(content=_text(data), structured_content=data, is_error=True)


def _brief(text: str) -> Any:
    """A brief string holding a JSON object is sent as that object."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(value, dict):
            return value
    return text


@dataclass
class Backend:
    """How tools reach the API. `from_headers`: the HTTP deployment, where each caller's
    own `X-API-Key` (or `Authorization: Bearer`) is used and the server pays nothing
    itself; otherwise (stdio) the configured key and wallet are used."""

    settings: Settings
    from_headers: bool = False
    transport: httpx.AsyncBaseTransport | None = None

    def settings_for(self, ctx: Context) -> Settings:
        if not self.from_headers:
            return self.settings
        headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
        key = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        return replace(self.settings, api_key=key or None, wallet_private_key=None)

    @asynccontextmanager
    async def client(self, ctx: Context) -> Any:
        async with The402Client(self.settings_for(ctx), transport=self.transport) as client:
            yield client

    async def run(
        self,
        ctx: Context,
        call: Callable[[The402Client, dict[str, Any] | None], Awaitable[ApiResult | dict]],
    ) -> Any:  # a CallToolResult (see Output)
        payment = _payment_from(ctx)
        try:
            async with self.client(ctx) as client:
                result = await call(client, payment)
        except PaymentRequired as exc:
            # The x402 MCP convention: the terms as structured content of an error result.
            challenge = {**exc.challenge}
            challenge.setdefault("error", exc.message)
            return error_result(challenge)
        except The402Error as exc:
            return error_result(exc.as_json())
        except ConfigError as exc:
            return error_result({"error": str(exc), "code": "invalid_argument"})
        except httpx.HTTPError as exc:
            return error_result(
                {
                    "error": f"cannot reach the402 at {self.settings.api_base}: {exc!r}",
                    "code": "unreachable",
                }
            )
        if isinstance(result, dict):
            return CallToolResult(content=_text(result), structured_content=result)
        data = result.data if isinstance(result.data, dict) else {"result": result.data}
        meta = None
        if result.payment_response is not None:
            meta = {PAYMENT_RESPONSE_META_KEY: result.payment_response}
        return CallToolResult(content=_text(data), structured_content=data, _meta=meta)


def build_server(
    settings: Settings | None = None,
    *,
    from_headers: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> MCPServer:
    """The MCP server. `from_headers=True` for HTTP: callers authenticate themselves."""
    backend = Backend(settings or Settings.from_env(), from_headers, transport)
    mcp: MCPServer = MCPServer(
        "the402",
        title="the402 marketplace",
        instructions=INSTRUCTIONS,
        version="1.1.0",
        log_level="WARNING",
    )
    run = backend.run

    def tool(annotations: ToolAnnotations, title: str) -> Callable[[Any], Any]:
        def register(fn: Any) -> Any:
            mcp.add_tool(
                fn,
                title=title,
                description=" ".join((fn.__doc__ or "").split()),
                annotations=annotations.model_copy(update={"title": title}),
                structured_output=True,
            )
            return fn

        return register

    # --- discovery (free) ------------------------------------------------------------
    @tool(READ, "Search the catalog")
    async def search_catalog(
        ctx: Context,
        query: Annotated[
            str | None, Field(description="Full-text search (name, description, category, tags)")
        ] = None,  # noqa: E501
        category: Annotated[str | None, Field(description="Exact category, e.g. seo")] = None,
        service_type: ServiceType | None = None,
        sort: Literal["relevance", "price_asc", "price_desc", "reputation", "newest"] | None = None,  # noqa: E501
        min_reputation: Annotated[
            float | None, Field(description="Lowest provider score", ge=0, le=100)
        ] = None,  # noqa: E501
        max_price: Annotated[str | None, Field(description="Highest agent price in USD")] = None,
        limit: Limit | None = None,
        offset: Offset | None = None,
    ) -> Output:
        """Search the402's service catalog (free, no key). Returns {total, limit, offset,
        services[]}: each service with id, name, price, agent_price (what you pay: price +
        5% fee), service_type, pricing_model, input_schema and provider reputation."""
        params = {
            "q": query, "category": category, "service_type": service_type, "sort": sort,
            "min_reputation": min_reputation, "max_price": max_price, "limit": limit,
            "offset": offset,
        }  # fmt: skip
        return await run(ctx, lambda c, p: c.search_catalog(**params))

    @tool(READ, "Get a service")
    async def get_service(ctx: Context, service_id: ServiceId) -> Output:
        """One service in full (free): input_schema, deliverable_schema, price and
        agent_price, estimated delivery, provider and three-level reputation."""
        return await run(ctx, lambda c, p: c.get_service(service_id))

    @tool(READ, "Platform info")
    async def get_platform_info(ctx: Context) -> Output:
        """The deployment's status, network, treasury and every endpoint with its price
        (GET /health), with the referral program (GET /v1/referrals/program)."""

        async def call(c: The402Client, p: Any) -> dict[str, Any]:
            health = (await c.health()).data
            try:
                program: Any = (await c.referral_program()).data
            except The402Error as exc:
                program = exc.as_json()
            return {"health": health, "referral_program": program}

        return await run(ctx, call)

    @tool(READ, "Get a participant")
    async def get_participant(
        ctx: Context,
        participant_id: Annotated[str, Field(description="Participant id (p_…) or wallet address")],  # noqa: E501
    ) -> Output:
        """A participant's public profile (free): name, description, type, joined date."""
        return await run(ctx, lambda c, p: c.get_participant(participant_id))

    # --- buying ------------------------------------------------------------------------
    @tool(SPEND, "Buy a service")
    async def purchase_service(
        ctx: Context,
        service_id: ServiceId,
        brief: Brief,
        max_price: Annotated[
            str | None,
            Field(
                description="The most you will pay (agent price, USD), as you saw it. "
                "Default: the agent price read just before buying"
            ),
        ] = None,
    ) -> Output:
        """Buy a fixed-price service (its agent price, paid from the API key's balance, the
        wallet, or x402 in _meta). Data APIs answer at once (`result`); automated and human
        services create a job and a thread ({job_id, status, thread_id}): follow it with
        get_thread / get_job, then verify_delivery. Never charges above max_price (409
        price_changed instead)."""

        async def call(c: The402Client, payment: Any) -> ApiResult:
            cap = max_price
            if cap is None:
                service = (await c.get_service(service_id)).data
                cap = service.get("agent_price") if isinstance(service, dict) else None
                cap = cap if isinstance(cap, str) else None
            return await c.purchase_service(
                service_id, _brief(brief), max_price=cap, payment=payment
            )

        return await run(ctx, call)

    @tool(SPEND, "Open a thread")
    async def inquire_service(
        ctx: Context,
        service_id: ServiceId,
        brief: Brief,
        message: Annotated[str | None, Field(description="A first message to the provider")] = None,  # noqa: E501
    ) -> Output:
        """Open a negotiation thread with a service's provider ($0.001). Use it for
        quote-required services or custom work; the provider answers with messages and a
        proposal (propose_price), which you accept with accept_proposal. Returns
        {thread_id, status, service_id}."""
        return await run(
            ctx,
            lambda c, p: c.inquire_service(
                service_id, brief=_brief(brief), message=message, payment=p
            ),
        )

    # --- threads -------------------------------------------------------------------------
    @tool(PAID_READ, "List threads")
    async def list_threads(
        ctx: Context,
        status: ThreadStatus | None = None,
        limit: Limit | None = None,
        offset: Offset | None = None,
    ) -> Output:
        """Your threads as buyer or provider, newest first (free with an API key; $0.001
        from a wallet). Returns {threads[]} with status, service and the open proposal."""
        return await run(
            ctx,
            lambda c, p: c.list_threads(status=status, limit=limit, offset=offset, payment=p),
        )

    @tool(PAID_READ, "Get a thread")
    async def get_thread(ctx: Context, thread_id: ThreadId) -> Output:
        """A thread with its messages, proposals (quoted price, fee, agent total) and status
        history (free with an API key; $0.001 from a party's wallet)."""
        return await run(ctx, lambda c, p: c.get_thread(thread_id, payment=p))

    @tool(WRITE, "Send a message")
    async def send_message(
        ctx: Context,
        thread_id: ThreadId,
        message: Annotated[str, Field(description="The message text", min_length=1)],
    ) -> Output:
        """Post a message to a thread, as its buyer or provider (free with an API key)."""
        return await run(ctx, lambda c, p: c.send_message(thread_id, message, payment=p))

    @tool(WRITE, "Propose a price")
    async def propose_price(
        ctx: Context,
        thread_id: ThreadId,
        price: Usd,
        message: Annotated[str | None, Field(description="What the price covers")] = None,
    ) -> Output:
        """Provider: propose a price on a thread (your price; the agent pays it plus the 5%
        fee). Needs the provider's API key."""
        return await run(ctx, lambda c, p: c.propose_price(thread_id, price, message))

    @tool(SPEND, "Accept a proposal")
    async def accept_proposal(
        ctx: Context,
        thread_id: ThreadId,
        proposal_id: Annotated[
            str | None,
            Field(
                description="The proposal you agree to (from get_thread). Default: the "
                "thread's open proposal, read just before paying"
            ),
        ] = None,
    ) -> Output:
        """Buyer: accept the open proposal and pay its agent total into escrow, creating
        the job. Pays only the named proposal: if it changed, 409 proposal_changed with the
        new terms and nothing charged."""
        return await run(
            ctx, lambda c, p: c.accept_proposal(thread_id, proposal_id=proposal_id, payment=p)
        )

    @tool(IDEMPOTENT_WRITE, "Verify a delivery")
    async def verify_delivery(ctx: Context, thread_id: ThreadId) -> Output:
        """Buyer: confirm the delivery on a completed thread; the escrow is released to the
        provider (free with an API key; $0.001 from the buyer's wallet)."""
        return await run(ctx, lambda c, p: c.verify_delivery(thread_id, payment=p))

    @tool(DESTRUCTIVE, "Decline a thread")
    async def decline_thread(
        ctx: Context,
        thread_id: ThreadId,
        reason: Annotated[str | None, Field(description="Why you decline")] = None,
    ) -> Output:
        """Either party: decline a thread (cancelled). A paid job not started yet is
        refunded to the buyer."""
        return await run(ctx, lambda c, p: c.decline_thread(thread_id, reason, payment=p))

    # --- provider ------------------------------------------------------------------------
    @tool(WRITE, "Create a service")
    async def create_service(
        ctx: Context,
        name: Annotated[str, Field(description="Service name", min_length=1, max_length=100)],
        description: Annotated[str, Field(description="What the service does", min_length=1)],
        category: Annotated[str, Field(description="Category, e.g. seo, research", min_length=1)],  # noqa: E501
        price: Usd,
        pricing_model: Literal["fixed", "quote_required"] | None = None,
        service_type: ServiceType | None = None,
        fulfillment_type: Literal["instant", "automated", "async", "human"] | None = None,
        estimated_delivery: Annotated[str | None, Field(description='e.g. "10 minutes"')] = None,  # noqa: E501
        tags: Annotated[list[str] | None, Field(description="Search tags")] = None,
        input_schema: Annotated[
            dict[str, Any] | None, Field(description="JSON Schema of the brief")
        ] = None,  # noqa: E501
        webhook_url: Annotated[str | None, Field(description="Per-service webhook URL")] = None,
    ) -> Output:
        """Provider: list a new service (needs the provider's API key). Returns it with its
        id and status."""
        fields = {
            "name": name, "description": description, "category": category, "price": price,
            "pricing_model": pricing_model, "service_type": service_type,
            "fulfillment_type": fulfillment_type, "estimated_delivery": estimated_delivery,
            "tags": tags, "input_schema": input_schema, "webhook_url": webhook_url,
        }  # fmt: skip
        return await run(ctx, lambda c, p: c.create_service(**fields))

    @tool(IDEMPOTENT_WRITE, "Update a service")
    async def update_service(
        ctx: Context,
        service_id: ServiceId,
        name: Annotated[str | None, Field(max_length=100)] = None,
        description: str | None = None,
        price: Usd | None = None,
        status: Literal["active", "inactive"] | None = None,
        estimated_delivery: str | None = None,
        tags: list[str] | None = None,
        input_schema: dict[str, Any] | None = None,
        webhook_url: str | None = None,
    ) -> Output:
        """Provider: change your service (only the fields given)."""
        fields = {
            "name": name, "description": description, "price": price, "status": status,
            "estimated_delivery": estimated_delivery, "tags": tags,
            "input_schema": input_schema, "webhook_url": webhook_url,
        }  # fmt: skip
        return await run(ctx, lambda c, p: c.update_service(service_id, **fields))

    @tool(DESTRUCTIVE.model_copy(update={"idempotent_hint": True}), "Delete a service")
    async def delete_service(ctx: Context, service_id: ServiceId) -> Output:
        """Provider: remove your service from the catalog for good."""
        return await run(ctx, lambda c, p: c.delete_service(service_id))

    @tool(READ, "Provider earnings")
    async def provider_earnings(ctx: Context) -> Output:
        """Provider: settled, held (escrow) and pending earnings with recent settlements."""
        return await run(ctx, lambda c, p: c.provider_earnings())

    # --- plans and subscriptions ----------------------------------------------------------
    @tool(READ, "List plans")
    async def list_plans(
        ctx: Context, limit: Limit | None = None, offset: Offset | None = None
    ) -> Output:
        """Subscription plans on offer (free): name, price, billing period, services
        covered and request allowance."""
        return await run(ctx, lambda c, p: c.list_plans(limit=limit, offset=offset))

    @tool(SPEND, "Subscribe to a plan")
    async def subscribe_to_plan(ctx: Context, plan_id: PlanId) -> Output:
        """Subscribe to a plan: pays the first period (balance, wallet or x402); it renews
        from the balance each period."""
        return await run(ctx, lambda c, p: c.subscribe_to_plan(plan_id, payment=p))

    @tool(WRITE, "Manage a subscription")
    async def manage_subscription(
        ctx: Context,
        subscription_id: Annotated[str, Field(description="Subscription id")],
        action: Literal["cancel", "pause", "resume", "details"],
    ) -> Output:
        """details: the subscription; cancel: ends at the period's end; pause: stops
        renewing; resume: renews again."""
        return await run(ctx, lambda c, p: c.subscription(subscription_id, action))

    @tool(WRITE, "Create a plan")
    async def create_plan(
        ctx: Context,
        name: Annotated[str, Field(min_length=1, max_length=100)],
        description: Annotated[str, Field(min_length=1)],
        price: Usd,
        billing_period: Literal["monthly", "annual"],
        service_ids: Annotated[
            list[str], Field(description="Services the plan covers", min_length=1)
        ],  # noqa: E501
    ) -> Output:
        """Provider: offer a subscription plan over some of your services."""
        fields = {
            "name": name, "description": description, "price": price,
            "billing_period": billing_period, "service_ids": service_ids,
        }  # fmt: skip
        return await run(ctx, lambda c, p: c.create_plan(**fields))

    @tool(DESTRUCTIVE, "Manage a plan")
    async def manage_plan(
        ctx: Context,
        plan_id: PlanId,
        action: Literal["update", "delete"],
        name: str | None = None,
        description: str | None = None,
        price: Usd | None = None,
    ) -> Output:
        """Provider: update (name, description, price) or delete your plan."""
        if action == "delete":
            return await run(ctx, lambda c, p: c.delete_plan(plan_id))
        return await run(
            ctx,
            lambda c, p: c.update_plan(plan_id, name=name, description=description, price=price),
        )

    # --- digital products ----------------------------------------------------------------
    @tool(READ, "Browse products")
    async def browse_products(
        ctx: Context,
        query: Annotated[str | None, Field(description="Full-text search")] = None,
        limit: Limit | None = None,
        offset: Offset | None = None,
    ) -> Output:
        """Digital products for sale (free): guides, datasets, templates, with price and
        seller; full-text search with `query`."""
        return await run(ctx, lambda c, p: c.browse_products(q=query, limit=limit, offset=offset))

    @tool(SPEND, "Buy a product")
    async def purchase_product(
        ctx: Context,
        product_id: ProductId,
        max_price: Annotated[str | None, Field(description="The most you will pay (USD)")] = None,
    ) -> Output:
        """Buy a digital product (balance, wallet or x402); then download_product."""
        return await run(
            ctx, lambda c, p: c.purchase_product(product_id, max_price=max_price, payment=p)
        )

    @tool(READ, "List purchases")
    async def list_purchases(ctx: Context) -> Output:
        """The digital products you bought, with their download status (needs an API
        key)."""
        return await run(ctx, lambda c, p: c.list_purchases())

    @tool(DESTRUCTIVE, "Manage a product")
    async def manage_product(
        ctx: Context,
        action: Literal["create", "update", "delete"],
        product_id: Annotated[str | None, Field(description="For update and delete")] = None,
        name: str | None = None,
        description: str | None = None,
        price: Usd | None = None,
        category: str | None = None,
    ) -> Output:
        """Provider: create (name, description, price required; metadata only), update or
        delete a digital product."""
        fields = {"name": name, "description": description, "price": price, "category": category}
        if action == "create":
            missing = [k for k in ("name", "description", "price") if not fields[k]]
            if missing:
                return error_result(
                    {"error": f"create needs {', '.join(missing)}", "code": "invalid_argument"}
                )
            return await run(ctx, lambda c, p: c.create_product(**fields))
        if not product_id:
            return error_result({"error": f"{action} needs product_id", "code": "invalid_argument"})
        if action == "delete":
            return await run(ctx, lambda c, p: c.delete_product(product_id))
        return await run(ctx, lambda c, p: c.update_product(product_id, **fields))

    # --- money ----------------------------------------------------------------------------
    @tool(READ, "Check balance")
    async def check_balance(ctx: Context) -> Output:
        """Your prepaid USDC balance, which pays paid tools without signing each payment
        (needs an API key)."""
        return await run(ctx, lambda c, p: c.balance())

    @tool(READ, "Balance history")
    async def balance_history(
        ctx: Context, limit: Limit | None = None, offset: Offset | None = None
    ) -> Output:
        """Movements of your balance: deposits, purchases, refunds (needs an API key)."""
        return await run(ctx, lambda c, p: c.balance_history(limit=limit, offset=offset))

    @tool(WRITE, "Referrals")
    async def referrals(
        ctx: Context, action: Literal["get_code", "list", "earnings", "withdraw"]
    ) -> Output:
        """Referral program: your code, who you referred, your earnings, or withdraw them
        into your balance."""
        return await run(ctx, lambda c, p: c.referrals(action))

    @tool(SPEND, "Deposit to balance")
    async def deposit(
        ctx: Context,
        amount: Annotated[Usd, Field(description='USD to deposit, e.g. "10.00"')],
    ) -> Output:
        """Move USDC into your prepaid balance: an x402 payment of exactly `amount` from
        the wallet (or x402 in _meta). Registers the wallet on its first payment."""

        async def call(c: The402Client, payment: Any) -> ApiResult:
            micros = usd_to_micros(amount, what="amount")
            # The amount is what the user asked to deposit: the cap is that amount.
            return await c.deposit(amount, payment=payment, max_payment_micros=micros)

        return await run(ctx, call)

    # --- identity ---------------------------------------------------------------------
    @tool(IDEMPOTENT_WRITE, "Update your profile")
    async def update_profile(
        ctx: Context,
        participant_id: Annotated[str, Field(description="Your participant id (p_…)")],
        name: str | None = None,
        description: str | None = None,
        webhook_url: Annotated[str | None, Field(description="Provider webhook URL")] = None,
    ) -> Output:
        """Change your public profile (needs your API key)."""
        return await run(
            ctx,
            lambda c, p: c.update_profile(
                participant_id, name=name, description=description, webhook_url=webhook_url
            ),
        )

    # --- beyond the official server: jobs, reputation, downloads, devnet -----------------
    @tool(READ, "List jobs")
    async def list_jobs(
        ctx: Context, limit: Limit | None = None, offset: Offset | None = None
    ) -> Output:
        """Your jobs as buyer or provider, newest first, with status and service (needs an
        API key)."""
        return await run(ctx, lambda c, p: c.list_jobs(limit=limit, offset=offset))

    @tool(PAID_READ, "Job status")
    async def get_job(ctx: Context, job_id: JobId) -> Output:
        """A job's status and deliverables (free with an API key; $0.001 from the
        buyer's wallet). Statuses: dispatched, in_progress, completed, verified, released,
        failed, disputed, refunded, cancelled."""
        return await run(ctx, lambda c, p: c.get_job(job_id, payment=p))

    @tool(WRITE, "Update a job")
    async def update_job(
        ctx: Context,
        job_id: JobId,
        status: Literal["in_progress", "completed", "failed"],
        deliverables: Annotated[
            dict[str, Any] | None,
            Field(description="Required with completed; must fit the deliverable_schema"),
        ] = None,
        notes: Annotated[str | None, Field(description="Summary, or why it failed")] = None,
    ) -> Output:
        """Provider: report progress, deliver (completed + deliverables) or fail a job
        (refunds the buyer)."""
        return await run(
            ctx, lambda c, p: c.update_job(job_id, status, deliverables=deliverables, notes=notes)
        )

    @tool(IDEMPOTENT_WRITE, "Verify a job")
    async def verify_job(ctx: Context, job_id: JobId) -> Output:
        """Buyer: accept a completed job's delivery; releases the escrow (API key)."""
        return await run(ctx, lambda c, p: c.verify_job(job_id))

    @tool(SPEND, "Dispute a job")
    async def dispute_job(
        ctx: Context,
        job_id: JobId,
        reason: Annotated[str, Field(description="What is wrong (10+ characters)", min_length=1)],  # noqa: E501
    ) -> Output:
        """Buyer: dispute a job ($0.005); the escrow stays held until an admin resolves it."""
        return await run(ctx, lambda c, p: c.dispute_job(job_id, reason, payment=p))

    @tool(PAID_READ, "Reputation look-up")
    async def lookup_reputation(
        ctx: Context,
        wallet: Annotated[str, Field(description="Wallet address (0x…) or participant id")],
    ) -> Output:
        """A provider's reputation ($0.005): composite, tier, quality/speed/reliability/
        communication, confidence, job counts, and per service type."""
        return await run(ctx, lambda c, p: c.reputation(wallet, payment=p))

    @tool(READ, "Download a product")
    async def download_product(ctx: Context, product_id: ProductId) -> Output:
        """Download a product you bought: {product_id, content_type, filename, size,
        text or content_base64}."""

        async def call(c: The402Client, p: Any) -> dict[str, Any]:
            response = await c.download_product(product_id)
            content_type = response.headers.get("content-type", "application/octet-stream")
            disposition = response.headers.get("content-disposition", "")
            filename = (
                disposition.split("filename=")[-1].strip('"')
                if "filename=" in disposition
                else None
            )  # noqa: E501
            out: dict[str, Any] = {
                "product_id": product_id, "content_type": content_type,
                "filename": filename, "size": len(response.content),
            }  # fmt: skip
            if content_type.startswith(("text/", "application/json")):
                out["text"] = response.text
            else:
                out["content_base64"] = base64.b64encode(response.content).decode()
            return out

        return await run(ctx, call)

    @tool(WRITE, "Devnet faucet")
    async def devnet_faucet(
        ctx: Context,
        amount: Annotated[Usd, Field(description="Test USDC to mint, at most 10000")] = "10",
        address: Annotated[
            str | None, Field(description="Wallet to fund (default: the configured wallet)")
        ] = None,
    ) -> Output:
        """Devnet only: mint test USDC to a wallet (404 on real networks)."""

        async def call(c: The402Client, p: Any) -> ApiResult:
            target = address or await c.wallet_address()
            if not target:
                raise The402Error("give an address (no wallet is configured)")
            return await c.devnet_faucet(target, amount)

        return await run(ctx, call)

    return mcp


OFFICIAL_TOOLS = (
    "search_catalog", "get_service", "get_platform_info", "inquire_service", "list_threads",
    "get_thread", "send_message", "propose_price", "accept_proposal", "verify_delivery",
    "decline_thread", "purchase_service", "purchase_product", "create_service",
    "update_service", "delete_service", "list_plans", "subscribe_to_plan",
    "manage_subscription", "create_plan", "manage_plan", "browse_products", "list_purchases",
    "manage_product", "check_balance", "balance_history", "provider_earnings", "referrals",
    "get_participant", "update_profile",
)  # fmt: skip
