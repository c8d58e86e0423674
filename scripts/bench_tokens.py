#!/usr/bin/env python3
"""Token benchmark: many Odoo workers, many RPC clients, WeCom tokens expiring under them.

Starts the mock WeCom (own process) and Odoo with ``--workers 4`` on a fresh database, then C concurrent
XML-RPC clients (admin, a WeCom manager) each queue M messages with ``wecom_send`` and send each at once
with the public button method ``action_send_now`` (so every send runs in one of the HTTP workers, each
with its own token cache). The mock's tokens are expired (42001) right before the clients start and
again when half of the messages are sent.

Prints: messages, time, messages/s, send latency p50/p99, ``gettoken`` calls (target: one per expiry),
RPC errors (target 0), messages not delivered exactly once, lock waits over 1 s (sampled from
pg_stat_activity every 50 ms: a backend waiting on a lock with its query started over 1 s ago) and
deadlocks (pg_stat_database delta). Exits non-zero when a target is missed.

    scripts/bench_tokens.py [--clients 8] [--messages 100] [--workers 4] [--json]

Needs Odoo (importable, or ODOO_PATH) and PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432).
Not a test: it prints figures.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import Rpc, machine, odoo_against_mock, pg_connect  # noqa: E402

from tests.odoo_server import as_ids  # noqa: E402


class LockWatcher(threading.Thread):
    """Samples pg_stat_activity: every lock wait seen, with the longest time it was seen waiting."""

    def __init__(self, database, interval=0.05):
        super().__init__(daemon=True)
        self.database, self.interval = database, interval
        self.waits = {}  # (pid, query_start) -> (seconds waited, query)
        self.stopped = threading.Event()

    def run(self):
        conn = pg_connect(self.database)
        try:
            with conn.cursor() as cr:
                while not self.stopped.is_set():
                    cr.execute(
                        """
                        SELECT pid, query_start, EXTRACT(EPOCH FROM clock_timestamp() - query_start), LEFT(query, 120)
                          FROM pg_stat_activity
                         WHERE datname = %s AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
                        """,
                        [self.database],
                    )
                    for pid, started, waited, query in cr.fetchall():
                        key = (pid, started)
                        if waited > self.waits.get(key, (0, ""))[0]:
                            self.waits[key] = (float(waited), query)
                    self.stopped.wait(self.interval)
        finally:
            conn.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


def deadlocks(database):
    conn = pg_connect(database)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [database])
            return cr.fetchone()[0]
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent RPC clients")
    parser.add_argument("--messages", type=int, default=100, help="messages per client")
    parser.add_argument("--workers", type=int, default=4, help="Odoo --workers")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    database = f"wecom_bench_tokens_{os.getpid()}"
    log = tempfile.NamedTemporaryFile(prefix="wecom-bench-tokens-", suffix=".log", delete=False)
    with odoo_against_mock(
        database,
        log,
        timeout=10,
        keep_db=args.keep_db,
        workers=args.workers,
        cron_threads=0,
        extra=["--db_maxconn", "32"],
    ) as (mock, server, admin, app_id):
        try:
            # one token fetched and stored (and cached by one worker), then expired under everyone
            warm = admin("wecom.message", "wecom_send", app_id, userids=["zhangsan"], content="warm-up")
            admin("wecom.message", "action_send_now", as_ids(warm))
            base_gettoken = mock.control.count("/cgi-bin/gettoken")
            total = args.clients * args.messages
            run_id = uuid.uuid4().hex[:8]
            clients = [Rpc(server.port, database) for _ in range(args.clients)]
            lock = threading.Lock()
            state = {"done": 0, "expired_halfway": False}
            latencies, errors = [], []
            barrier = threading.Barrier(args.clients + 1)
            base_deadlocks = deadlocks(database)
            watcher = LockWatcher(database)

            def client(index, rpc):
                barrier.wait()
                for number in range(args.messages):
                    marker = f"tok-{run_id}-{index}-{number}"
                    start = time.perf_counter()
                    try:
                        message_id = rpc("wecom.message", "wecom_send", app_id, userids=["zhangsan"], content=marker)
                        rpc("wecom.message", "action_send_now", as_ids(message_id))
                    except Exception as exc:  # noqa: BLE001 - counted and shown
                        with lock:
                            errors.append(f"{type(exc).__name__}: {str(exc)[-300:]}")
                        continue
                    finally:
                        elapsed = time.perf_counter() - start
                    with lock:
                        latencies.append(elapsed)
                        state["done"] += 1
                        halfway = state["done"] >= total // 2 and not state["expired_halfway"]
                        if halfway:
                            state["expired_halfway"] = True
                    if halfway:
                        mock.control.expire_tokens()

            threads = [threading.Thread(target=client, args=(i, rpc)) for i, rpc in enumerate(clients)]
            for thread in threads:
                thread.start()
            mock.control.expire_tokens()  # the token every worker would use answers 42001 from now on
            watcher.start()
            barrier.wait()
            started = time.perf_counter()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            watcher.stop()
            stats = mock.control.stats()
            delivered = {}
            for record in stats["messages"]:
                content = record["payload"].get("text", {}).get("content", "")
                if record["delivered"] and content.startswith(f"tok-{run_id}-"):
                    delivered[content] = delivered.get(content, 0) + 1
            not_once = total - sum(1 for count in delivered.values() if count == 1)
            long_waits = sorted((w for w in watcher.waits.values() if w[0] > 1.0), reverse=True)
            figures = {
                "messages": total,
                "clients": args.clients,
                "workers": args.workers,
                "seconds": round(elapsed, 1),
                "msg_per_s": round(total / elapsed, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
                "p99_ms": round(sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
                "expiries": 2,
                "gettoken": stats["counts"].get("/cgi-bin/gettoken", 0) - base_gettoken,
                "errors": len(errors),
                "not_delivered_once": not_once,
                "lock_waits": len(watcher.waits),
                "lock_waits_over_1s": len(long_waits),
                "max_lock_wait_s": round(max((w[0] for w in watcher.waits.values()), default=0.0), 2),
                "deadlocks": deadlocks(database) - base_deadlocks,
                "machine": machine(),
            }
            print()
            print(
                f"token benchmark: {total} messages from {args.clients} RPC clients, Odoo --workers {args.workers}, "
                f"tokens expired at the start and halfway"
            )
            print(f"  machine   {figures['machine']}")
            print(
                f"  time      {figures['seconds']} s, {figures['msg_per_s']} messages/s (wecom_send + action_send_now),"
                f" p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms"
            )
            print(f"  gettoken  {figures['gettoken']} for {figures['expiries']} expiries (target: one per expiry)")
            print(f"  errors    {figures['errors']}   not delivered exactly once {not_once}")
            print(
                f"  locks     {figures['lock_waits']} waits seen, {figures['lock_waits_over_1s']} over 1 s "
                f"(longest {figures['max_lock_wait_s']} s), deadlocks {figures['deadlocks']}"
            )
            for waited, query in long_waits[:5]:
                print(f"    {waited:.1f} s: {query}")
            for error in errors[:5]:
                print(f"  error: {error}")
            if args.json:
                print(json.dumps(figures))
            ok = (
                not errors
                and not not_once
                and figures["gettoken"] == figures["expiries"]
                and not long_waits
                and not figures["deadlocks"]
            )
            return 0 if ok else 1
        finally:
            print(f"(Odoo log: {log.name})")


if __name__ == "__main__":
    sys.exit(main())
