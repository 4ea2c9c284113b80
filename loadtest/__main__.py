"""`make loadtest` / `make loadtest-ci`: Locust against the local cluster, then faults.

Full run: mixed traffic flat out through the proxy to 3 web processes, then straight to one
(the scaling ratio), then paced at 70% of the 3-process peak (the p95 of a balance-paid
purchase), then the fault run. `--ci`: the fault run only, short. The fault run SIGKILLs a web
instance (and restarts it, as a supervisor would), SIGKILLs a qcluster (restarted too) and cuts
every PostgreSQL connection of the cluster's database, under load; then it asserts that the
ledger and reconciliation are clean, that every paid request completed once or was not
charged (the clients' records against the ledger), that every webhook reached the provider,
that every schedule ran once per interval, and that no job is stuck. Exit status 1 otherwise.

Starts the cluster when it is not running, and then stops it at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from loadtest.fixtures import DEPOSIT, prepare
from loadtest.provider import Provider

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "scripts" / "cluster"
USERS = 20
KINDS_SHOWN = (
    "catalog search",
    "service detail",
    "purchase data_api (balance)",
    "purchase automated_service (balance)",
    "thread message",
    "deposit (x402)",
    "provider job update (completed)",
)
PURCHASE = "purchase data_api (balance)"


def cluster_env() -> dict[str, str]:
    dump = subprocess.run(  # noqa: S603 - our own script
        ["bash", "-c", f". {CLUSTER / 'env.sh'} && env -0"],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)


ENV = cluster_env()
RUN = Path(ENV["CLUSTER_DIR"]) / "run"
PORT = int(ENV.get("CLUSTER_PORT", "8400"))
PROXY = f"http://127.0.0.1:{PORT}"


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as answer:  # noqa: S310
            return answer.status == 200
    except OSError:
        return False


def pid_of(name: str) -> int:
    return int((RUN / f"{name}.pid").read_text())


def kill_group(name: str) -> None:
    os.killpg(pid_of(name), signal.SIGKILL)


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- Locust -----------------------------------------------------------------------------
def locust(
    host: str, seconds: int, fixture: Path, out: Path, *, pace: float = 0.0, records: str = ""
) -> tuple[dict[str, dict[str, str]], float, subprocess.Popen[bytes]]:
    """Start Locust headless; returns after it ends: (stats by name, its CPU share of the
    machine, the process)."""
    env = {
        **os.environ,
        "LOADTEST_FIXTURE": str(fixture),
        "LOADTEST_RECORDS": records,
        "LOADTEST_PACE": str(pace),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "locust"),
            "-f",
            str(ROOT / "loadtest" / "locustfile.py"),
            "--headless",
            "--users",
            str(USERS),
            "--spawn-rate",
            str(USERS),
            "--run-time",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "ERROR",
            "--stop-timeout",
            "160",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watched = psutil.Process(process.pid)
    started = time.monotonic()
    cpu = 0.0
    while process.poll() is None:
        try:
            times = watched.cpu_times()
            cpu = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(0.5)
    share = cpu / max(time.monotonic() - started, 1e-6) / (psutil.cpu_count() or 1)
    with open(f"{out}_stats.csv") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    return rows, share, process


def table(title: str, rows: dict[str, dict[str, str]], share: float) -> float:
    total = rows["Aggregated"]
    rps = float(total["Requests/s"])
    print(
        f"\n{title}: {rps:.1f} req/s, {total['Failure Count']} errors in "
        f"{total['Request Count']} requests; the load generator used {share:.0%} of the "
        "machine's CPU"
    )
    print(
        f"  {'request kind':40} {'count':>6} {'errors':>6} {'req/s':>7} "
        f"{'p50':>6} {'p95':>6} {'p99':>6}  (ms)"
    )
    for name in [*KINDS_SHOWN, "Aggregated"]:
        row = rows.get(name)
        if row:
            print(
                f"  {name:40} {row['Request Count']:>6} {row['Failure Count']:>6} "
                f"{float(row['Requests/s']):>7.1f} {row['50%']:>6} {row['95%']:>6} "
                f"{row['99%']:>6}"
            )
    return rps


# --- the fault run's checks ---------------------------------------------------------------
class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        print(f"  [{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            self.failures.append(what)


def django_setup() -> None:
    os.environ.update(ENV)
    os.environ["DJANGO_SETTINGS_MODULE"] = "the402.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def schedules_due() -> datetime:
    from django.db import connection
    from django.utils import timezone
    from django_q.models import Schedule

    connection.close()
    now = timezone.now()
    Schedule.objects.update(next_run=now - timedelta(seconds=1))
    return now


class ScheduleWatch:
    """Every task run of each schedule seen since `since`, polled each second from a thread:
    django-q2 keeps only the latest `save_limit` (250) successful tasks, and the webhook tasks
    of the load soon push a schedule's run out of the table."""

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.seen: dict[str, dict[int | str, tuple[bool, datetime]]] = defaultdict(dict)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        from django.db import connection
        from django.db.utils import Error
        from django_q.models import Schedule, Task

        while not self.stop.is_set():
            try:
                names = set(Schedule.objects.values_list("name", flat=True))
                for pk, group, success, started in Task.objects.filter(
                    group__in=names, started__gte=self.since
                ).values_list("id", "group", "success", "started"):
                    self.seen[group][pk] = (success, started)
            except Error:
                connection.close()  # the connection was cut: the next poll reconnects
            self.stop.wait(1.0)
        connection.close()

    def runs(self, name: str, since: datetime) -> list[bool]:
        return [ok for ok, started in list(self.seen[name].values()) if started >= since]


def wait_until(predicate: Any, seconds: float, every: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def finish_jobs(fixture: dict[str, Any]) -> None:
    """The provider finishes whatever its load-test user left under way."""
    import httpx

    with httpx.Client(base_url=PROXY, timeout=30) as client:
        headers = {"X-API-Key": fixture["provider"]["key"]}
        for status, new in (("dispatched", "in_progress"), ("in_progress", "completed")):
            listing = client.get(
                "/v1/jobs", params={"status": status, "limit": 100}, headers=headers
            )
            if listing.status_code != 200:
                continue
            for job in listing.json()["jobs"]:
                body: dict[str, Any] = {"status": new}
                if new == "completed":
                    body["deliverables"] = {"result": "done"}
                client.post(f"/v1/jobs/{job['job_id']}/update", json=body, headers=headers)


def fault_run(
    fixture_path: Path, fixture: dict[str, Any], provider: Provider, seconds: int, workdir: Path
) -> list[str]:
    from django.db import connection
    from django.db.models import Sum
    from django_q.models import Schedule

    from marketplace.models import Job, WebhookDelivery
    from payments.models import LedgerAccount, X402Payment

    checks = Checks()
    records = workdir / "records.jsonl"
    t0 = schedules_due()
    watch = ScheduleWatch(t0)
    events: list[str] = []

    def faults() -> None:
        time.sleep(seconds * 0.2)
        kill_group("web-2")
        events.append(f"{time.strftime('%X')} SIGKILL web instance 2 (gunicorn master+worker)")
        out = wait_until(lambda: "DOWN" in haproxy_status("web2"), 10, 0.25)
        events.append(f"  HAProxy marked web2 {'DOWN' if out else 'still UP (!)'}")
        checks.check(out, "the proxy took the killed web process out of rotation")
        time.sleep(5)
        subprocess.run([str(CLUSTER / "web.sh"), "2"], check=True, env=ENV)  # noqa: S603
        events.append(f"{time.strftime('%X')} web instance 2 restarted")
        time.sleep(seconds * 0.1)
        kill_group("worker-1")
        events.append(f"{time.strftime('%X')} SIGKILL qcluster 1")
        time.sleep(5)
        subprocess.run([str(CLUSTER / "worker.sh"), "1"], check=True, env=ENV)  # noqa: S603
        events.append(f"{time.strftime('%X')} qcluster 1 restarted")
        time.sleep(seconds * 0.15)
        cut = cut_connections()
        events.append(f"{time.strftime('%X')} cut {cut} PostgreSQL connections of the cluster")

    injector = threading.Thread(target=faults, daemon=True)
    injector.start()
    rows, share, process = locust(
        PROXY, seconds, fixture_path, workdir / "faults", records=str(records)
    )
    injector.join(60)
    print("\nFaults:")
    for event in events:
        print(f"  {event}")
    table("Under faults (3 web, 2 qclusters)", rows, share)

    print("\nAfter the faults: every schedule due again, jobs finished, webhooks drained")
    t1 = schedules_due()
    names = list(Schedule.objects.values_list("name", flat=True))
    ran = wait_until(lambda: all(watch.runs(n, t1) for n in names), 150)
    finish_jobs(fixture)
    provider_id = fixture["provider"]["id"]

    def settled() -> bool:
        connection.close()
        finish_jobs(fixture)
        pending = WebhookDelivery.objects.filter(
            participant__public_id=provider_id, status=WebhookDelivery.Status.PENDING
        ).exists()
        open_jobs = (
            Job.objects.filter(provider__public_id=provider_id)
            .exclude(status__in=["released", "refunded", "cancelled", "failed"])
            .exists()
        )
        return not pending and not open_jobs

    wait_until(settled, 200, 3)

    print("\nChecks:")
    checks.check(ran, f"every schedule ran after the faults ({len(names)} schedules)")
    watch.stop.set()
    watch.thread.join(10)
    after_t1 = {n: watch.runs(n, t1) for n in names}
    since_t0 = {n: watch.runs(n, t0) for n in names}
    minutes = dict(Schedule.objects.values_list("name", "minutes"))
    elapsed = (datetime.now(tz=t1.tzinfo) - t1).total_seconds() / 60
    for name in names:
        allowed = 1 if minutes[name] >= 5 else math.ceil(elapsed / minutes[name]) + 1
        checks.check(
            1 <= len(after_t1[name]) <= allowed and all(after_t1[name]),
            f"schedule {name} (every {minutes[name]} min) ran {len(after_t1[name])}x after "
            f"being due once with 2 qclusters (allowed 1..{allowed}), all succeeded",
        )
        if minutes[name] >= 5:
            checks.check(
                len(since_t0[name]) <= 2,
                f"schedule {name}: {len(since_t0[name])} runs for 2 due times",
            )

    for command in ("ledger_check", "reconcile"):
        result = manage(command)
        checks.check(
            result.returncode == 0,
            f"manage.py {command}: {(result.stdout + result.stderr).strip()[-300:]}",
        )

    entries = (
        [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []
    )
    connection.close()
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_agent[entry["agent"]].append(entry)
    unknown = [
        e
        for e in entries
        if e["status"] in (0, 502, 503, 504)
        or e["code"] in ("idempotency_key_in_progress", "payment_pending")
    ]
    checks.check(
        not unknown,
        f"every paid request has a final answer ({len(entries)} paid "
        f"requests, {sum(e['attempts'] > 1 for e in entries)} retried after a fault, "
        f"{len(unknown)} without one)",
    )
    completed_jobs = {e["job"] for e in entries if e.get("job")}
    deposit = int(float(DEPOSIT) * 1_000_000)
    money_ok = True
    for agent in fixture["agents"]:
        mine = by_agent.get(agent["id"], [])
        expected = (
            deposit
            + sum(e.get("credited", 0) for e in mine)
            - sum(e.get("charged", 0) for e in mine)
        )
        held = (
            LedgerAccount.objects.filter(
                participant__public_id=agent["id"], kind=LedgerAccount.Kind.AGENT_BALANCE
            ).aggregate(total=Sum("balance"))["total"]
            or 0
        )
        jobs = set(
            Job.objects.filter(buyer__public_id=agent["id"]).values_list("public_id", flat=True)
        )
        mine_jobs = {e["job"] for e in mine if e.get("job")}
        if held != expected or jobs != mine_jobs:
            money_ok = False
            print(  # the first few ids say enough
                f"    agent {agent['id']}: ledger {held} vs client {expected} µUSDC; "
                f"jobs not known to the client {sorted(jobs - mine_jobs)[:3]}, "
                f"completed but missing {sorted(mine_jobs - jobs)[:3]}"
            )
    checks.check(
        money_ok,
        f"each agent's money on the ledger is what its client saw: "
        f"deposits credited once, {len(completed_jobs)} completed purchases charged "
        "once, refused or failed ones not at all",
    )
    pending_payments = X402Payment.objects.filter(
        participant__public_id__in=[a["id"] for a in fixture["agents"]],
        status=X402Payment.Status.SETTLING,
    ).count()
    checks.check(pending_payments == 0, f"no x402 payment left settling ({pending_payments})")
    deliveries = WebhookDelivery.objects.filter(participant__public_id=provider_id)
    # A data API call is its own delivery, attempted inline by the purchase and never retried
    # (the buyer is waiting, and is not charged without the answer): one cut off by a kill
    # is left as it was. Every queued event (jobs, messages, verifications) must arrive.
    inline = deliveries.filter(event_type="job_dispatch", payload__contains='"callback_url":null')
    print(
        f"  (data API calls cut off by the web kill, not retried by design: "
        f"{inline.exclude(status=WebhookDelivery.Status.DELIVERED).count()})"
    )
    deliveries = deliveries.exclude(pk__in=inline.values("pk"))
    undelivered = deliveries.exclude(status=WebhookDelivery.Status.DELIVERED).count()
    missing = set(deliveries.values_list("event_id", flat=True)) - provider.received
    checks.check(
        undelivered == 0 and not missing,
        f"every webhook delivered at least once ({deliveries.count()} deliveries; "
        f"{undelivered} not delivered, {len(missing)} never received by the provider)",
    )
    checks.check(provider.bad_signatures == 0, "every webhook's signature verified")
    stuck = (
        Job.objects.filter(provider__public_id=provider_id)
        .exclude(status__in=["released", "refunded", "cancelled", "failed"])
        .count()
    )
    checks.check(stuck == 0, f"no job stuck ({stuck} not finished)")
    errors = {
        n: r["Failure Count"]
        for n, r in rows.items()
        if n != "Aggregated" and int(r["Failure Count"])
    }
    print(f"  (requests that failed while the faults happened, by kind: {errors or 'none'})")
    return checks.failures


def cut_connections() -> int:
    """Terminate every other PostgreSQL connection to the cluster's database (as a restart
    of the server would, without restarting the machine's shared server)."""
    from django.db import connection

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        count = int(cursor.fetchone()[0])
    connection.close()
    return count


def haproxy_status(server: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT + 99}/;csv", timeout=2) as a:  # noqa: S310
            for line in a.read().decode().splitlines():
                fields = line.split(",")
                if len(fields) > 17 and fields[0] == "web" and fields[1] == server:
                    return fields[17]
    except OSError:
        pass
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ci", action="store_true", help="the short fault run only")
    parser.add_argument("--seconds", type=int, default=0, help="length of each load phase")
    args = parser.parse_args()
    seconds = args.seconds or (75 if args.ci else 45)

    started_cluster = False
    if not healthy(PROXY):
        subprocess.run([str(CLUSTER / "start.sh")], check=True)  # noqa: S603
        started_cluster = True
    provider = Provider().start()
    try:
        django_setup()
        workdir = Path(tempfile.mkdtemp(prefix="the402-loadtest-"))
        fixture = prepare(PROXY, provider, USERS)
        fixture_path = workdir / "fixture.json"
        fixture_path.write_text(json.dumps(fixture))
        # Every phase's paid requests: the fault run compares all of them with the ledger.
        records = str(workdir / "records.jsonl")
        print(
            f"Load test: {USERS} users, {seconds} s per phase, loopback only, on "
            f"{psutil.cpu_count()} CPUs shared with the cluster"
        )
        if not args.ci:
            rows3, share3, _ = locust(
                PROXY, seconds, fixture_path, workdir / "web3", records=records
            )
            peak = table("3 web processes behind HAProxy (flat out)", rows3, share3)
            web1 = f"http://127.0.0.1:{PORT + 1}"
            rows1, share1, _ = locust(
                web1, seconds, fixture_path, workdir / "web1", records=records
            )
            single = table("1 web process, direct (flat out)", rows1, share1)
            print(
                f"\nScaling ratio 1 -> 3 web processes: {peak / max(single, 1e-9):.2f}x "
                "(2 cores shared by the load generator, PostgreSQL, Redis, the workers "
                "and anvil: about 2x is the ceiling)"
            )
            pace = 0.7 * peak / USERS
            rows70, share70, _ = locust(
                PROXY, seconds, fixture_path, workdir / "web3-70", pace=pace, records=records
            )
            table("3 web processes at 70% of peak throughput", rows70, share70)
            p95 = float(rows70.get(PURCHASE, {}).get("95%", "nan"))
            print(
                f"\np95 of a balance-paid data API purchase at 70% of peak: {p95:.0f} ms "
                f"(target <= 100 ms: {'met' if p95 <= 100 else 'not met'})"
            )
        failures = fault_run(fixture_path, fixture, provider, seconds, workdir)
    finally:
        provider.stop()
        if started_cluster:
            subprocess.run([str(CLUSTER / "stop.sh")], check=False)  # noqa: S603
    if failures:
        print(f"\nFAILED: {len(failures)} fault check(s)")
        return 1
    print("\nFault run: every check passed (zero lost or double-charged requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
