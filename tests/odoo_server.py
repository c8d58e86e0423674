"""A real Odoo server for the end-to-end RPC tests (``tests/test_rpc_e2e.py``).

:func:`find_odoo` tells how to run Odoo here (``./scripts/test`` exports ``WECOM_ODOO_AVAILABLE``,
``WECOM_ODOO_BIN`` and ``WECOM_ODOO_ADDONS``; by hand, an importable ``odoo`` package is used).
:class:`OdooServer` installs addons into a fresh database with ``odoo-bin -i … --stop-after-init``, runs a
Python script against that database (to create what RPC cannot, such as API keys), serves it with
``--max-cron-threads 0`` on 127.0.0.1, and removes everything again. :class:`XmlRpc` and :class:`JsonRpc` are
the two clients, raising :class:`RpcError` with what the server sent back.

Every command runs without a shell; the server's output goes to a log file whose tail is shown when the
server does not come up.
"""

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

from tests.odoo_locate import from_environment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_ADDONS = os.path.join(REPO, "tests", "addons")
RESULT_MARKER = "WECOM_E2E_RESULT "


def find_odoo():
    """How to run Odoo on this machine (``tests/odoo_locate.py``: what ``./scripts/test`` found, else
    ``$ODOO_PATH`` or an importable ``odoo``; either source layout).

    :return: ``(command, addons_path, None)``, or ``(None, None, reason)`` when no Odoo is available
    """
    odoo, reason = from_environment()
    if odoo is None:
        return None, None, f"{reason} (set ODOO_PATH to an Odoo 18.0 or 19.0 source tree and run ./scripts/test)"
    odoo.export_environment()
    return odoo.command, odoo.addons_path(), None


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_ids(value):
    """A record an RPC call returned, as ids: Odoo 19.0 returns ``[42]`` where 18.0 (``@api.returns``) returns
    ``42``."""
    return value if isinstance(value, list) else [value]


class RpcError(Exception):
    """An error answer of Odoo's RPC.

    :ivar str protocol: ``xmlrpc`` or ``jsonrpc``
    :ivar str message: what the client shows its user: the fault string (XML-RPC), ``error.data.message``
        (JSON-RPC)
    :ivar str kind: the fault code (XML-RPC: 2 warning, 3 access denied, 4 access error, 1 anything else) or
        the exception's name (JSON-RPC)
    :ivar str client_text: every part a client shows without asking for debug output (the fault code and
        string; the JSON-RPC error's message and data except ``debug``)
    """

    def __init__(self, protocol, message, kind, client_text):
        super().__init__(f"{protocol} error {kind}: {message}")
        self.protocol, self.message, self.kind, self.client_text = protocol, message, kind, client_text


class XmlRpc:
    """``xmlrpc.client`` against ``/xmlrpc/2`` (what most integrations use)."""

    protocol = "xmlrpc"

    def __init__(self, url, db):
        self.url, self.db = url, db
        self.common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.object = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def authenticate(self, login, key):
        return self.common.authenticate(self.db, login, key, {})

    def call(self, uid, key, model, method, args, kwargs=None):
        try:
            return self.object.execute_kw(self.db, uid, key, model, method, args, kwargs or {})
        except xmlrpc.client.Fault as fault:
            raise RpcError(
                self.protocol, fault.faultString, fault.faultCode, f"{fault.faultCode}\n{fault.faultString}"
            ) from None


class JsonRpc:
    """``requests`` against ``/jsonrpc``."""

    protocol = "jsonrpc"

    def __init__(self, url, db):
        import requests  # noqa: PLC0415 - a test requirement, imported where used

        self.url, self.db = url, db
        self.session = requests.Session()
        self.session.trust_env = False  # 127.0.0.1, never through a proxy of the environment

    def _post(self, service, method, *args):
        response = self.session.post(
            f"{self.url}/jsonrpc",
            timeout=60,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {"service": service, "method": method, "args": list(args)},
            },
        )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            error = answer["error"]
            data = dict(error.get("data") or {})
            data.pop("debug", None)  # the traceback a client only shows when asked for debug output
            raise RpcError(
                self.protocol,
                data.get("message", ""),
                data.get("name", ""),
                json.dumps({"message": error.get("message"), "data": data}, ensure_ascii=False),
            )
        return answer["result"]

    def authenticate(self, login, key):
        return self._post("common", "authenticate", self.db, login, key, {})

    def call(self, uid, key, model, method, args, kwargs=None):
        return self._post("object", "execute_kw", self.db, uid, key, model, method, args, kwargs or {})


class Json2:
    """``requests`` against Odoo 19.0's JSON-2 API (``POST /json/2/<model>/<method>``, bearer API key).

    :class:`RpcError` carries the HTTP status as ``kind`` (``422``, ``403``, …) and the body's ``name``
    in ``client_text``.
    """

    protocol = "json2"

    def __init__(self, url, db):
        import requests  # noqa: PLC0415 - a test requirement, imported where used

        self.url, self.db = url, db
        self.session = requests.Session()
        self.session.trust_env = False

    def call(self, key, model, method, **arguments):
        response = self.session.post(
            f"{self.url}/json/2/{model}/{method}",
            headers={"Authorization": f"bearer {key}", "X-Odoo-Database": self.db},
            json=arguments,
            timeout=60,
        )
        if response.status_code == 200:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text}
        body.pop("debug", None)  # the traceback, shown only when a client asks for debug output
        raise RpcError(
            self.protocol, body.get("message", ""), response.status_code, json.dumps(body, ensure_ascii=False)
        )


class OdooServer:
    """One database and one Odoo server process for a test session.

    :param list command: how to run odoo-bin (see :func:`find_odoo`)
    :param str addons_path: Odoo's own addons folder; the repository and ``tests/addons`` are added
    :param str db: the database name (created by the install, dropped by :meth:`drop_database`)
    """

    def __init__(self, command, addons_path, db):
        self.command = list(command)
        self.addons_path = ",".join([addons_path, REPO, EXAMPLE_ADDONS])
        self.db = db
        self.workdir = tempfile.mkdtemp(prefix="wecom-e2e-")
        self.log_path = os.path.join(self.workdir, "odoo.log")
        self.port = None
        self.process = None
        self.pg = {
            "host": os.environ.get("PGHOST") or "127.0.0.1",
            "port": os.environ.get("PGPORT") or "5432",
            "user": os.environ.get("PGUSER") or _login_name(),
            "password": os.environ.get("PGPASSWORD") or "",
        }

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _common_args(self):
        args = [
            "-d",
            self.db,
            "--addons-path",
            self.addons_path,
            "--data-dir",
            os.path.join(self.workdir, "data"),
            "--db_host",
            self.pg["host"],
            "--db_port",
            str(self.pg["port"]),
            "--db_user",
            self.pg["user"],
        ]
        if self.pg["password"]:
            args += ["--db_password", self.pg["password"]]
        return args

    def _run(self, args, timeout):
        with open(self.log_path, "ab") as log:
            result = subprocess.run(
                args, stdout=subprocess.PIPE, stderr=log, timeout=timeout, cwd=self.workdir, check=False
            )
        if result.returncode:
            raise RuntimeError(f"{shlex.join(args[:4])}… exited with {result.returncode}\n{self.log_tail()}")
        return result.stdout.decode("utf-8", "replace")

    # ------------------------------------------------------------------ database
    def postgres_error(self):
        """None when PostgreSQL accepts our role, else the reason."""
        try:
            import psycopg2  # noqa: PLC0415 - Odoo's own requirement
        except ImportError:
            return "psycopg2 is not installed"
        try:
            psycopg2.connect(dbname="postgres", connect_timeout=5, **self.pg).close()
        except psycopg2.Error as exc:
            return f"PostgreSQL on {self.pg['host']}:{self.pg['port']} refused {self.pg['user']}: {exc}"
        return None

    def install(self, modules, timeout=240):
        """Create the database and install ``modules`` (``odoo-bin -i … --stop-after-init``, no demo data)."""
        self._run(
            self.command
            + self._common_args()
            + [
                "-i",
                ",".join(modules),
                "--stop-after-init",
                *from_environment()[0].no_demo_args,
                "--max-cron-threads",
                "0",
                "--http-port",
                str(free_port()),
                "--http-interface",
                "127.0.0.1",
                "--log-level",
                "warn",
            ],
            timeout,
        )

    def run_script(self, code, timeout=120):
        """Run ``code`` in a Python process with ``env`` (superuser) on the database, committed at the end.

        The script sets ``result`` (JSON-serialisable); it is returned.
        """
        wrapper = (
            "import json, sys\n"
            "import odoo\n"
            "from odoo.tools import config\n"
            "config.parse_config(sys.argv[1:])\n"
            "from odoo.modules.registry import Registry\n"
            # 19.0 keeps a list of databases in db_name, 18.0 a string
            "db_name = config['db_name']\n"
            "registry = Registry(db_name[0] if isinstance(db_name, list) else db_name)\n"
            "with registry.cursor() as cr:\n"
            "    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})\n"
            "    result = None\n"
            "    exec(compile(sys.stdin.read(), 'e2e-setup', 'exec'))\n"
            f"print({RESULT_MARKER!r} + json.dumps(result), flush=True)\n"
        )
        args = [sys.executable, "-c", wrapper] + self._common_args() + ["--log-level", "warn"]
        with open(self.log_path, "ab") as log:
            result = subprocess.run(
                args,
                input=code.encode(),
                stdout=subprocess.PIPE,
                stderr=log,
                timeout=timeout,
                cwd=self.workdir,
                check=False,
                env=self._python_env(),
            )
        output = result.stdout.decode("utf-8", "replace")
        if result.returncode:
            raise RuntimeError(f"setup script exited with {result.returncode}\n{self.log_tail()}")
        for line in output.splitlines():
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER) :])
        raise RuntimeError(f"setup script printed no result\n{output[-2000:]}")

    def _python_env(self):
        """The environment of a plain ``python -c`` that must import odoo (odoo-bin in ODOO_PATH mode)."""
        env = dict(os.environ)
        if self.command[1:2] and self.command[1].endswith("odoo-bin"):
            source = os.path.dirname(os.path.abspath(self.command[1]))
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
        return env

    def drop_database(self):
        """Drop the database (closing its remaining connections) and remove the data folder."""
        try:
            import psycopg2  # noqa: PLC0415

            connection = psycopg2.connect(dbname="postgres", connect_timeout=5, **self.pg)
            connection.autocommit = True
            with connection.cursor() as cr:
                cr.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            connection.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ server
    def start(self, timeout=90):
        """Serve the database on a free port of 127.0.0.1 (threaded, no cron thread) and wait until it answers."""
        import requests  # noqa: PLC0415

        self.port = free_port()
        args = (
            self.command
            + self._common_args()
            + [
                "--db-filter",
                f"^{self.db}$",
                "--http-interface",
                "127.0.0.1",
                "--http-port",
                str(self.port),
                "--max-cron-threads",
                "0",
                "--workers",
                "0",
                "--log-level",
                "info",
            ]
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - open while the server runs
        try:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
            )
        finally:
            log.close()
        session = requests.Session()
        session.trust_env = False
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                if session.get(f"{self.url}/web/health", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Odoo did not answer on {self.url} within {timeout} s\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self):
        """Stop the server (SIGTERM, then SIGKILL after 15 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return ""


def _login_name():
    try:
        import pwd  # noqa: PLC0415 - POSIX only

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER") or "odoo"
