"""The programme's numbers (from the product documents) and its launch window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

AGENT_RATE_BPS = 2_000  # 20% of the platform fee for a referred agent (demand side)
PROVIDER_RATE_BPS = 2_500  # 25% for a referred provider (supply side)
LAUNCH_MULTIPLIER = 2  # 2x these rates ...
LAUNCH_DAYS = 90  # ... during the first 90 days of the programme
MIN_TRANSACTIONS = 3  # rewards are credited once the referee has 3 final transactions
MONTHLY_CAP_MICROS = 500_000_000  # $500 per referrer per calendar month (UTC)
DAILY_REFERRALS = 10  # attributed sign-ups per referrer per day (UTC)
SCAN_MINUTES = 30
# A scan reads from the previous scan's start minus this much: a transaction written before
# that start but committed after it is still seen (the unique key makes re-reading free).
SCAN_OVERLAP = timedelta(minutes=10)
CODE_PREFIX = "ref_"
_BPS = 10_000


def code_for(public_id: str) -> str:
    return f"{CODE_PREFIX}{public_id}"


@cache
def _first_migration() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(applied) FROM django_migrations")
        row = cursor.fetchone()
    applied = row[0] if row else None
    if isinstance(applied, str):  # SQLite returns text
        applied = parse_datetime(applied)
    if applied is None:
        return timezone.now()
    return applied if timezone.is_aware(applied) else applied.replace(tzinfo=UTC)


def program_start() -> datetime:
    """`REFERRAL_PROGRAM_START` (a date or a time, UTC), else the deployment's first
    migration (read once per process)."""
    configured = settings.REFERRAL_PROGRAM_START
    if isinstance(configured, datetime):
        return configured
    if configured:
        moment = parse_datetime(configured)
        if moment is None:
            day = parse_date(configured)
            if day is None:
                raise ImproperlyConfigured(
                    f"THE402_REFERRAL_PROGRAM_START={configured!r} is not an ISO date or time"
                )
            moment = datetime.combine(day, time(), tzinfo=UTC)
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
    return _first_migration()


def launch_ends() -> datetime:
    return program_start() + timedelta(days=LAUNCH_DAYS)


def launch_active(at: datetime | None = None) -> bool:
    moment = at or timezone.now()
    return program_start() <= moment < launch_ends()


def rate_bps(side: str, at: datetime) -> int:
    """The share of the fee for a transaction where the referee was `side` ("agent" or
    "provider"), final at `at`."""
    base = PROVIDER_RATE_BPS if side == "provider" else AGENT_RATE_BPS
    return base * LAUNCH_MULTIPLIER if launch_active(at) else base


def share(fee_micros: int, bps: int) -> int:
    """The referrer's share of a fee, rounded down (never more than the platform took)."""
    return fee_micros * bps // _BPS


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def day_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)
