"""Scheduled tasks run once per interval however many qclusters run (README "Production").

Each qcluster runs django-q2's scheduler. It reads the due schedules with SELECT ... FOR
UPDATE inside one transaction, queues each one's task and moves its `next_run` on before
committing: a second scheduler reaching the same schedule waits on the row lock, and once the
first commits PostgreSQL re-reads the row, finds it no longer due and skips it. This test
holds the first scheduler in the middle (its task queued, its transaction open) until the
second is seen waiting on the lock, so the race is the real one, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

pytestmark = pytest.mark.django_db(transaction=True)


class HeldBroker(ORM):
    """django-q2's database broker, holding the scheduler that uses it right after its first
    task is queued (inside the scheduler's transaction) until `release` is set."""

    def __init__(self) -> None:
        super().__init__(list_key=Conf.CLUSTER_NAME)
        self.queued = threading.Event()
        self.release = threading.Event()

    def enqueue(self, task: Any) -> Any:
        result = super().enqueue(task)
        self.queued.set()
        assert self.release.wait(30), "the test never released the first scheduler"
        return result


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


@pytest.fixture
def queued_tasks(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Tasks go to the broker (the test settings run them inline otherwise)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    return lambda: OrmQ.objects.count()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the row lock is PostgreSQL's (SQLite serialises)"
)
def test_two_schedulers_on_the_same_due_schedule_queue_one_task(queued_tasks: Any) -> None:
    due = timezone.now() - timedelta(seconds=1)
    schedule = Schedule.objects.create(
        name="reconcile",
        func="payments.tasks.reconcile_all",
        schedule_type=Schedule.MINUTES,
        minutes=5,
        next_run=due,
    )
    held = HeldBroker()

    def run(broker: ORM) -> None:
        try:
            scheduler(broker=broker)
        finally:
            connection.close()

    first = threading.Thread(target=run, args=(held,))
    first.start()
    assert held.queued.wait(30)
    second = threading.Thread(target=run, args=(ORM(list_key=Conf.CLUSTER_NAME),))
    second.start()
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _waiting_on_a_lock(), "the second scheduler never reached the locked schedule"
    held.release.set()
    first.join(30)
    second.join(30)

    assert queued_tasks() == 1
    schedule.refresh_from_db()
    assert schedule.next_run > timezone.now()
