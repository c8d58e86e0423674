#!/usr/bin/env python3
"""Callback benchmark: WeCom-style signed and encrypted POSTs against a running Odoo.

Starts Odoo (a fresh database with wecom_base, HTTP on a free 127.0.0.1 port), configures one
application callback, then posts N callback messages from C concurrent clients, a share of them
delivered twice (WeCom retries). Every request is built (encrypted and signed) before the clock starts.

Prints: requests, clients, p50 / p90 / p99 / max latency of verify + decrypt + store (the whole HTTP
round trip), requests per second, errors (non-200 answers), events stored, duplicates stored (events
stored more than once: must be 0) and lost (distinct messages not stored: must be 0).

    scripts/bench_callback.py                     # 2000 requests, 50 clients, 4 Odoo workers
    scripts/bench_callback.py --requests 5000 --clients 50 --workers 0

Needs Odoo (importable, or ODOO_PATH) and PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432).
"""

import argparse
import http.client
import importlib.util
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

from benchlib import REPO, OdooServer, Rpc, drop_db, install_db


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


def run_clients(port, requests_, clients):
    latencies, errors, lock = [], [], threading.Lock()
    chunks = [requests_[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(chunk):
        barrier.wait()
        for query, body, _key in chunk:
            # one connection per request, as WeCom's servers do
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start = time.perf_counter()
            try:
                conn.request("POST", query, body=body, headers={"Content-Type": "text/xml"})
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


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="Odoo --workers (0: threaded server)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of requests that repeat one")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    parser.add_argument("--keep-db", action="store_true")
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
        run_clients(port, warmup, min(args.clients, max(1, args.warmup)))
        base = call("wecom.callback.event", "search_count", [])
        requests_, distinct = build_requests(crypto, path, args.requests, args.duplicates, rng)
        latencies, errors, elapsed = run_clients(port, requests_, args.clients)

        stored = call("wecom.callback.event", "search_count", []) - base
        dup_groups = call("wecom.callback.event", "read_group", [], ["dedupe_key"], ["dedupe_key"], lazy=False)
        duplicates = sum(group["__count"] - 1 for group in dup_groups if group["__count"] > 1)
        lost = distinct - (stored - duplicates)
        figures = {
            "requests": len(latencies),
            "distinct": distinct,
            "clients": args.clients,
            "workers": args.workers,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p90_ms": round(percentile(latencies, 0.90) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
            "req_per_s": round(len(latencies) / elapsed, 1),
            "errors": len(errors),
            "stored": stored,
            "duplicates": duplicates,
            "lost": lost,
            "cpus": os.cpu_count(),
        }
        print(
            f"callback benchmark: {figures['requests']} POSTs ({distinct} distinct, the rest WeCom-style "
            f"retries), {args.clients} clients, Odoo --workers {args.workers}, {os.cpu_count()} CPUs"
        )
        print(
            f"  latency   p50 {figures['p50_ms']} ms   p90 {figures['p90_ms']} ms   "
            f"p99 {figures['p99_ms']} ms   max {figures['max_ms']} ms"
        )
        print(f"  throughput {figures['req_per_s']} requests/s")
        print(f"  errors {figures['errors']}   stored {stored}   duplicates {duplicates}   lost {lost}")
        if errors:
            print(f"  error statuses: {sorted(set(map(str, errors)))}")
        if args.json:
            print(json.dumps(figures))
        return 0 if not errors and not duplicates and not lost else 1
    finally:
        server.stop()
        if not args.keep_db:
            drop_db(database)
        print(f"(Odoo log: {log.name})")


if __name__ == "__main__":
    sys.exit(main())
