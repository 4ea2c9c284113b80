"""Sybil detection: fake volume between wallets that are one party, or that trade in a ring.

Detectors (each finding becomes one `SybilFlag`, once per kind and set of parties):

- **circular**: cycles of 2 to 4 participants, each buying from the next, within the last
  `REPUTATION_SYBIL_WINDOW_DAYS`; every edge has at least `CYCLE_MIN_JOBS` jobs and the
  cycle moved at least `CYCLE_MIN_VOLUME_MICROS`.
- **same_wallet**: a job whose buyer is its provider.
- **funded_by_provider**: the buyer's wallet received USDC from the provider's wallet
  (`Transfer` logs read with `eth_getLogs` over the last `FUNDING_LOOKBACK_BLOCKS` blocks;
  each pair's search is cached in `FundingCheck` and continued from the last block read).
  Payouts go to the provider's wallet, so "the same payout address" is the same wallet.
- **same_account**: `flag_raise(kind=SAME_ACCOUNT, ...)` for callers that know two wallets
  are one account (the web dashboard).

`scan` runs every detector over the window (with the 30-minute recompute);
`check_pair` runs them for one buyer and provider after a job ends. A flag's jobs stop
counting as soon as it is open; confirming keeps them out and fires
`reputation.hooks.on_flag_confirmed`; dismissing counts them again and whitelists every
pair of its parties.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from eth_utils import to_checksum_address

from payments.models import Participant
from reputation import hooks
from reputation.models import FundingCheck, Signal, SybilFlag, SybilFlagTransition, SybilWhitelist
from reputation.services import recompute_providers
from the402.lib import money
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.states import cas_move

logger = logging.getLogger(__name__)

F = SybilFlag.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    F.OPEN: frozenset({F.CONFIRMED, F.DISMISSED}),
    F.CONFIRMED: frozenset({F.DISMISSED}),
}
CYCLE_MIN_JOBS = 2  # jobs on every edge of a ring, within the window
CYCLE_MIN_VOLUME_MICROS = 1_000_000  # $1 around the ring, within the window
MAX_CYCLE = 4
FUNDING_LOOKBACK_BLOCKS = 500_000  # about 11 days of Base blocks (2 s)
LOGS_BLOCK_CHUNK = 10_000  # blocks per eth_getLogs request
LOGS_PAIRS_PER_REQUEST = 25
EVIDENCE_JOBS = 20  # job ids kept per edge in a flag's evidence


class InvalidFlagTransition(Conflict):
    code = "invalid_flag_transition"


def window() -> timedelta:
    return timedelta(days=float(getattr(settings, "REPUTATION_SYBIL_WINDOW_DAYS", 30)))


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


# ---------------------------------------------------------------- flags
def _fingerprint(kind: str, party_ids: Iterable[int]) -> str:
    return f"{kind}:" + ",".join(str(p) for p in sorted(set(party_ids)))


def whitelisted_pairs(participant_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    rows = SybilWhitelist.objects.all()
    if participant_ids is not None:
        ids = list(participant_ids)
        rows = rows.filter(Q(low__in=ids) | Q(high__in=ids))
    return set(rows.values_list("low_id", "high_id"))


def flag_raise(
    *, kind: str, party_ids: Sequence[int], evidence: dict[str, Any]
) -> SybilFlag | None:
    """Open a flag (None when one exists for this kind and these parties, or an operator
    whitelisted every pair of them), and recompute the parties' scores without the jobs
    between them."""
    ids = sorted(set(party_ids))
    pairs = {_pair(a, b) for a, b in itertools.combinations(ids, 2)} or {(ids[0], ids[0])}
    if pairs <= whitelisted_pairs(ids):
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                flag = SybilFlag.objects.create(
                    kind=kind, fingerprint=_fingerprint(kind, ids), evidence=evidence
                )
        except IntegrityError:
            return None
        flag.parties.set(ids)
        SybilFlagTransition.objects.create(
            flag=flag, from_status="", to_status=F.OPEN, note="raised by the detector"
        )
        recompute_providers(ids)
    logger.info("sybil flag %s raised (%s, parties %s)", flag.public_id, kind, ids)
    return flag


@transaction.atomic
def flag_decide(*, flag: SybilFlag, to: str, user: Any, note: str) -> SybilFlag:
    """An operator confirms or dismisses a flag, with a note; recorded with who and when.
    Confirming keeps the parties' jobs out of reputation and tells the apps above
    (`hooks.on_flag_confirmed`); dismissing counts them again and whitelists every pair."""
    note = note.strip()
    if not note:
        raise ApplicationError("a decision needs a note", code="invalid_note")
    locked = SybilFlag.objects.select_for_update().get(pk=flag.pk)
    now = timezone.now()
    previous = cas_move(
        locked,
        to,
        transitions=TRANSITIONS,
        error=InvalidFlagTransition,
        fields={"note": note[:2000], "decided_by": user, "decided_at": now},
    )
    SybilFlagTransition.objects.create(
        flag=locked, from_status=previous, to_status=to, actor=user, note=note[:2000]
    )
    ids = sorted(locked.parties.values_list("pk", flat=True))
    if to == F.DISMISSED:
        pairs = {_pair(a, b) for a, b in itertools.combinations(ids, 2)} or {(ids[0], ids[0])}
        SybilWhitelist.objects.bulk_create(
            [SybilWhitelist(low_id=a, high_id=b, flag=locked) for a, b in sorted(pairs)],
            ignore_conflicts=True,
        )
    recompute_providers(ids)
    if to == F.CONFIRMED:
        wallets = dict(Participant.objects.filter(pk__in=ids).values_list("pk", "wallet"))
        hooks.on_flag_confirmed.fire(
            hooks.FlagConfirmed(
                flag_public_id=locked.public_id,
                kind=locked.kind,
                participant_ids=tuple(ids),
                wallets=tuple(wallets[i] for i in ids),
                decided_by=getattr(user, "get_username", lambda: "")(),
                note=note,
            )
        )
    flag.status, flag.note, flag.decided_by, flag.decided_at = to, locked.note, user, now
    return locked


# ---------------------------------------------------------------- the trade graph
@dataclass
class Edge:
    buyer_id: int
    provider_id: int
    jobs: int
    volume: int


def _edges(since: datetime, *, buyers: Iterable[int] | None = None) -> dict[tuple[int, int], Edge]:
    """(buyer, provider) -> jobs and money between them since `since`."""
    rows = Signal.objects.filter(is_job=True, buyer__isnull=False, occurred_at__gte=since)
    if buyers is not None:
        rows = rows.filter(buyer_id__in=list(buyers))
    aggregated = (
        rows.order_by()
        .values_list("buyer_id", "provider_id")
        .annotate(jobs=Count("id"), volume=Sum("amount_micros"))
    )
    return {(b, p): Edge(b, p, n, int(v or 0)) for b, p, n, v in aggregated}


def find_cycles(
    edges: Iterable[tuple[int, int]], *, max_length: int = MAX_CYCLE
) -> list[tuple[int, ...]]:
    """Every simple cycle of 2..max_length nodes in the directed graph (each once, starting
    at its smallest node)."""
    out: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        if a != b:
            out[a].append(b)
    cycles: list[tuple[int, ...]] = []
    for start in sorted(out):
        stack: list[tuple[int, tuple[int, ...]]] = [(start, (start,))]
        while stack:
            node, path = stack.pop()
            for nxt in out.get(node, ()):
                if nxt == start and len(path) >= 2:
                    cycles.append(path)
                elif nxt > start and nxt not in path and len(path) < max_length:
                    stack.append((nxt, (*path, nxt)))
    return cycles


def _strong(
    edges: Mapping[tuple[int, int], Edge], cleared: set[tuple[int, int]]
) -> list[tuple[int, int]]:
    return [
        key
        for key, edge in edges.items()
        if edge.jobs >= CYCLE_MIN_JOBS and _pair(*key) not in cleared and key[0] != key[1]
    ]


def _wallets(ids: Iterable[int]) -> dict[int, str]:
    return dict(Participant.objects.filter(pk__in=set(ids)).values_list("pk", "wallet"))


def _job_refs(
    pairs: Iterable[tuple[int, int]], since: datetime
) -> dict[tuple[int, int], list[str]]:
    refs: dict[tuple[int, int], list[str]] = {}
    for buyer_id, provider_id in pairs:
        refs[(buyer_id, provider_id)] = list(
            Signal.objects.filter(
                is_job=True, buyer_id=buyer_id, provider_id=provider_id, occurred_at__gte=since
            )
            .order_by("-occurred_at")
            .values_list("reference", flat=True)[:EVIDENCE_JOBS]
        )
    return refs


def _flag_cycle(
    cycle: Sequence[int], edges: Mapping[tuple[int, int], Edge], since: datetime
) -> SybilFlag | None:
    ring = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    volume = sum(edges[e].volume for e in ring)
    if volume < CYCLE_MIN_VOLUME_MICROS:
        return None
    wallets = _wallets(cycle)
    refs = _job_refs(ring, since)
    evidence = {
        "summary": f"{len(cycle)} wallets buying from each other in a ring, "
        f"${money.format_usd(volume)} in {sum(edges[e].jobs for e in ring)} jobs",
        "cycle": [wallets[i] for i in cycle],
        "window_days": window().days,
        "edges": [
            {
                "buyer": wallets[b],
                "provider": wallets[p],
                "jobs": edges[(b, p)].jobs,
                "volume_usd": money.format_usd(edges[(b, p)].volume),
                "job_ids": refs[(b, p)],
            }
            for b, p in ring
        ],
    }
    return flag_raise(kind=SybilFlag.Kind.CIRCULAR, party_ids=cycle, evidence=evidence)


def _flag_same_wallet(edge: Edge, since: datetime) -> SybilFlag | None:
    wallet = _wallets([edge.buyer_id])[edge.buyer_id]
    refs = _job_refs([(edge.buyer_id, edge.provider_id)], since)
    return flag_raise(
        kind=SybilFlag.Kind.SAME_WALLET,
        party_ids=[edge.buyer_id],
        evidence={
            "summary": f"{wallet} bought {edge.jobs} jobs from itself",
            "wallet": wallet,
            "jobs": edge.jobs,
            "job_ids": refs[(edge.buyer_id, edge.provider_id)],
        },
    )


# ---------------------------------------------------------------- funding on chain
def _topic(address: str) -> str:
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def funding_transfers(
    pairs: Iterable[tuple[int, int]],
) -> dict[tuple[int, int], list[dict[str, Any]]] | None:
    """USDC transfers from each pair's first wallet (the provider) to its second (the
    buyer), read from the chain and cached per pair; None when no chain is reachable."""
    from payments.chain.client import current_deployment, get_web3
    from payments.chain.usdc import TRANSFER_TOPIC

    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    try:
        deployment = current_deployment()
        w3 = get_web3()
        head = int(w3.eth.block_number)
    except (ImproperlyConfigured, OSError, ValueError) as exc:
        logger.warning("sybil funding check skipped: %s", exc)
        return None
    except Exception as exc:  # the node is down or refuses: the next scan tries again
        logger.warning("sybil funding check skipped: %s", exc)
        return None
    wallets = _wallets(itertools.chain.from_iterable(wanted))
    cached = {
        (c.funder_id, c.funded_id): c
        for c in FundingCheck.objects.filter(
            chain_id=deployment.chain_id,
            funder_id__in={f for f, _ in wanted},
            funded_id__in={d for _, d in wanted},
        )
    }
    by_start: dict[int, list[tuple[int, int]]] = defaultdict(list)
    floor = max(head - FUNDING_LOOKBACK_BLOCKS + 1, 0)
    for pair in wanted:
        check = cached.get(pair)
        start = max(check.checked_through_block + 1, floor) if check else floor
        if start <= head:
            by_start[start].append(pair)
    found: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    topic0 = "0x" + TRANSFER_TOPIC.hex().removeprefix("0x")
    try:
        for start, group in by_start.items():
            for i in range(0, len(group), LOGS_PAIRS_PER_REQUEST):
                batch = group[i : i + LOGS_PAIRS_PER_REQUEST]
                by_addresses = {(wallets[f].lower(), wallets[d].lower()): (f, d) for f, d in batch}
                funders = sorted({_topic(wallets[f]) for f, _ in batch})
                funded = sorted({_topic(wallets[d]) for _, d in batch})
                for block in range(start, head + 1, LOGS_BLOCK_CHUNK):
                    logs = w3.eth.get_logs(
                        {
                            "address": to_checksum_address(deployment.usdc),
                            "fromBlock": block,
                            "toBlock": min(block + LOGS_BLOCK_CHUNK - 1, head),
                            "topics": [topic0, funders, funded],
                        }
                    )
                    for log in logs:
                        sender = "0x" + bytes(log["topics"][1])[-20:].hex()
                        receiver = "0x" + bytes(log["topics"][2])[-20:].hex()
                        funding_pair = by_addresses.get((sender, receiver))
                        if funding_pair is not None:
                            found[funding_pair].append(
                                {
                                    "tx": "0x"
                                    + bytes(log["transactionHash"]).hex().removeprefix("0x"),
                                    "block": int(log["blockNumber"]),
                                    "amount_micros": int.from_bytes(bytes(log["data"]), "big"),
                                }
                            )
    except Exception as exc:  # a partial search is not cached: the next scan redoes it
        logger.warning("sybil funding check failed: %s", exc)
        return None
    now = timezone.now()
    result: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for pair in wanted:
        check = cached.get(pair)
        transfers = [*(check.transfers if check else []), *found.get(pair, [])]
        if check is None:
            FundingCheck.objects.update_or_create(
                funder_id=pair[0],
                funded_id=pair[1],
                chain_id=deployment.chain_id,
                defaults={"checked_through_block": head, "transfers": transfers, "checked_at": now},
            )
        elif pair in {p for g in by_start.values() for p in g}:
            FundingCheck.objects.filter(pk=check.pk).update(
                checked_through_block=head, transfers=transfers, checked_at=now
            )
        result[pair] = transfers
    return result


def _flag_funding(
    provider_id: int, buyer_id: int, transfers: list[dict[str, Any]], since: datetime
) -> SybilFlag | None:
    wallets = _wallets([provider_id, buyer_id])
    refs = _job_refs([(buyer_id, provider_id)], since)
    total = sum(int(t["amount_micros"]) for t in transfers)
    return flag_raise(
        kind=SybilFlag.Kind.FUNDED_BY_PROVIDER,
        party_ids=[provider_id, buyer_id],
        evidence={
            "summary": f"the buyer {wallets[buyer_id]} received ${money.format_usd(total)} "
            f"USDC from the provider {wallets[provider_id]} before buying from it",
            "provider": wallets[provider_id],
            "buyer": wallets[buyer_id],
            "transfers": transfers,
            "job_ids": refs[(buyer_id, provider_id)],
        },
    )


# ---------------------------------------------------------------- scans
@dataclass
class ScanReport:
    edges: int = 0
    cycles: int = 0
    pairs_checked_on_chain: int = 0
    chain_checked: bool = True
    flags: list[str] = field(default_factory=list)


def _detect(
    edges: Mapping[tuple[int, int], Edge],
    cycles: Iterable[Sequence[int]],
    funding_pairs: Sequence[tuple[int, int]],
    since: datetime,
    report: ScanReport,
    *,
    check_chain: bool,
) -> ScanReport:
    raised: list[SybilFlag | None] = []
    for key, edge in edges.items():
        if key[0] == key[1]:
            raised.append(_flag_same_wallet(edge, since))
    for cycle in cycles:
        report.cycles += 1
        raised.append(_flag_cycle(cycle, edges, since))
    if check_chain and funding_pairs:
        transfers = funding_transfers(funding_pairs)
        if transfers is None:
            report.chain_checked = False
        else:
            report.pairs_checked_on_chain = len(transfers)
            for (provider_id, buyer_id), found in transfers.items():
                if found:
                    raised.append(_flag_funding(provider_id, buyer_id, found, since))
    else:
        report.chain_checked = False
    report.flags.extend(flag.public_id for flag in raised if flag is not None)
    return report


def scan(*, now: datetime | None = None, check_chain: bool = True) -> ScanReport:
    """Run every detector over the window (the 30-minute schedule)."""
    since = (now or timezone.now()) - window()
    edges = _edges(since)
    cleared = whitelisted_pairs()
    cycles = find_cycles(_strong(edges, cleared))
    funding = [(p, b) for (b, p) in edges if b != p and _pair(b, p) not in cleared]
    return _detect(
        edges, cycles, funding, since, ScanReport(edges=len(edges)), check_chain=check_chain
    )


def check_pair(
    *, buyer_id: int, provider_id: int, now: datetime | None = None, check_chain: bool = True
) -> ScanReport:
    """The detectors for one buyer and provider (after a job between them ends): the cycles
    through their edge, one wallet on both sides, the provider funding the buyer."""
    since = (now or timezone.now()) - window()
    cleared = whitelisted_pairs([buyer_id, provider_id])
    edges = _edges(since, buyers=[buyer_id])
    edges = {k: e for k, e in edges.items() if k[1] == provider_id}
    cycles: list[tuple[int, ...]] = []
    edge = edges.get((buyer_id, provider_id))
    if edge is not None and buyer_id != provider_id and edge.jobs >= CYCLE_MIN_JOBS:
        # Paths provider -> ... -> buyer of at most MAX_CYCLE - 1 edges close a ring.
        frontier, seen = {provider_id}, {provider_id}
        for _ in range(MAX_CYCLE - 1):
            level = _edges(since, buyers=frontier)
            cleared |= whitelisted_pairs(frontier)
            level = {k: e for k, e in level.items() if k[0] != k[1]}
            edges.update(level)
            frontier = {p for (_, p) in _strong(level, cleared)} - seen
            seen |= frontier
            if not frontier:
                break
        members = {n for key in edges for n in key}
        cycles = [
            c
            for c in find_cycles(_strong(edges, cleared))
            if buyer_id in c
            and provider_id in c
            and set(c) <= members
            and any((c[i], c[(i + 1) % len(c)]) == (buyer_id, provider_id) for i in range(len(c)))
        ]
    funding = (
        []
        if buyer_id == provider_id or _pair(buyer_id, provider_id) in cleared
        else [(provider_id, buyer_id)]
    )
    own = {k: e for k, e in edges.items() if k == (buyer_id, provider_id)}
    report = ScanReport(edges=len(edges))
    _detect(own, [], funding, since, report, check_chain=check_chain)
    for cycle in cycles:
        report.cycles += 1
        flag = _flag_cycle(cycle, edges, since)
        if flag is not None:
            report.flags.append(flag.public_id)
    return report
