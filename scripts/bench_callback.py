#!/usr/bin/env python3
"""Callback benchmark: WeCom-style signed and encrypted POSTs against a running Odoo, measured against
Odoo's own ``/web/health`` on the same server in the same run.

Starts Odoo (a fresh database with wecom_base, HTTP on a free 127.0.0.1 port), configures one
application callback, then, in each round, sends N ``GET /web/health`` and then N callback POSTs from C
concurrent clients (one connection per request, as WeCom's servers do), a share of the callbacks
delivered twice (WeCom retries). Every request is built (encrypted and signed) before the clock starts.

``/web/health`` is Odoo's cheapest database route (monodb: registry check, a transaction, no ORM
work), so the two ratios say what the callback costs on top of Odoo itself, whatever the machine and
its load: callback/health requests per second (target >= 0.5) and callback/health p99 (target <= 1.5).

Prints for both: p50 / p90 / p99 / max latency (the whole HTTP round trip), requests per second, the
requests that took 1 s or more (mostly connections that found Odoo's listen backlog, 8 per worker, full and
were retried by TCP after 1 s) and errors (non-200 answers); then the two ratios; then events stored,
duplicates stored (events stored more than once: must be 0) and lost (distinct messages not stored: must
be 0), and the load average.

    scripts/bench_callback.py                     # 3 rounds of 2000 requests each, 50 clients, 4 workers
    scripts/bench_callback.py --requests 5000 --clients 50 --workers 8 --rounds 1

Needs Odoo (importable, or ODOO_PATH) and PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432).
"""

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

from benchlib import REPO, OdooServer, Rpc, drop_db, install_db, machine


def _load_crypto():
    """The addon's own callback crypto (wecom_base/lib/crypto.py imports nothing from Odoo)."""
    spec = importlib.util.spec_from_file_location(
        "wecom_bench_crypto", os.path.join(REPO, "wecom_base", "lib", "crypto.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WeComCallbackCrypto


WeComCallbackCrypto = _load_crypto()

CORP_ID = "wwbench000000000001"
TOKEN = "BenchToken2026"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
AGENT_ID = 1000002


def build_requests(crypto, path, count, duplicate_share, rng, offset=0):
    """(query, body, message_key) for count requests; a share of them repeats an earlier delivery."""
    requests_ = []
    distinct = []
    now = int(time.time())
    for index in range(offset, offset + count):
        if distinct and rng.random() < duplicate_share:
            requests_.append(rng.choice(distinct))  # WeCom retrying the very same request
            continue
        if index % 2:
            xml = (
                f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[user{index % 37}]]>"
                f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[benchmark message {index}]]></Content><MsgId>{10**12 + index}</MsgId>"
                f"<AgentID>{AGENT_ID}</AgentID></xml>"
            )
        else:  # events: no MsgId, same sender and second, stored by content hash
            xml = (
                f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]>"
                f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType>"
                f"<UserID>member{index}</UserID><AgentID>{AGENT_ID}</AgentID></xml>"
            )
        encrypted = crypto.encrypt(xml)
        nonce = str(rng.randrange(10**9, 10**10))
        timestamp = str(now)
        query = (
            f"{path}?msg_signature={crypto.signature(timestamp, nonce, encrypted)}&timestamp={timestamp}&nonce={nonce}"
        )
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID>{AGENT_ID}</AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        ).encode()
        item = (query, body, index)
        distinct.append(item)
        requests_.append(item)
    return requests_, len(distinct)


HEALTH_PATH = "/web/health"


def run_clients(port, requests_, clients, method="POST"):
    """Send ``requests_`` (``(path, body, key)``) from ``clients`` threads; one connection per request.

    :return: ``(latencies in seconds, error statuses, elapsed seconds)``
    """
    latencies, errors, lock = [], [], threading.Lock()
    chunks = [requests_[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + 1)
    headers = {"Content-Type": "text/xml"} if method == "POST" else {}

    def client(chunk):
        barrier.wait()
        for query, body, _key in chunk:
            # one connection per request, as WeCom's servers do
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start = time.perf_counter()
            try:
                conn.request(method, query, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                status = f"{type(exc).__name__}"
            finally:
                conn.close()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(status)

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def summary(latencies, errors, elapsed):
    """The figures of one kind of request (all rounds together)."""
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p90_ms": round(percentile(latencies, 0.90) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "req_per_s": round(len(latencies) / elapsed, 1),
        # a connection refused by a full listen backlog is retried by TCP after 1 s (then 3 s, 7 s)
        "over_1s": sum(1 for value in latencies if value >= 1.0),
        "errors": len(errors),
        "error_statuses": sorted(set(map(str, errors))),
    }


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


@contextlib.contextmanager
def py_spy(server, output):
    """Record the server and its workers with py-spy while the block runs (nothing when ``output`` is empty)."""
    if not output:
        yield
        return
    command = [os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid", str(server.process.pid)]
    command += ["--subprocesses", "--format", "raw", "--rate", "200", "--nonblocking", "--output", output]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches to every process first
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        recorder.wait(timeout=60)
        print(f"  py-spy: {output}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="callbacks (and health checks) per round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="Odoo --workers (0: threaded server)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of requests that repeat one")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="health then callbacks, this many times (alternating: both share the machine's load alike)",
    )
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--py-spy",
        metavar="PREFIX",
        help="record Odoo's processes with py-spy during each timed phase: PREFIX.health.txt and "
        "PREFIX.callback.txt (collapsed stacks, for flamegraph.pl or grep); slows the server down",
    )
    args = parser.parse_args()

    database = f"wecom_bench_cb_{os.getpid()}"
    log = tempfile.NamedTemporaryFile(prefix="wecom-bench-callback-", suffix=".log", delete=False)
    print(f"installing wecom_base into {database} ...", flush=True)
    install_db(database, log)
    server = OdooServer(
        database,
        log,
        workers=args.workers,
        db_filter=False,  # one database: no --db-filter, whose per-request check costs ~20 % of the throughput
        extra=["--log-level", "warn", "--db_maxconn", str(max(64, args.clients + 8))],
        # a prefork worker drops a connection whose request has not arrived within 2 s; the benchmark's own
        # client threads compete for the same 2 CPUs, so give them the time a reverse proxy would
        env={"ODOO_HTTP_SOCKET_TIMEOUT": os.environ.get("ODOO_HTTP_SOCKET_TIMEOUT", "10")},
    )
    try:
        server.start()
        port = server.port
        call = Rpc(port, database)
        company_id = call("res.users", "read", [call.uid], ["company_id"])[0]["company_id"][0]
        call("res.company", "write", [company_id], {"wecom_corp_id": CORP_ID})
        app_id = call(
            "wecom.application",
            "create",
            {"app_name": "Bench", "agent_id": AGENT_ID, "secret": "bench-secret", "company_id": company_id},
        )
        callback_id = call(
            "wecom.callback", "create", {"application_id": app_id, "callback_token": TOKEN, "encoding_aes_key": AES_KEY}
        )
        # the URL the callback shows (the route is the controller's, in one place); its host is web.base.url
        path = urlsplit(call("wecom.callback", "read", [callback_id], ["callback_url"])[0]["callback_url"]).path

        crypto = WeComCallbackCrypto(TOKEN, AES_KEY, CORP_ID)
        rng = random.Random(2026)
        warmup, _n = build_requests(crypto, path, args.warmup, 0, rng, offset=10**6)
        warm_clients = min(args.clients, max(1, args.warmup))
        run_clients(port, [(HEALTH_PATH, None, None)] * args.warmup, warm_clients, method="GET")
        run_clients(port, warmup, warm_clients)
        base = call("wecom.callback.event", "search_count", [])
        rounds = [
            build_requests(crypto, path, args.requests, args.duplicates, rng, offset=index * args.requests)
            for index in range(args.rounds)
        ]
        distinct = sum(count for _r, count in rounds)
        load_before = os.getloadavg()
        health_runs, callback_runs = [], []
        for index, (requests_, _count) in enumerate(rounds):
            with py_spy(server, args.py_spy and f"{args.py_spy}.health{'.' + str(index) if index else ''}.txt"):
                health_runs.append(
                    run_clients(port, [(HEALTH_PATH, None, None)] * args.requests, args.clients, method="GET")
                )
            with py_spy(server, args.py_spy and f"{args.py_spy}.callback{'.' + str(index) if index else ''}.txt"):
                callback_runs.append(run_clients(port, requests_, args.clients))
        load_after = os.getloadavg()

        def total(runs):
            return summary(
                [value for run in runs for value in run[0]],
                [value for run in runs for value in run[1]],
                sum(run[2] for run in runs),
            )

        health, callback = total(health_runs), total(callback_runs)
        stored = call("wecom.callback.event", "search_count", []) - base
        dup_groups = call("wecom.callback.event", "read_group", [], ["dedupe_key"], ["dedupe_key"], lazy=False)
        duplicates = sum(group["__count"] - 1 for group in dup_groups if group["__count"] > 1)
        lost = distinct - (stored - duplicates)
        ratio_rps = round(callback["req_per_s"] / health["req_per_s"], 2)
        ratio_p99 = round(callback["p99_ms"] / health["p99_ms"], 2)
        # the keys of the callback figures stay at the top level (scripts/bench reads them)
        figures = {
            **{key: value for key, value in callback.items() if key != "error_statuses"},
            "distinct": distinct,
            "clients": args.clients,
            "workers": args.workers,
            "rounds": args.rounds,
            "health": {key: value for key, value in health.items() if key != "error_statuses"},
            "ratio_req_per_s": ratio_rps,
            "ratio_p99": ratio_p99,
            "stored": stored,
            "duplicates": duplicates,
            "lost": lost,
            "cpus": os.cpu_count(),
            "load_before": round(load_before[0], 2),
            "load_after": round(load_after[0], 2),
        }
        print(
            f"callback benchmark: {args.rounds} x ({args.requests} GET {HEALTH_PATH}, then {args.requests} callback "
            f"POSTs), {args.clients} clients, Odoo --workers {args.workers}; {distinct} distinct callbacks, "
            "the rest WeCom-style retries"
        )
        print(f"  machine: {machine()}")
        for name, result in (("health", health), ("callback", callback)):
            print(
                f"  {name:8}  {result['req_per_s']:7.1f} requests/s   p50 {result['p50_ms']} ms   "
                f"p90 {result['p90_ms']} ms   p99 {result['p99_ms']} ms   max {result['max_ms']} ms   "
                f">= 1 s {result['over_1s']}   errors {result['errors']}"
            )
            if result["errors"]:
                print(f"            error statuses: {result['error_statuses']}")
        print(
            f"  ratios    callback/health requests/s {ratio_rps} (target >= 0.5)   "
            f"callback/health p99 {ratio_p99} (target <= 1.5)"
        )
        print(f"  callbacks stored {stored}   duplicates {duplicates}   lost {lost}")
        print(f"  load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after the timed part")
        if args.json:
            print(json.dumps(figures))
        return 0 if not (callback["errors"] or health["errors"] or duplicates or lost) else 1
    finally:
        server.stop()
        if not args.keep_db:
            drop_db(database)
        print(f"(Odoo log: {log.name})")


if __name__ == "__main__":
    sys.exit(main())
