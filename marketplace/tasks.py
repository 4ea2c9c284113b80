"""django-q2 tasks of the marketplace app: take ids or nothing, re-read, call one service.

Their dotted paths (`marketplace.tasks.<name>`) are what `the402.schedules` and
`notify.outbox.webhook_enqueue` queue: keep them stable.
"""

from __future__ import annotations

from marketplace.deals.jobs import auto_verify_due
from marketplace.deals.threads import threads_expire_due
from marketplace.notify.outbox import deliver_due, webhook_deliver
from marketplace.plans.renewals import subscriptions_renew_due


def deliver_webhook(delivery_id: int) -> str:
    """Attempt one webhook delivery (queued after the event's commit); returns its status.
    Never raises for the provider's behaviour: failures are recorded and retried."""
    return webhook_deliver(delivery_id).status


def deliver_due_webhooks() -> int:
    """Every minute: attempt the webhook deliveries that are due; returns how many."""
    return deliver_due()


def auto_verify_jobs() -> int:
    """Every 10 minutes: verify and release human-service jobs completed 48 hours ago."""
    return auto_verify_due()


def expire_threads() -> int:
    """Every 10 minutes: expire inquiries after 7 days and proposals after 72 hours."""
    return threads_expire_due()


def renew_subscriptions() -> str:
    """Every 30 minutes: renew, retry or expire the subscriptions at their period end."""
    run = subscriptions_renew_due()
    return f"renewed {run.renewed}, past due {run.past_due}, expired {run.expired}"
