"""Helpers shared by the benchmark scripts that run a real Odoo server (``bench_tokens.py``,
``bench_faults.py``, ``bench_callback.py``): ports, the mock WeCom's process, a fresh database, the Odoo
server, XML-RPC, and a description of the machine. Not a test module; nothing here asserts.
"""

import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client
from contextlib import contextmanager

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import tests  # noqa: E402, F401 - registers wecom_base and wecom_base.tests without Odoo (the mock's home)
from tests.odoo_locate import locate  # noqa: E402
from wecom_base.tests.mock_wecom import (  # noqa: E402
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_SECRET,
    MockWeComControl,
)

__all__ = [
    "DEFAULT_AGENT_ID",
    "DEFAULT_CORP_ID",
    "DEFAULT_SECRET",
    "REPO",
    "MockProcess",
    "OdooServer",
    "Rpc",
    "drop_db",
    "free_port",
    "install_db",
    "machine",
    "pg_connect",
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_command():
    """``(command, Odoo's addons path)`` of the Odoo to run (``$ODOO_PATH`` or the importable ``odoo``; both
    layouts, see ``tests/odoo_locate.py``)."""
    return odoo_found().command, odoo_found().addons_path()


def odoo_found():
    """The :class:`tests.odoo_locate.Odoo` to benchmark; exits with the reason when there is none."""
    try:
        odoo, reason = locate(os.environ.get("ODOO_PATH"))
    except ValueError as error:
        sys.exit(str(error))
    if odoo is None:
        sys.exit(f"{reason}: this benchmark needs a real Odoo.")
    return odoo


def pg_settings():
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER") or os.environ.get("USER") or "postgres",
        "password": os.environ.get("PGPASSWORD"),
    }


def db_args():
    pg = pg_settings()
    args = ["--db_host", pg["host"], "--db_port", pg["port"], "--db_user", pg["user"]]
    if pg["password"]:
        args += ["--db_password", pg["password"]]
    return args


def pg_connect(dbname, autocommit=True):
    """A plain psycopg2 connection (the benchmark's own: observing, time travel, faults)."""
    import psycopg2  # noqa: PLC0415

    pg = pg_settings()
    conn = psycopg2.connect(
        dbname=dbname,
        host=pg["host"],
        port=pg["port"],
        user=pg["user"],
        password=pg["password"],
        application_name="wecom-bench",
    )
    conn.autocommit = autocommit
    return conn


def install_db(database, log, modules="wecom_base"):
    """Create ``database`` with ``modules`` installed (comma-separated; no demo data); output goes to ``log``."""
    command, core_addons = odoo_command()
    subprocess.run(
        [
            *command,
            "-d",
            database,
            *db_args(),
            "--addons-path",
            f"{core_addons},{REPO}",
            "-i",
            modules,
            "--stop-after-init",
            *odoo_found().no_demo_args,
            "--log-level",
            "warn",
            "--http-port",
            str(free_port()),
        ],
        check=True,
        stdout=log,
        stderr=log,
    )


def drop_db(database):
    conn = pg_connect("postgres")
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database])
            cr.execute(f'DROP DATABASE IF EXISTS "{database}"')
    finally:
        conn.close()


def wait_http(port, timeout=120, process=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/web/webclient/version_info")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


class MockProcess:
    """The mock WeCom in a process of its own (so that it can be killed and restarted on its port)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.process = None
        self.control = MockWeComControl(f"http://127.0.0.1:{self.port}")

    @property
    def url(self):
        return self.control.url

    def start(self, timeout=20):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.mock_wecom", "--port", str(self.port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + timeout
        while True:
            try:
                self.control.stats()
                return self
            except Exception:  # noqa: BLE001 - not listening yet
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the mock WeCom did not start") from None
                time.sleep(0.1)

    def stop(self):
        self.control.close()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class OdooServer:
    """``odoo-bin`` serving one database on a free 127.0.0.1 port.

    :param int workers: ``--workers`` (0: threaded server)
    :param int cron_threads: ``--max-cron-threads`` (with workers: cron worker processes)
    """

    def __init__(self, database, log, workers=0, cron_threads=0, extra=(), env=None, db_filter=True):
        self.database, self.log, self.db_filter = database, log, db_filter
        self.workers, self.cron_threads, self.extra = workers, cron_threads, list(extra)
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.process = None

    def start(self):
        command, core_addons = odoo_command()
        self.process = subprocess.Popen(
            [
                *command,
                "-d",
                self.database,
                *(["--db-filter", f"^{self.database}$"] if self.db_filter else []),
                *db_args(),
                "--addons-path",
                f"{core_addons},{REPO}",
                *odoo_found().no_demo_args,
                "--log-level",
                "info",
                "--http-interface",
                "127.0.0.1",
                "--http-port",
                str(self.port),
                "--gevent-port",
                str(free_port()),
                "--workers",
                str(self.workers),
                "--max-cron-threads",
                str(self.cron_threads),
                "--limit-time-real",
                "600",
                "--limit-time-cpu",
                "600",
                *self.extra,
            ],
            stdout=self.log,
            stderr=self.log,
            env=self.env,
            start_new_session=True,
        )
        wait_http(self.port, process=self.process)
        return self

    def worker_pids(self, kind="WorkerCron"):
        """Pids of this server's live workers of one kind (``WorkerCron``, ``WorkerHTTP``), from its log."""
        import re  # noqa: PLC0415

        with open(self.log.name, errors="replace") as log:
            seen = re.findall(rf"Worker {kind} \((\d+)\) alive", log.read())
        children = {child.pid for child in self.children()}
        return [int(pid) for pid in dict.fromkeys(seen) if int(pid) in children]

    def children(self):
        import psutil  # noqa: PLC0415 - Odoo requires it

        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Rpc:
    """XML-RPC to one database as one user (one instance per thread: ServerProxy is not thread-safe)."""

    def __init__(self, port, database, login="admin", password="admin"):
        self.database, self.password = database, password
        common = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(database, login, password, {})
        if not self.uid:
            raise RuntimeError(f"cannot log in as {login}")
        self.proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.proxy.execute_kw(self.database, self.uid, self.password, model, method, list(args), kwargs)


def configure_wecom(rpc, mock_url, timeout=None):
    """Point wecom_base at the mock (system parameters, CorpID) and create its application; returns its id."""
    rpc("ir.config_parameter", "set_param", "wecom_base.api_base_url", mock_url)
    if timeout is not None:
        rpc("ir.config_parameter", "set_param", "wecom_base.timeout", str(timeout))
    company_id = rpc("res.users", "read", [rpc.uid], ["company_id"])[0]["company_id"][0]
    rpc("res.company", "write", [company_id], {"wecom_corp_id": DEFAULT_CORP_ID})
    return rpc(
        "wecom.application",
        "create",
        {"app_name": "Bench", "agent_id": DEFAULT_AGENT_ID, "secret": DEFAULT_SECRET, "company_id": company_id},
    )


@contextmanager
def odoo_against_mock(database, log, modules="wecom_base", timeout=None, keep_db=False, **server_options):
    """What a benchmark runs on: the mock WeCom (its own process), ``database`` created with ``modules``, an Odoo
    server on it (``server_options`` as for :class:`OdooServer`) and the application configured against the mock.

    :return: ``(mock, server, rpc, app_id)``, ``rpc`` as the admin; on exit the server and the mock stop and the
        database is dropped (unless ``keep_db``)
    """
    mock = MockProcess().start()
    server = None
    try:
        print(f"installing {modules} into {database} ... (log: {log.name})", flush=True)
        install_db(database, log, modules)
        server = OdooServer(database, log, **server_options).start()
        rpc = Rpc(server.port, database)
        yield mock, server, rpc, configure_wecom(rpc, mock.url, timeout=timeout)
    finally:
        if server is not None:
            server.stop()
        mock.stop()
        if not keep_db:
            drop_db(database)


def machine():
    """``"2 CPU (AMD EPYC), load 0.52, python 3.11.7, PostgreSQL 15.x"``-like description of this machine."""
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    try:
        conn = pg_connect("postgres")
        with conn.cursor() as cr:
            cr.execute("SHOW server_version")
            pg_version = cr.fetchone()[0].split()[0]
        conn.close()
    except Exception:  # noqa: BLE001 - a description only
        pg_version = "?"
    return (
        f"{os.cpu_count()} CPU ({model}), load {os.getloadavg()[0]:.2f}, python {sys.version.split()[0]}, "
        f"PostgreSQL {pg_version}"
    )


# ---------------------------------------------------------------- syncs (bench_directory.py, bench_crm.py)
def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def current_xid(conn):
    with conn.cursor() as cr:
        cr.execute("SELECT txid_current() % 4294967296")  # as a 32-bit xid, the width of xmin
        return int(cr.fetchone()[0])


def rows_written(conn, since_xid, tables):
    """Rows of ``tables`` inserted or updated by transactions after ``since_xid`` (their ``xmin``): exact and
    immediate, unlike the statistics collector."""
    total = 0
    with conn.cursor() as cr:
        for table in tables:
            cr.execute(f"SELECT COUNT(*) FROM {table} WHERE xmin::text::bigint > %s", [since_xid])  # noqa: S608
            total += cr.fetchone()[0]
    return total


def measure_sync(label, rpc, method, app_id, server_pid, mock, conn, tables):
    """Run the sync button ``method`` of an application over RPC; print and return its time, WeCom calls, rows
    written to ``tables`` and the server's RSS (before, peak sampled every 0.1 s, after)."""
    calls_before = sum(mock.stats()["counts"].values())
    xid_before = current_xid(conn)
    before = rss_mb(server_pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(server_pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    rpc("wecom.application", method, [app_id])
    seconds = time.monotonic() - start
    done.set()
    sampler.join()
    after = rss_mb(server_pid)
    row = {
        "run": label,
        "seconds": round(seconds, 2),
        "wecom_calls": sum(mock.stats()["counts"].values()) - calls_before,
        "rows_written": rows_written(conn, xid_before, tables),
        "rss_before_mb": round(before),
        "rss_peak_mb": round(max(peak[0], after)),
        "rss_after_mb": round(after),
    }
    print(
        f"{label:<34} {row['seconds']:>7.2f} s  {row['wecom_calls']:>5} calls  {row['rows_written']:>6} rows  "
        f"RSS {row['rss_before_mb']} -> {row['rss_after_mb']} MB (peak {row['rss_peak_mb']})",
        flush=True,
    )
    return row
