"""Writes of the referral programme: ties, rewards, reversals, revocations, withdrawals.

Lock order, everywhere: the referrer's participant row, then its referral, then its rewards,
then the ledger accounts (inside `ledger_record`). Counting under the referrer's lock keeps
the daily limit, the activity threshold and the monthly cap true under concurrency; each
reward's unique `key` (and the ledger's idempotency key) makes two overlapping scans credit
a transaction once.

Rules (numbers in `referrals.program`):

* a code is `ref_<participant id>` of a registered participant; an unknown code, or the
  payer's own, is a 400 before any payment (`referral_check`);
* a sign-up is tied to the code's referrer once and forever, unless the referrer already
  had `DAILY_REFERRALS` attributed sign-ups today (UTC), a same-person signal links the two,
  the referrer carries a confirmed sybil flag, or the participant already has a referrer:
  the sign-up succeeds all the same and its answer says why it was not attributed;
* each final transaction of a referred participant earns its referrer 20% of the platform
  fee when the referee bought (agent side), 25% when it sold (provider side), twice that
  during the launch window, rounded down to the micro-USDC;
* the referee's first `MIN_TRANSACTIONS` transactions wait as `pending`; when its third is
  final the referral becomes active (after a last same-person check, on chain too) and the
  waiting rewards are credited with it: the first three are rewarded, late;
* credits stop at `MONTHLY_CAP_MICROS` per referrer and calendar month: a reward past it is
  credited with what is left (possibly nothing), the cut recorded in `capped_micros`;
* a refunded or split transaction reverses its rewards not yet withdrawn; a confirmed sybil
  flag naming the referrer or the referee revokes the referral and its rewards not yet
  withdrawn, and no new reward is made for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from payments.hooks import ReferralClaim
from payments.ledger import PLATFORM_FEES, Posting, agent_account, balance_of, ledger_record
from payments.models import Participant
from referrals import program
from referrals.models import Referral, ReferralReward, ReferralTransition, RewardTransition, ScanRun
from referrals.sources import SOURCES, FeeEvent
from reputation.hooks import FlagConfirmed
from reputation.models import SybilFlag
from the402.lib import money
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.ids import new_public_id
from the402.lib.states import cas_move

logger = logging.getLogger(__name__)

R = Referral.Status
W = ReferralReward.Status
REFERRAL_TRANSITIONS: dict[str, frozenset[str]] = {
    R.WAITING: frozenset({R.ACTIVE, R.REVOKED}),
    R.ACTIVE: frozenset({R.REVOKED}),
}
REWARD_TRANSITIONS: dict[str, frozenset[str]] = {
    W.PENDING: frozenset({W.CREDITED, W.REVERSED, W.REVOKED}),
    W.CREDITED: frozenset({W.REVERSED, W.REVOKED, W.WITHDRAWN}),
}
UNWITHDRAWN = (W.PENDING, W.CREDITED)
_OPEN_FLAG = "open_flag"


class InvalidReferralTransition(Conflict):
    code = "invalid_referral_transition"


def referral_account(participant: Participant) -> str:
    """The ledger account of the participant's referral earnings not yet withdrawn."""
    return f"referral:{participant.public_id}"


# ---------------------------------------------------------------- codes and ties
def referrer_for_code(code: str) -> Participant:
    """The registered participant whose code this is; 400 `unknown_referral_code`."""
    code = code.strip()
    referrer = None
    if code.startswith(program.CODE_PREFIX):
        referrer = Participant.objects.filter(
            public_id=code.removeprefix(program.CODE_PREFIX), registered_at__isnull=False
        ).first()
    if referrer is None:
        raise ApplicationError(
            f"Unknown referral code {code[:64]!r}: nothing was charged. A code looks like "
            "ref_p_0123456789abcdef (GET /v1/referrals/code).",
            code="unknown_referral_code",
        )
    return referrer


def referral_check(claim: ReferralClaim) -> None:
    """Before payment: the code exists and is not the payer's own (the same wallet, hence
    the same payout address). Implements `payments.hooks.referral_check`."""
    referrer = referrer_for_code(claim.code)
    if claim.wallet is not None and claim.wallet.lower() == referrer.wallet.lower():
        raise ApplicationError(
            "You cannot use your own referral code: nothing was charged", code="self_referral"
        )


def _confirmed_flag(participant_ids: list[int]) -> bool:
    return SybilFlag.objects.filter(
        status=SybilFlag.Status.CONFIRMED, parties__in=participant_ids
    ).exists()


def same_person(referrer: Participant, referee: Participant, *, check_chain: bool) -> str | None:
    """Why the two look like one person, by the sybil detector's signals: one wallet, a
    sybil flag (any kind: same wallet, same account, funding, a ring) naming both, or (with
    `check_chain`) USDC sent between their wallets. `_OPEN_FLAG` while a flag naming both
    awaits an operator; None when nothing links them."""
    if referrer.pk == referee.pk or referrer.wallet.lower() == referee.wallet.lower():
        return "the same wallet"
    flags = set(
        SybilFlag.objects.filter(parties=referrer)
        .filter(parties=referee)
        .exclude(status=SybilFlag.Status.DISMISSED)
        .values_list("status", flat=True)
    )
    if SybilFlag.Status.CONFIRMED in flags:
        return "a confirmed sybil flag names both"
    if flags:
        return _OPEN_FLAG
    if check_chain:
        from reputation.sybil import funding_transfers

        found = funding_transfers([(referrer.pk, referee.pk), (referee.pk, referrer.pk)])
        if found and any(found.values()):
            return "their wallets sent each other USDC (the sybil detector's funding signal)"
    return None


def _lock_participants(*ids: int) -> None:
    list(
        Participant.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _referral_move(referral: Referral, to: str, reason: str) -> None:
    previous = cas_move(
        referral,
        to,
        transitions=REFERRAL_TRANSITIONS,
        error=InvalidReferralTransition,
        fields={"reason": reason[:300]} if to == R.REVOKED else None,
    )
    ReferralTransition.objects.create(
        referral=referral, from_status=previous, to_status=to, reason=reason[:300]
    )


@transaction.atomic
def referral_record(claim: ReferralClaim) -> dict[str, Any]:
    """Tie the signed-up participant to the code's referrer (inside the sign-up's
    transaction), or say why not: the sign-up itself always succeeds. Implements
    `payments.hooks.referral_record`."""
    participant = claim.participant
    assert participant is not None
    referrer = referrer_for_code(claim.code)
    answer: dict[str, Any] = {
        "code": program.code_for(referrer.public_id),
        "referrer_id": referrer.public_id,
    }

    def not_attributed(reason: str, message: str) -> dict[str, Any]:
        return {**answer, "attributed": False, "reason": reason, "message": message}

    existing = Referral.objects.filter(referee=participant).first()
    if existing is not None:
        return {
            **answer,
            "attributed": existing.referrer_id == referrer.pk,
            "reason": "already_referred",
            "message": "You were already referred: a referral is tied once and forever.",
        }
    same = same_person(referrer, participant, check_chain=False)
    if same is not None:
        return not_attributed(
            "self_referral", "Not attributed: the referrer and you look like one participant."
        )
    if Referral.objects.filter(referrer=participant, referee=referrer).exists():
        return not_attributed("mutual_referral", "Not attributed: you referred this referrer.")
    if _confirmed_flag([referrer.pk, participant.pk]):
        return not_attributed(
            "sybil_flagged", "Not attributed: a confirmed sybil flag names a party."
        )
    _lock_participants(referrer.pk)  # the daily count below is exact under this lock
    today = Referral.objects.filter(
        referrer=referrer, created_at__gte=program.day_start(timezone.now())
    ).count()
    if today >= program.DAILY_REFERRALS:
        return not_attributed(
            "daily_limit",
            f"Not attributed: this referrer reached its limit of {program.DAILY_REFERRALS} "
            "referrals today (UTC). Your registration is complete all the same.",
        )
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer=referrer, referee=participant, code=answer["code"], side=claim.side
            )
    except IntegrityError:  # a concurrent sign-up of the same participant tied it first
        return {**answer, "attributed": False, "reason": "already_referred", "message": ""}
    ReferralTransition.objects.create(
        referral=referral, from_status="", to_status=R.WAITING, reason="signed up with the code"
    )
    return {
        **answer,
        "attributed": True,
        "status": referral.status,
        "message": "Referral recorded: your referrer earns a share of the platform fee on "
        "your transactions, at no cost to you.",
    }


# ---------------------------------------------------------------- rewards
def _reward_end(reward: ReferralReward, to: str, reason: str) -> bool:
    """Move a pending or credited reward to reversed or revoked; a credited one gives its
    amount back to the platform's fees. False if it was withdrawn (or ended) already."""
    if reward.status not in UNWITHDRAWN:
        return False
    previous = cas_move(
        reward,
        to,
        transitions=REWARD_TRANSITIONS,
        error=InvalidReferralTransition,
        fields={"reason": reason[:300]},
    )
    RewardTransition.objects.create(
        reward=reward, from_status=previous, to_status=to, reason=reason[:300]
    )
    if previous == W.CREDITED and reward.amount_micros > 0:
        ledger_record(
            kind=f"referral_{to}",
            idempotency_key=f"referral_{to}:{reward.public_id}",
            postings=[
                Posting(referral_account(reward.referrer), PLATFORM_FEES, reward.amount_micros)
            ],
            description=f"Referral reward {reward.public_id} {to}: {reason}"[:300],
            reference={"reward": reward.public_id, "transaction": reward.transaction_key},
        )
    return True


def _month_credited(referrer_id: int, at: datetime) -> int:
    total = ReferralReward.objects.filter(
        referrer_id=referrer_id,
        status__in=(W.CREDITED, W.WITHDRAWN),
        credited_at__gte=program.month_start(at),
    ).aggregate(total=Sum("amount_micros"))["total"]
    return int(total or 0)


def _credit(reward: ReferralReward, now: datetime) -> None:
    """Credit a pending reward (the referrer locked), within the month's cap."""
    room = max(program.MONTHLY_CAP_MICROS - _month_credited(reward.referrer_id, now), 0)
    paid = min(reward.amount_micros, room)
    capped = reward.amount_micros - paid
    previous = cas_move(
        reward,
        W.CREDITED,
        transitions=REWARD_TRANSITIONS,
        error=InvalidReferralTransition,
        fields={"amount_micros": paid, "capped_micros": capped, "credited_at": now},
    )
    note = f"credited; {money.format_usd(capped)} over the monthly cap" if capped else "credited"
    RewardTransition.objects.create(
        reward=reward, from_status=previous, to_status=W.CREDITED, reason=note
    )
    if paid > 0:
        ledger_record(
            kind="referral_credit",
            idempotency_key=f"referral_credit:{reward.key}",
            postings=[Posting(PLATFORM_FEES, referral_account(reward.referrer), paid)],
            description=f"Referral reward on {reward.reference or reward.transaction_key}",
            reference={"reward": reward.public_id, "transaction": reward.transaction_key},
        )


def referral_revoke(referral: Referral, *, reason: str) -> int:
    """Revoke a referral and its rewards not yet withdrawn (the referrer locked by the
    caller, or not: this takes the lock). Returns how many rewards it revoked."""
    with transaction.atomic():
        _lock_participants(referral.referrer_id)
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        if locked.status == R.REVOKED:
            return 0
        _referral_move(locked, R.REVOKED, reason)
        rewards = (
            ReferralReward.objects.select_for_update()
            .select_related("referrer")
            .filter(referral=locked, status__in=UNWITHDRAWN)
            .order_by("id")
        )
        revoked = sum(_reward_end(reward, W.REVOKED, reason) for reward in rewards)
    referral.status = R.REVOKED
    return revoked


def _settle(referral: Referral, now: datetime) -> int:
    """With the referrer locked: activate a waiting referral whose referee reached the
    activity threshold, then credit its pending rewards. Returns how many were credited."""
    if referral.status == R.WAITING:
        counted = referral.rewards.exclude(status__in=(W.REVERSED, W.REVOKED)).count()
        if counted < program.MIN_TRANSACTIONS:
            return 0
        same = same_person(referral.referrer, referral.referee, check_chain=True)
        if same == _OPEN_FLAG:
            return 0  # an operator decides first; the next scan looks again
        if same is not None:
            referral_revoke(referral, reason=f"self-referral: {same}")
            return 0
        _referral_move(
            referral, R.ACTIVE, f"{program.MIN_TRANSACTIONS} transactions: rewards start"
        )
    if referral.status != R.ACTIVE:
        return 0
    if same_person(referral.referrer, referral.referee, check_chain=False) == _OPEN_FLAG:
        return 0
    pending = list(
        ReferralReward.objects.select_for_update()
        .select_related("referrer")
        .filter(referral=referral, status=W.PENDING)
        .order_by("occurred_at", "id")
    )
    for reward in pending:
        _credit(reward, now)
    return len(pending)


def _locked_referral(referral_id: int) -> Referral:
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("referrer", "referee")
        .get(pk=referral_id)
    )


def reward_event(event: FeeEvent, referrals: dict[int, Referral], *, now: datetime) -> int:
    """Record the rewards of one final transaction, one per referred party, and credit what
    is due. A transaction seen before (this scan or a concurrent one) changes nothing.
    Returns how many rewards were credited."""
    credited = 0
    for side, party in (("agent", event.buyer_id), ("provider", event.provider_id)):
        referral = referrals.get(party)
        if referral is None or event.occurred_at < referral.created_at:
            continue
        key = f"{event.key}:{side}"
        if ReferralReward.objects.filter(key=key).exists():
            continue
        with transaction.atomic():
            _lock_participants(referral.referrer_id)
            locked = _locked_referral(referral.pk)
            if locked.status == R.REVOKED:
                continue
            if _confirmed_flag([locked.referrer_id, locked.referee_id]):
                referral_revoke(locked, reason="a confirmed sybil flag names a party")
                continue
            bps = program.rate_bps(side, event.occurred_at)
            try:
                with transaction.atomic():
                    reward = ReferralReward.objects.create(
                        key=key,
                        transaction_key=event.key,
                        referral=locked,
                        referrer=locked.referrer,
                        source=event.source,
                        reference=event.reference,
                        side=side,
                        fee_micros=event.fee_micros,
                        rate_bps=bps,
                        amount_micros=program.share(event.fee_micros, bps),
                        occurred_at=event.occurred_at,
                    )
            except IntegrityError:
                continue  # a concurrent scan recorded it
            RewardTransition.objects.create(
                reward=reward, from_status="", to_status=W.PENDING, reason=event.source
            )
            credited += _settle(locked, now)
    return credited


def rewards_reverse(transaction_key: str, *, reason: str) -> int:
    """A transaction was refunded or split after it was final: reverse its rewards not
    yet withdrawn (a withdrawn reward stays paid). Returns how many it reversed."""
    reversed_count = 0
    for reward in ReferralReward.objects.filter(
        transaction_key=transaction_key, status__in=UNWITHDRAWN
    ):
        with transaction.atomic():
            _lock_participants(reward.referrer_id)
            locked = (
                ReferralReward.objects.select_for_update(of=("self",))
                .select_related("referrer")
                .get(pk=reward.pk)
            )
            reversed_count += _reward_end(locked, W.REVERSED, reason)
    return reversed_count


def reward_revoke(reward: ReferralReward, *, reason: str) -> bool:
    """An operator revokes one reward not yet withdrawn (admin)."""
    with transaction.atomic():
        _lock_participants(reward.referrer_id)
        locked = (
            ReferralReward.objects.select_for_update(of=("self",))
            .select_related("referrer")
            .get(pk=reward.pk)
        )
        return _reward_end(locked, W.REVOKED, reason)


def on_flag_confirmed(event: FlagConfirmed) -> None:
    """A confirmed sybil flag: every referral with a flagged party as referrer or referee
    is revoked with its rewards not yet withdrawn (registered on
    `reputation.hooks.on_flag_confirmed`; runs in the confirmation's transaction)."""
    ids = list(event.participant_ids)
    referrals = Referral.objects.filter(referrer_id__in=ids).exclude(status=R.REVOKED) | (
        Referral.objects.filter(referee_id__in=ids).exclude(status=R.REVOKED)
    )
    for referral in referrals.order_by("referrer_id", "id"):
        referral_revoke(referral, reason=f"sybil flag {event.flag_public_id} confirmed")


# ---------------------------------------------------------------- the scan
@dataclass
class ScanReport:
    since: datetime
    events: int = 0
    credited: int = 0
    reversed: int = 0
    errors: list[str] = field(default_factory=list)


def rewards_scan(*, now: datetime | None = None) -> ScanReport:
    """Every 30 minutes: read the transactions that became final (or were reversed) since
    the last finished scan (minus `SCAN_OVERLAP`), record their rewards and credit what is
    due; then retry the pending rewards of referrals that were waiting on an operator.
    Safe to run twice at once: each transaction's rewards are recorded once."""
    now = now or timezone.now()
    last = ScanRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    since = (last.started_at if last else program.program_start()) - program.SCAN_OVERLAP
    run = ScanRun.objects.create(started_at=now, since=since)
    report = ScanReport(since=since)
    for source in SOURCES.values():
        events = list(source.final_since(since))
        report.events += len(events)
        parties = {p for e in events for p in (e.buyer_id, e.provider_id)}
        referrals = {
            r.referee_id: r
            for r in Referral.objects.filter(referee_id__in=parties).exclude(status=R.REVOKED)
        }
        for event in events:
            try:
                report.credited += reward_event(event, referrals, now=now)
            except ApplicationError as exc:  # e.g. the fee account is short: next scan
                logger.warning("referral reward for %s failed: %s", event.key, exc.message)
                report.errors.append(f"{event.key}: {exc.message}")
        for reversal in source.reversed_since(since):
            report.reversed += rewards_reverse(reversal.key, reason=reversal.reason)
    waiting = (
        Referral.objects.filter(status__in=(R.WAITING, R.ACTIVE), rewards__status=W.PENDING)
        .values_list("pk", flat=True)
        .distinct()
    )
    for referral_id in list(waiting):
        try:
            with transaction.atomic():
                referral = Referral.objects.get(pk=referral_id)
                _lock_participants(referral.referrer_id)
                report.credited += _settle(_locked_referral(referral_id), now)
        except ApplicationError as exc:
            report.errors.append(f"referral {referral_id}: {exc.message}")
    ScanRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        events=report.events,
        credited=report.credited,
        reversed=report.reversed,
    )
    return report


# ---------------------------------------------------------------- withdrawals
@dataclass(frozen=True)
class Withdrawal:
    public_id: str
    amount: int
    rewards: int
    balance: int  # the participant's balance afterwards


@transaction.atomic
def earnings_withdraw(participant: Participant) -> Withdrawal:
    """Move every credited reward to the participant's prepaid balance, in one ledger
    transaction; 409 `no_referral_earnings` when nothing is available."""
    _lock_participants(participant.pk)
    rewards = list(
        ReferralReward.objects.select_for_update()
        .filter(referrer=participant, status=W.CREDITED, amount_micros__gt=0)
        .order_by("id")
    )
    total = sum(r.amount_micros for r in rewards)
    if total <= 0:
        raise Conflict("You have no referral earnings to withdraw", code="no_referral_earnings")
    withdrawal = new_public_id("wdr")
    for reward in rewards:
        previous = cas_move(
            reward,
            W.WITHDRAWN,
            transitions=REWARD_TRANSITIONS,
            error=InvalidReferralTransition,
            fields={"withdrawal": withdrawal},
        )
        RewardTransition.objects.create(
            reward=reward, from_status=previous, to_status=W.WITHDRAWN, reason=withdrawal
        )
    ledger_record(
        kind="referral_withdrawal",
        idempotency_key=f"referral_withdrawal:{withdrawal}",
        postings=[Posting(referral_account(participant), agent_account(participant), total)],
        description="Referral earnings withdrawn to the balance",
        reference={"withdrawal": withdrawal, "rewards": len(rewards)},
    )
    return Withdrawal(withdrawal, total, len(rewards), balance_of(agent_account(participant)))
