"""Gunicorn's settings for serving the402 (`gunicorn the402.wsgi` reads this file from the
project root; command-line flags override it).

Threaded workers: a paid request spends much of its time waiting (the database, a
facilitator, the chain, a data API provider), so each worker serves other requests
meanwhile. The timeout outlasts the longest wait a request may legitimately have, so a
worker is never killed in the middle of settling a payment.
"""

from __future__ import annotations

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = (
    max(
        int(os.environ.get("THE402_SETTLE_TIMEOUT", "30")),
        int(os.environ.get("THE402_DATA_API_TIMEOUT", "15")),
    )
    + 30
)
graceful_timeout = timeout


def child_exit(server: object, worker: object) -> None:
    """Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR set, see the402/metrics.py): a
    dead worker's live gauges stop counting; its counters and histograms are kept."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
