#!/usr/bin/env python3
"""Fault matrix of the outbox: faults injected while a real Odoo cron drains the queue.

Starts the mock WeCom (own process) and Odoo (prefork: one HTTP worker and one cron worker, so that the
cron worker can be killed and the Odoo master restarts it) on a fresh database with ``wecom_base.timeout``
1.5 s, a claim lease of 30 s and batches of 50. For each fault: queue N messages (``action_send`` over
XML-RPC, which triggers the cron), wait until a quarter of them is sent, inject the fault, remove it, and let
the cron finish: messages waiting for a retry are made due 5 s after their failure instead of 30 s and more
(the benchmark travels their ``next_try_date``; the claim lease is really waited for). Then it checks that
every message is in a final state, that the mock received each (by a unique marker in its content) exactly
once, and that every failure has a reason.

Faults: a 25 s outage (HTTP 502 on every send, retries compressed to 1-2 s, the cron every second: the
calls made meanwhile are counted); errcode -1, 45009, 45033 (on ``message/send``); the tokens expired
(42001) or revoked (40014) by the mock; HTTP 502; dropped connections; answers slower than the timeout;
the mock killed and restarted on its port; the PostgreSQL connections of the cron worker terminated
(``pg_terminate_backend``); the cron worker killed with SIGKILL. Then 40 messages to one member (pacing:
at most 30 reach WeCom in the first minute). Retries wait 6-12 s (``wecom_base.message_retry_base`` /
``_max``), and the drain keeps 8 sends in flight (``--concurrency``).

Prints a table: fault, sent, partial, failed, duplicates, lost (sent but never received, or not final at
the end), failures without a reason, gettoken calls, seconds. Exits non-zero when a message is lost,
duplicated, failed without a reason, or when a fault could not be injected.

    scripts/bench_faults.py [--messages 2000] [--faults minus1,http502,...] [--json]

Needs Odoo (importable, or ODOO_PATH) and PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432).
Not a test: it prints figures.
"""

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import uuid
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import machine, odoo_against_mock, pg_connect, pg_settings  # noqa: E402

SEND = "/cgi-bin/message/send"
TIMEOUT = 1.5  # wecom_base.timeout during the benchmark
LEASE = 30  # wecom_base.message_claim_lease during the benchmark
RETRY_AFTER = 5  # seconds between a failed try and its retry (instead of the 30 s and more of production)
RETRY = (6, 12)  # wecom_base.message_retry_base / _max during the benchmark (a circuit's probes too)
OUTAGE = 25  # seconds of the outage fault
FINAL = ("sent", "partial", "exception", "cancel")


class Bench:
    def __init__(self, args, database, mock, server, sql, admin, app_id):
        self.args, self.database, self.mock, self.server = args, database, mock, server
        self.sql, self.admin, self.app_id = sql, admin, app_id
        self.received = []  # mock records saved before the mock is killed
        self.gettoken_before_restart = 0
        self.extra = {}  # figures of one fault (calls during an outage, sends in the first minute)
        self.cron_id = None  # the outbox cron, looked up once

    # ------------------------------------------------------------------ helpers
    def query(self, query, params=()):
        with self.sql.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall() if cr.description else None

    def trigger_cron(self):
        """Make the outbox cron due now through RPC: the server runs with Odoo's ``ODOO_NOTIFY_CRON_CHANGES``,
        so writing ``nextcall`` also wakes its cron worker."""
        if not self.cron_id:
            self.cron_id = self.admin(
                "ir.model.data", "check_object_reference", "wecom_base", "ir_cron_wecom_message_queue"
            )[1]
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        try:
            self.admin("ir.cron", "write", [self.cron_id], {"nextcall": now})
        except xmlrpc.client.Fault as fault:
            if "cannot be modified right now" not in fault.faultString:
                raise
            # Odoo refuses to change a cron while it runs: it is running, which is what was asked

    def cron_worker(self):
        pids = self.server.worker_pids("WorkerCron")
        if len(pids) != 1:
            raise RuntimeError(f"expected one live cron worker, found {pids}")
        return pids[0]

    def counts(self, first, last):
        rows = self.query(
            "SELECT state, COUNT(*) FROM wecom_message WHERE id BETWEEN %s AND %s GROUP BY state", [first, last]
        )
        return dict(rows)

    # ------------------------------------------------------------------ faults
    def fault_errcode(self, errcode):
        def inject():
            self.mock.control.add_fault(path=SEND, errcode=errcode, errmsg=f"bench fault {errcode}", times=150)
            return f"150 sends answered {errcode}"

        return inject

    def fault_tokens(self, how):
        def inject():
            getattr(self.mock.control, how)()
            return f"mock {how}"

        return inject

    def fault_http(self, **fault):
        def inject():
            self.mock.control.add_fault(path=SEND, **fault)
            return ", ".join(f"{k}={v}" for k, v in fault.items())

        return inject

    def fault_mock_restart(self):
        self.mock.control.add_fault(path="*", drop=True, times=-1)  # stop taking messages, then keep them
        time.sleep(0.5)
        stats = self.mock.control.stats()
        self.received.extend(stats["messages"])
        self.gettoken_before_restart += stats["counts"].get("/cgi-bin/gettoken", 0)
        self.mock.process.send_signal(signal.SIGKILL)
        self.mock.process.wait()
        time.sleep(2)  # connection refused meanwhile
        self.mock.start()
        return "mock killed (SIGKILL), down 2 s, restarted empty on its port"

    def fault_pg_terminate(self):
        import psutil  # noqa: PLC0415 - Odoo requires it

        pid = self.cron_worker()
        # the worker's connections, by their client port (their application_name may be the Odoo master's:
        # a worker inherits connections opened before the fork)
        ports = [
            c.laddr.port
            for c in psutil.Process(pid).connections(kind="tcp")
            if c.raddr and c.raddr.port == int(pg_settings()["port"])
        ]
        killed = self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND client_port = ANY(%s)",
            [self.database, ports],
        )
        if not killed:
            raise RuntimeError(f"no PostgreSQL backend of the cron worker {pid} found")
        return f"the {len(killed)} backends of cron worker {pid} terminated"

    def fault_sigkill(self):
        pid = self.cron_worker()
        os.kill(pid, signal.SIGKILL)
        return f"cron worker {pid} killed (SIGKILL); the Odoo master starts a new one"

    def set_retry(self, base, maximum):
        self.admin("ir.config_parameter", "set_param", "wecom_base.message_retry_base", str(base))
        self.admin("ir.config_parameter", "set_param", "wecom_base.message_retry_max", str(maximum))

    def start_outage(self, messages):
        """The outage begins after a quarter of the sends, whatever the drain's speed: added before the drain
        starts, with the mock's ``after`` (injected after a quarter was done, it could come after the last
        send of a fast drain, and test nothing)."""
        self.set_retry(1, 2)
        self.outage_after = messages // 4
        self.mock.control.add_fault(path=SEND, status=502, times=-1, after=self.outage_after)

    def fault_outage(self):
        """HTTP 502 on every send for OUTAGE seconds (from its start, after a quarter of the sends), retries
        compressed to 1-2 s, the cron every second: the circuit opens, one probe per interval goes out, no
        message fails."""
        before = self.outage_after
        end = time.time() + OUTAGE
        while time.time() < end:
            self.trigger_cron()
            time.sleep(1)
        calls = self.mock.control.count(SEND) - before
        self.mock.control.clear_faults()
        self.extra["calls_during_fault"] = calls
        return f"HTTP 502 on every send for {OUTAGE} s: {calls} calls to message/send meanwhile"

    def faults(self):
        return {
            "outage": (f"{OUTAGE} s outage (HTTP 502), retries 1-2 s", self.fault_outage),
            "minus1": ("errcode -1", self.fault_errcode(-1)),
            "45009": ("errcode 45009", self.fault_errcode(45009)),
            "45033": ("errcode 45033", self.fault_errcode(45033)),
            "42001": ("42001 tokens expired", self.fault_tokens("expire_tokens")),
            "40014": ("40014 tokens revoked", self.fault_tokens("revoke_tokens")),
            "http502": ("HTTP 502", self.fault_http(status=502, times=150)),
            "drop": ("dropped connection", self.fault_http(drop=True, times=100)),
            "delay": (f"delay > timeout ({TIMEOUT} s)", self.fault_http(delay=TIMEOUT + 1.5, times=8)),
            "mock_restart": ("mock restarted", self.fault_mock_restart),
            "pg_terminate": ("cron's PG backend killed", self.fault_pg_terminate),
            "sigkill": ("cron worker SIGKILL", self.fault_sigkill),
        }

    # ------------------------------------------------------------------ one run
    def run(self, key):
        label, inject = self.faults()[key]
        self.mock.control.reset()
        self.received = []
        self.gettoken_before_restart = 0
        marker = f"flt-{key}-{uuid.uuid4().hex[:6]}-"
        started = time.perf_counter()
        ids = self.admin(
            "wecom.message",
            "create",
            [
                # one member per message: the pacing per member has its own run (pacing40)
                {"application_id": self.app_id, "to_userids": f"user{i}", "content": f"{marker}{i}"}
                for i in range(self.args.messages)
            ],
        )
        first, last = min(ids), max(ids)
        if key == "outage":
            self.start_outage(len(ids))
        self.admin("wecom.message", "action_send", ids)  # queued, and the cron triggered
        queued_at = time.perf_counter()
        done_at_injection = self.wait_mid_drain(label, first, last, len(ids))
        injected_at = time.perf_counter()
        detail = inject()
        time.sleep(1)
        deadline = time.time() + 30
        while self.mock.control.stats()["faults"] and time.time() < deadline:
            time.sleep(0.2)
        self.mock.control.clear_faults()
        self.finish(first, last, len(ids))
        self.set_retry(*RETRY)
        result = self.check(marker, first, last)
        result.update(self.extra)
        self.extra = {}
        result.update(
            fault=label,
            key=key,
            detail=detail,
            messages=len(ids),
            seconds=round(time.perf_counter() - started, 1),
            done_at_injection=done_at_injection,
            injected_after_s=round(injected_at - queued_at, 2),
        )
        return result

    def run_pacing(self, count=40, member="zhangsan"):
        """``count`` messages to one member: WeCom delivers 30 a minute to a member and drops the rest, so
        the outbox hands it at most 30 in the first minute; the rest wait (no try, no failure)."""
        self.mock.control.reset()
        marker = f"flt-pacing-{uuid.uuid4().hex[:6]}-"
        started = time.perf_counter()
        ids = self.admin(
            "wecom.message",
            "create",
            [{"application_id": self.app_id, "to_userids": member, "content": f"{marker}{i}"} for i in range(count)],
        )
        first, last = min(ids), max(ids)
        self.admin("wecom.message", "action_send", ids)
        first_minute = 0
        while time.perf_counter() - started < 58:
            self.trigger_cron()
            time.sleep(2)
            first_minute = sum(
                1 for m in self.mock.control.messages() if m["payload"]["text"]["content"].startswith(marker)
            )
        waiting = self.counts(first, last).get("outgoing", 0)
        self.finish(first, last, len(ids), travel=False)
        result = self.check(marker, first, last)
        result.update(
            fault=f"{count} messages to one member",
            key="pacing40",
            detail=f"{first_minute} reached WeCom in the first minute, {waiting} waited",
            messages=len(ids),
            seconds=round(time.perf_counter() - started, 1),
            sent_first_minute=first_minute,
            waited=waiting,
            injected_after_s=0,
            done_at_injection=0,
        )
        return result

    def wait_mid_drain(self, label, first, last, total):
        """Wait until a quarter of the messages is done, then until a batch is in flight (claimed), and a
        little more: into its sends (a batch of 50 takes ~70 ms). Returns how many were done then."""
        deadline = time.time() + 120
        while sum(n for state, n in self.counts(first, last).items() if state in FINAL) < total // 4:
            if time.time() > deadline:
                raise RuntimeError(f"{label}: the drain did not start")
            time.sleep(0.02)
        while not self.query(
            "SELECT 1 FROM wecom_message WHERE id BETWEEN %s AND %s AND state = 'outgoing' "
            "AND claimed_at IS NOT NULL LIMIT 1",
            [first, last],
        ):
            if time.time() > deadline:
                raise RuntimeError(f"{label}: no batch in flight")
            time.sleep(0.002)
        time.sleep(random.uniform(0.005, 0.03))
        return sum(n for state, n in self.counts(first, last).items() if state in FINAL)

    def finish(self, first, last, total, travel=True):
        """Let the cron finish. Retries wait for their backoff: travel it, but only RETRY_AFTER seconds
        after the failure, so that WeCom processes a late request before its resend, as the real backoff
        ensures. Claims of a dead sender are left to their lease. ``travel=False``: wait for real (pacing)."""
        deadline = time.time() + LEASE + 180
        waiting_since = {}
        while time.time() < deadline:
            counts = self.counts(first, last)
            if sum(n for state, n in counts.items() if state in FINAL) == total:
                return
            now = time.time()
            for (message_id,) in self.query(
                "SELECT id FROM wecom_message WHERE id BETWEEN %s AND %s AND state = 'outgoing' "
                "AND next_try_date > NOW() AT TIME ZONE 'UTC'",
                [first, last],
            ):
                waiting_since.setdefault(message_id, now)
            due = [mid for mid, since in waiting_since.items() if travel and now - since >= RETRY_AFTER]
            for mid in due:
                del waiting_since[mid]
            if due:
                self.query(
                    "UPDATE wecom_message SET next_try_date = NOW() AT TIME ZONE 'UTC' - INTERVAL '1 second' "
                    "WHERE id IN %s AND state = 'outgoing' AND next_try_date > NOW() AT TIME ZONE 'UTC'",
                    [tuple(due)],
                )
            if due or counts.get("outgoing"):
                self.trigger_cron()
            time.sleep(1)

    def check(self, marker, first, last):
        """Final states, deliveries per message (by marker), failures without a reason."""
        stats = self.mock.control.stats()
        delivered = {}
        for record in self.received + stats["messages"]:
            content = record["payload"].get("text", {}).get("content", "")
            if record["delivered"] and content.startswith(marker):
                delivered[content] = delivered.get(content, 0) + 1
        rows = self.query(
            "SELECT content, state, failure_reason, try_count FROM wecom_message WHERE id BETWEEN %s AND %s",
            [first, last],
        )
        counts = {}
        lost = no_reason = 0
        for content, state, reason, _tries in rows:
            counts[state] = counts.get(state, 0) + 1
            if state not in FINAL or (state in ("sent", "partial") and not delivered.get(content)):
                lost += 1
            if state == "exception" and not reason:
                no_reason += 1
        if any(row[1] not in FINAL for row in rows):  # out of the next run's way
            self.query(
                "UPDATE wecom_message SET state = 'cancel' WHERE id BETWEEN %s AND %s AND state = 'outgoing'",
                [first, last],
            )
        reasons = self.query(
            """
            SELECT LEFT(failure_reason, 90), COUNT(*) FROM wecom_message
             WHERE id BETWEEN %s AND %s AND failure_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 3
            """,
            [first, last],
        )
        return {
            "sent": counts.get("sent", 0),
            "partial": counts.get("partial", 0),
            "failed": counts.get("exception", 0),
            "cancelled": counts.get("cancel", 0),
            "duplicates": sum(n - 1 for n in delivered.values() if n > 1),
            "lost": lost,
            "no_reason": no_reason,
            "gettoken": stats["counts"].get("/cgi-bin/gettoken", 0) + self.gettoken_before_restart,
            "retried": sum(1 for row in rows if (row[3] or 0) > 1),
            "reasons": reasons,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages queued per fault")
    parser.add_argument("--faults", default="all", help="comma-separated keys (default: all), e.g. minus1,sigkill")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line too")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--concurrency", type=int, default=8, help="wecom_base.message_concurrency (default 8)")
    args = parser.parse_args()

    database = f"wecom_bench_faults_{os.getpid()}"
    log = tempfile.NamedTemporaryFile(prefix="wecom-bench-faults-", suffix=".log", delete=False)
    results = []
    with odoo_against_mock(
        database,
        log,
        timeout=TIMEOUT,
        keep_db=args.keep_db,
        workers=1,
        cron_threads=1,
        env={"ODOO_NOTIFY_CRON_CHANGES": "1"},
    ) as (mock, server, admin, app_id):
        for key, value in (
            ("wecom_base.message_claim_lease", LEASE),
            ("wecom_base.message_batch_size", 50),
            ("wecom_base.message_concurrency", args.concurrency),
        ):
            admin("ir.config_parameter", "set_param", key, str(value))
        sql = pg_connect(database)
        try:
            bench = Bench(args, database, mock, server, sql, admin, app_id)
            bench.set_retry(*RETRY)
            keys = [*bench.faults(), "pacing40"] if args.faults == "all" else args.faults.split(",")
            for key in keys:
                print(f"fault {key} ...", flush=True)
                result = bench.run_pacing() if key == "pacing40" else bench.run(key)
                results.append(result)
                print(
                    f"  {result['detail']}: sent {result['sent']}, partial {result['partial']}, failed "
                    f"{result['failed']}, duplicates {result['duplicates']}, lost {result['lost']}, "
                    f"retried {result['retried']}, {result['seconds']} s (injected {result['injected_after_s']} s "
                    f"after queueing, {result['done_at_injection']} done then)",
                    flush=True,
                )
                for reason, count in result["reasons"]:
                    print(f"    {count} x {reason}")
            print()
            print(f"fault matrix: {args.messages} messages per fault, concurrency {args.concurrency}; {machine()}")
            print(
                "| fault | sent | partial | failed | duplicates | lost | failed without reason | gettoken | retried "
                "| s | note |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for r in results:
                note = ""
                if "calls_during_fault" in r:
                    note = f"{r['calls_during_fault']} calls during the outage"
                elif "sent_first_minute" in r:
                    note = f"{r['sent_first_minute']} sent in the first minute, {r['waited']} waited"
                print(
                    f"| {r['fault']} | {r['sent']} | {r['partial']} | {r['failed']} | {r['duplicates']} | {r['lost']} "
                    f"| {r['no_reason']} | {r['gettoken']} | {r['retried']} | {r['seconds']} | {note} |"
                )
            if args.json:
                print(json.dumps([{k: v for k, v in r.items() if k != "reasons"} for r in results]))
            # an outage that no send met tested nothing
            bad = [
                r
                for r in results
                if r["duplicates"] or r["lost"] or r["no_reason"] or r.get("calls_during_fault", 1) == 0
            ]
            return 1 if bad else 0
        finally:
            sql.close()
            print(f"(Odoo log: {log.name})")


if __name__ == "__main__":
    sys.exit(main())
