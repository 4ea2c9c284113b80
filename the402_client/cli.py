"""`the402`: the marketplace from the command line.

    the402 search seo --max-price 5
    the402 buy svc_... --brief '{"url": "https://example.com"}' --wait
    the402 threads | thread ID | accept ID | verify ID
    the402 job job_... | balance | deposit 10 | faucet 10

`--json` prints the API's answer as it is. Paid commands use THE402_API_KEY's balance, else
the wallet (THE402_WALLET_PRIVATE_KEY or --key-file), paying x402 automatically up to
THE402_MAX_PAYMENT_USD (or --max-payment).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx

from the402_client.client import ApiResult, The402Client
from the402_client.config import ConfigError, Settings, usd_to_micros
from the402_client.errors import The402Error

JOB_DONE = {"completed", "verified", "released", "failed", "refunded", "cancelled", "disputed"}


def _brief(text: str | None) -> Any:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def _out(stream: Any, text: str) -> None:
    print(text, file=stream, flush=True)


# --- human-readable renderings -------------------------------------------------------------
def _price(service: dict[str, Any]) -> str:
    price = service.get("agent_price")
    if isinstance(price, dict):
        return f"${price.get('min')}-${price.get('max')}"
    return f"${price}" if price is not None else "?"


def render(command: str, data: Any) -> str:
    if not isinstance(data, dict):
        return json.dumps(data, indent=2)
    if command == "search":
        lines = [f"{data.get('total', 0)} services"]
        for s in data.get("services", []):
            rep = s.get("provider_reputation")
            lines.append(
                f"  {s.get('id')}  {_price(s):>12}  {s.get('service_type', ''):<18} "
                f"{s.get('name')}" + (f"  (reputation {rep})" if rep is not None else "")
            )
        return "\n".join(lines)
    if command == "threads":
        lines = [f"{len(data.get('threads', []))} threads"]
        for t in data.get("threads", []):
            proposal = t.get("proposal") or {}
            total = proposal.get("agent_total_usd")
            lines.append(
                f"  {t.get('thread_id')}  {t.get('status', ''):<12} {t.get('service_id', '')}"
                + (f"  proposal ${total}" if total is not None else "")
            )
        return "\n".join(lines)
    if command == "balance":
        return f"balance: ${data.get('balance_usd')}  " + json.dumps(
            {k: v for k, v in data.items() if k != "balance_usd"}
        )
    return json.dumps(data, indent=2)


# --- commands --------------------------------------------------------------------------------
async def _wait_for_job(
    client: The402Client, job_id: str, timeout: float, progress: Any
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    interval = 1.0 if client.settings.api_key else 3.0  # without a key each look costs $0.001
    while True:
        job = (await client.get_job(job_id)).data
        status = job.get("status")
        if status != last:
            _out(progress, f"{job_id}: {status}")
            last = status
        if status in JOB_DONE or time.monotonic() > deadline:
            return job
        await asyncio.sleep(interval)


async def cmd_buy(client: The402Client, args: argparse.Namespace) -> Any:
    max_price = args.max_price
    if max_price is None:
        service = (await client.get_service(args.service_id)).data
        max_price = (
            service.get("agent_price") if isinstance(service.get("agent_price"), str) else None
        )  # noqa: E501
        if not args.json:
            _out(sys.stderr, f"buying {service.get('name')} for ${max_price or '?'}")
    result = await client.purchase_service(args.service_id, _brief(args.brief), max_price=max_price)
    data = result.data
    if args.wait and isinstance(data, dict) and data.get("job_id") and "result" not in data:
        if data.get("status") not in JOB_DONE:
            data = {
                **data,
                "job": await _wait_for_job(client, data["job_id"], args.timeout, sys.stderr),
            }  # noqa: E501
    return data


def _commands() -> dict[str, Callable[[The402Client, argparse.Namespace], Awaitable[Any]]]:
    async def search(c: The402Client, a: argparse.Namespace) -> Any:
        return await c.search_catalog(
            q=" ".join(a.query), category=a.category, service_type=a.type, sort=a.sort,
            max_price=a.max_price, min_reputation=a.min_reputation, limit=a.limit,
            offset=a.offset,
        )  # fmt: skip

    async def faucet(c: The402Client, a: argparse.Namespace) -> Any:
        address = a.address or await c.wallet_address()
        if not address:
            raise The402Error("give --address (no wallet is configured)")
        return await c.devnet_faucet(address, a.amount)

    async def deposit(c: The402Client, a: argparse.Namespace) -> Any:
        return await c.deposit(a.amount, max_payment_micros=usd_to_micros(a.amount, what="amount"))

    return {
        "search": search,
        "service": lambda c, a: c.get_service(a.service_id),
        "info": lambda c, a: c.health(),
        "buy": cmd_buy,
        "inquire": lambda c, a: c.inquire_service(
            a.service_id, brief=_brief(a.brief), message=a.message
        ),  # noqa: E501
        "threads": lambda c, a: c.list_threads(status=a.status, limit=a.limit),
        "thread": lambda c, a: c.get_thread(a.thread_id),
        "message": lambda c, a: c.send_message(a.thread_id, " ".join(a.text)),
        "propose": lambda c, a: c.propose_price(a.thread_id, a.price, a.message),
        "accept": lambda c, a: c.accept_proposal(a.thread_id, proposal_id=a.proposal_id),
        "verify": lambda c, a: c.verify_delivery(a.thread_id),
        "decline": lambda c, a: c.decline_thread(a.thread_id, a.reason),
        "jobs": lambda c, a: c.list_jobs(limit=a.limit),
        "job": lambda c, a: c.get_job(a.job_id),
        "dispute": lambda c, a: c.dispute_job(a.job_id, a.reason),
        "balance": lambda c, a: c.balance(),
        "history": lambda c, a: c.balance_history(limit=a.limit),
        "deposit": deposit,
        "earnings": lambda c, a: c.provider_earnings(),
        "reputation": lambda c, a: c.reputation(a.wallet),
        "participant": lambda c, a: c.get_participant(a.participant_id),
        "faucet": faucet,
    }


def _common_options(p: argparse.ArgumentParser, default: Any) -> None:
    flag: dict[str, Any] = {"default": default} if default is not None else {}
    p.add_argument("--json", action="store_true", help="print the API's JSON answer", **flag)
    p.add_argument(
        "--api-base", help="API URL (THE402_API_BASE; default http://127.0.0.1:8000)", **flag
    )  # noqa: E501
    p.add_argument("--api-key", help="API key (THE402_API_KEY)", **flag)
    p.add_argument("--key-file", help="file holding the wallet's private key", **flag)
    p.add_argument(
        "--max-payment",
        help="most USD paid automatically per call (THE402_MAX_PAYMENT_USD)",
        **flag,
    )  # noqa: E501


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="the402", description=__doc__.split("\n\n")[0])
    _common_options(p, None)
    # The same options after the command (`the402 search seo --json`); there they leave
    # whatever was given before the command alone unless given again.
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])  # type: ignore[method-assign]

    s = sub.add_parser("search", help="search the catalog")
    s.add_argument("query", nargs="*")
    s.add_argument("--category")
    s.add_argument("--type", choices=["data_api", "automated_service", "human_service"])
    s.add_argument(
        "--sort", choices=["relevance", "price_asc", "price_desc", "reputation", "newest"]
    )  # noqa: E501
    s.add_argument("--max-price")
    s.add_argument("--min-reputation", type=float)
    s.add_argument("--limit", type=int)
    s.add_argument("--offset", type=int)
    sub.add_parser("service", help="one service").add_argument("service_id")
    sub.add_parser("info", help="the deployment's /health")
    b = sub.add_parser("buy", help="buy a fixed-price service")
    b.add_argument("service_id")
    b.add_argument("--brief", help="the brief: a JSON object or text")
    b.add_argument("--max-price", help="most you pay (agent price, USD); default: the current one")  # noqa: E501
    b.add_argument("--wait", action="store_true", help="follow the job until it is done")
    b.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits at most")
    i = sub.add_parser("inquire", help="open a thread with a provider ($0.001)")
    i.add_argument("service_id")
    i.add_argument("--brief")
    i.add_argument("--message")
    t = sub.add_parser("threads", help="your threads")
    t.add_argument("--status")
    t.add_argument("--limit", type=int)
    sub.add_parser("thread", help="one thread with its messages").add_argument("thread_id")
    m = sub.add_parser("message", help="write to a thread")
    m.add_argument("thread_id")
    m.add_argument("text", nargs="+")
    pr = sub.add_parser("propose", help="provider: propose a price")
    pr.add_argument("thread_id")
    pr.add_argument("price")
    pr.add_argument("--message")
    a = sub.add_parser("accept", help="accept the open proposal and pay it")
    a.add_argument("thread_id")
    a.add_argument("--proposal-id")
    sub.add_parser("verify", help="confirm a thread's delivery").add_argument("thread_id")
    d = sub.add_parser("decline", help="decline a thread")
    d.add_argument("thread_id")
    d.add_argument("--reason")
    sub.add_parser("jobs", help="your jobs").add_argument("--limit", type=int)
    sub.add_parser("job", help="a job's status").add_argument("job_id")
    dj = sub.add_parser("dispute", help="dispute a job ($0.005)")
    dj.add_argument("job_id")
    dj.add_argument("reason")
    sub.add_parser("balance", help="your prepaid balance")
    sub.add_parser("history", help="your balance's movements").add_argument("--limit", type=int)
    sub.add_parser("deposit", help="deposit USD to your balance (x402)").add_argument("amount")
    sub.add_parser("earnings", help="provider earnings")
    sub.add_parser("reputation", help="a wallet's reputation ($0.005)").add_argument("wallet")
    sub.add_parser("participant", help="a public profile").add_argument("participant_id")
    f = sub.add_parser("faucet", help="devnet: mint test USDC")
    f.add_argument("amount", nargs="?", default="10")
    f.add_argument("--address")
    return p


async def run(args: argparse.Namespace, settings: Settings) -> int:
    async with The402Client(settings) as client:
        try:
            result = await _commands()[args.command](client, args)
        except The402Error as exc:
            if args.json:
                _out(sys.stdout, json.dumps(exc.as_json(), indent=2))
            else:
                _out(sys.stderr, f"the402: {exc}")
            return 1
    data = result.data if isinstance(result, ApiResult) else result
    if args.json:
        _out(sys.stdout, json.dumps(data, indent=2))
    else:
        if isinstance(result, ApiResult) and result.paid_with:
            _out(sys.stderr, f"(paid with {result.paid_with})")
        _out(sys.stdout, render(args.command, data))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(key_file=args.key_file)
        overrides: dict[str, Any] = {}
        if args.api_base:
            overrides["api_base"] = args.api_base.rstrip("/")
        if args.api_key:
            overrides["api_key"] = args.api_key
        if args.max_payment:
            overrides["max_payment_micros"] = usd_to_micros(args.max_payment, what="--max-payment")  # noqa: E501
        settings = replace(settings, **overrides)
    except ConfigError as exc:
        _out(sys.stderr, f"the402: {exc}")
        return 2
    try:
        return asyncio.run(run(args, settings))
    except (OSError, httpx.HTTPError) as exc:
        _out(sys.stderr, f"the402: cannot reach {settings.api_base}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
