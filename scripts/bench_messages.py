#!/usr/bin/env python3
"""Outbox benchmark: queue N WeCom messages and drain them against the mock WeCom; print the figures.

    ODOO_PATH=/path/to/odoo-18.0 python3 scripts/bench_messages.py [--sizes 2000,10000] [--batch 200]

For each N: messages/s of the drain (the ``_cron_process_queue`` path, committing between batches as in
production), the ratio of the addon's time per message to a raw ``requests.post`` of the same payloads to
the same mock in the same run, the number of ``gettoken`` calls, and the process's RSS before and after
(peak RSS from getrusage). The mock runs in its own process. A fresh database is created and dropped.
Not a test: it asserts nothing, it prints.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds():
    """CPU time of this process so far (all its threads, user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb():
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="comma-separated numbers of messages (default 10000)")
    parser.add_argument("--batch", type=int, default=200, help="outbox batch size")
    parser.add_argument("--db", default=f"wecom_bench_{os.getpid()}")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="wecom_base.message_concurrency (default: the addon's, 8)"
    )
    parser.add_argument(
        "--latency",
        default="0",
        help="comma-separated delays in ms that the mock adds to every message/send (e.g. 0,50,150)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    latencies = [float(ms) for ms in args.latency.split(",")]

    odoo_path = os.environ.get("ODOO_PATH")
    if odoo_path:
        sys.path.insert(0, odoo_path)
    sys.path.insert(0, REPO)
    import requests  # noqa: PLC0415
    import requests.adapters  # noqa: PLC0415

    import odoo  # noqa: PLC0415
    import odoo.api  # noqa: PLC0415 - 19.0's "import odoo" no longer imports its submodules
    import odoo.modules.registry  # noqa: PLC0415
    import odoo.sql_db  # noqa: PLC0415
    import odoo.tools  # noqa: PLC0415

    import tests  # noqa: PLC0415, F401 - registers wecom_base.tests (the mock's home) without the addon's __init__
    from tests.odoo_locate import locate  # noqa: PLC0415
    from wecom_base.tests.mock_wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET, MockWeComControl  # noqa: PLC0415

    found = locate(odoo_path)[0]  # both source layouts
    addons = found.addons_path()
    db_args = ["--db_host", os.environ.get("PGHOST", "127.0.0.1"), "--db_user", os.environ.get("PGUSER", "root")]
    port = free_port()
    mock_proc = subprocess.Popen(
        [sys.executable, "-m", "tests.mock_wecom", "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL
    )
    mock = MockWeComControl(f"http://127.0.0.1:{port}")
    try:
        for _ in range(50):
            try:
                mock.stats()
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        print(f"installing wecom_base into {args.db} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "odoo",
                "-d",
                args.db,
                *db_args,
                "--addons-path",
                f"{addons},{REPO}",
                "-i",
                "wecom_base",
                "--stop-after-init",
                *found.no_demo_args,
                "--log-level=warn",
                "--http-port",
                str(free_port()),
            ],
            check=True,
            env={**os.environ, "PYTHONPATH": odoo_path or ""},
        )
        odoo.tools.config.parse_config(
            ["-d", args.db, *db_args, "--addons-path", f"{addons},{REPO}", "--log-level=warn"]
        )
        registry = odoo.modules.registry.Registry(args.db)
        rows = []
        for size, latency in [(size, latency) for latency in latencies for size in sizes]:
            mock.reset()
            if latency:
                mock.add_fault(path="/cgi-bin/message/send", delay=latency / 1000, times=-1)
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                env["ir.config_parameter"].set_param("wecom_base.api_base_url", mock.url)
                env["ir.config_parameter"].set_param("wecom_base.message_batch_size", str(args.batch))
                if args.concurrency:
                    env["ir.config_parameter"].set_param("wecom_base.message_concurrency", str(args.concurrency))
                env.company.wecom_corp_id = DEFAULT_CORP_ID
                app = env["wecom.application"].search([("agent_id", "=", DEFAULT_AGENT_ID)]) or env[
                    "wecom.application"
                ].create({"app_name": "Bench", "agent_id": DEFAULT_AGENT_ID, "secret": DEFAULT_SECRET})
                cr.execute("DELETE FROM wecom_message")
                start = time.perf_counter()
                env["wecom.message"].create(
                    [
                        {
                            "application_id": app.id,
                            # one member per message: WeCom paces each member (30 a minute)
                            "to_userids": f"user{i}",
                            "content": f"bench message {i}",
                            "state": "outgoing",
                        }
                        for i in range(size)
                    ]
                )
                queue_s = time.perf_counter() - start
                app_id = app.id
            rss_before = rss_mb()
            cpu_before = cpu_seconds()
            start = time.perf_counter()
            profiler = None
            if os.environ.get("WECOM_BENCH_PROFILE"):
                import cProfile  # noqa: PLC0415

                profiler = cProfile.Profile()
                profiler.enable()
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                while env["wecom.message"]._cron_process_queue(batch_size=args.batch, max_batches=1000):
                    pass
                cr.execute("SELECT state, COUNT(*) FROM wecom_message GROUP BY state")
                states = dict(cr.fetchall())
            drain_s = time.perf_counter() - start
            drain_cpu_s = cpu_seconds() - cpu_before
            if profiler:
                profiler.disable()
                profiler.dump_stats(os.environ["WECOM_BENCH_PROFILE"])
            rss_after = rss_mb()
            stats = mock.stats()
            gettoken = stats["counts"].get("/cgi-bin/gettoken", 0)
            payloads = [m["payload"] for m in stats["messages"]]
            if latency:
                payloads = payloads[:200]  # sequential raw posts at that latency: a sample is enough
            # raw baseline: the same payloads, the same mock, one pooled requests.Session
            token = requests.get(
                f"{mock.url}/cgi-bin/gettoken",
                params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET},
                timeout=10,
            ).json()
            session = requests.Session()
            cpu_before = cpu_seconds()
            start = time.perf_counter()
            for payload in payloads:
                session.post(
                    f"{mock.url}/cgi-bin/message/send",
                    params={"access_token": token["access_token"]},
                    json=payload,
                    timeout=10,
                ).json()
            raw_s = time.perf_counter() - start
            raw_cpu_s = cpu_seconds() - cpu_before
            # and with as many requests in flight as the addon keeps (threads, a pool as large)
            concurrency = args.concurrency or 8
            pooled = requests.Session()
            pooled.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
            all_payloads = [m["payload"] for m in stats["messages"]][: max(len(payloads), 1000)]

            def post(payload, session=pooled, access_token=token["access_token"]):
                return session.post(
                    f"{mock.url}/cgi-bin/message/send",
                    params={"access_token": access_token},
                    json=payload,
                    timeout=10,
                ).json()

            with ThreadPoolExecutor(concurrency) as threads:
                start = time.perf_counter()
                list(threads.map(post, all_payloads))
                raw_concurrent_s = time.perf_counter() - start
            sent = states.get("sent", 0)
            rows.append(
                {
                    "n": size,
                    "latency_ms": latency,
                    "queue_s": queue_s,
                    "drain_s": drain_s,
                    "msg_s": sent / drain_s if drain_s else 0,
                    "ratio": (drain_s / max(sent, 1)) / (raw_s / max(len(payloads), 1)) if payloads else 0,
                    "raw_concurrent_msg_s": len(all_payloads) / raw_concurrent_s if raw_concurrent_s else 0,
                    "ratio_concurrent": (drain_s / max(sent, 1)) / (raw_concurrent_s / max(len(all_payloads), 1))
                    if all_payloads
                    else 0,
                    "cpu_us": drain_cpu_s / max(sent, 1) * 1e6,
                    "raw_cpu_us": raw_cpu_s / max(len(payloads), 1) * 1e6,
                    "gettoken": gettoken,
                    "sent": sent,
                    "other": {k: v for k, v in states.items() if k != "sent"},
                    "rss_before": rss_before,
                    "rss_after": rss_after,
                    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            )
            print(f"N={size}, latency {latency:g} ms: drained in {drain_s:.1f}s", flush=True)
            with registry.cursor() as cr:
                cr.execute("DELETE FROM wecom_message")
                del app_id
        print()
        print(
            f"machine: {os.cpu_count()} CPU, load average {os.getloadavg()[0]:.2f}, python {sys.version.split()[0]}, "
            f"batch {args.batch}, concurrency {args.concurrency or 'default (8)'}"
        )
        print(
            "| N | latency ms | queue s | drain s | msg/s | addon/raw time per msg | raw threads msg/s | "
            "addon/raw threads | CPU µs/msg addon · raw | gettoken | sent | not sent | RSS before MB | RSS after MB | "
            "peak RSS MB |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['n']} | {r['latency_ms']:g} | {r['queue_s']:.1f} | {r['drain_s']:.1f} | {r['msg_s']:.0f} | "
                f"{r['ratio']:.2f} | {r['raw_concurrent_msg_s']:.0f} | {r['ratio_concurrent']:.2f} | "
                f"{r['cpu_us']:.0f} · {r['raw_cpu_us']:.0f} | {r['gettoken']} | {r['sent']} | {r['other'] or 0} | "
                f"{r['rss_before']:.0f} | {r['rss_after']:.0f} | {r['peak_rss']:.0f} |"
            )
        if args.json:
            print(json.dumps([{**r, "cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2)} for r in rows]))
    finally:
        odoo.sql_db.close_all()
        mock_proc.terminate()
        mock_proc.wait(timeout=10)
        subprocess.run(
            [
                "dropdb",
                "--if-exists",
                "-h",
                os.environ.get("PGHOST", "127.0.0.1"),
                "-U",
                os.environ.get("PGUSER", "root"),
                args.db,
            ],
            check=False,
        )


if __name__ == "__main__":
    main()
