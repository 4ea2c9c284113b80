"""The scheduled work django-q2 runs; `manage.py setup_schedules` installs it (idempotent)."""

from __future__ import annotations

from django.db.models import Q
from django_q.models import Schedule

SCHEDULES: list[dict[str, object]] = [
    {
        "name": "reconcile",
        "func": "payments.tasks.reconcile_all",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        "name": "chain-calls-retry",
        "func": "payments.tasks.retry_chain_calls",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "payouts",
        "func": "payments.tasks.run_payouts",
        "schedule_type": Schedule.MINUTES,
        "minutes": 60,
    },
    {
        "name": "idempotency-purge",
        "func": "payments.tasks.purge_idempotency_records",
        "schedule_type": Schedule.MINUTES,
        "minutes": 60,
    },
    {
        "name": "webhooks-retry",
        "func": "marketplace.tasks.deliver_due_webhooks",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "jobs-auto-verify",
        "func": "marketplace.tasks.auto_verify_jobs",
        "schedule_type": Schedule.MINUTES,
        "minutes": 10,
    },
    {
        "name": "threads-expire",
        "func": "marketplace.tasks.expire_threads",
        "schedule_type": Schedule.MINUTES,
        "minutes": 10,
    },
    {
        "name": "subscriptions-renew",
        "func": "marketplace.tasks.renew_subscriptions",
        "schedule_type": Schedule.MINUTES,
        "minutes": 30,
    },
    {
        "name": "reputation-recompute",
        "func": "reputation.tasks.recompute_reputation",
        "schedule_type": Schedule.MINUTES,
        "minutes": 30,
    },
    {
        "name": "referrals-scan",
        "func": "referrals.tasks.scan_referral_rewards",
        "schedule_type": Schedule.MINUTES,
        "minutes": 30,
    },
]


def install_schedules() -> list[str]:
    """Create or update every schedule by name, drop ones this code no longer has; returns
    the names."""
    names = [str(spec["name"]) for spec in SCHEDULES]
    ours = (
        Q(func__startswith="payments.tasks.")
        | Q(func__startswith="marketplace.tasks.")
        | Q(func__startswith="reputation.tasks.")
        | Q(func__startswith="referrals.tasks.")
    )
    Schedule.objects.filter(ours).exclude(name__in=names).delete()
    for spec in SCHEDULES:
        fields = {k: v for k, v in spec.items() if k != "name"}
        Schedule.objects.update_or_create(name=spec["name"], defaults=fields)
    return names
