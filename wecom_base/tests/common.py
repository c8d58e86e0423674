"""Fixtures of the wecom_base Odoo tests, importable by other addons as ``odoo.addons.wecom_base.tests.common``:
the mock WeCom server, ``WeComCase`` (a configured application and users) and the callback request builder.

The mock WeCom (``wecom_base/tests/mock_wecom``, standard library only, so the Odoo-free tests of the repository
import it too) listens on 127.0.0.1. It is started in this process on a free port, or reached at
``$WECOM_MOCK_URL`` when one runs elsewhere. Tests talk to it over HTTP only (``MockWeComControl``), so both work
alike.
"""

import importlib.util
import os
import threading
import time
import unittest
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import urlencode

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, new_test_user
from odoo.tools.misc import file_path

from .. import compat
from ..compat import registry_lock_released  # noqa: F401 - part of the test kit
from ..const import PARAM_API_BASE_URL, PARAM_TIMEOUT
from ..controllers.main import WeComCallbackController
from ..tools import clear_token_cache
from .mock_wecom import (
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_ROBOT_KEY,
    DEFAULT_SECRET,
    MockWeCom,
    MockWeComControl,
)

MOCK_CORP_ID = DEFAULT_CORP_ID
MOCK_SECRET = DEFAULT_SECRET
MOCK_AGENT_ID = DEFAULT_AGENT_ID
MOCK_ROBOT_KEY = DEFAULT_ROBOT_KEY

_mock = None


def get_mock():
    """The mock WeCom of this test run (started once per process, or the one at ``$WECOM_MOCK_URL``)."""
    global _mock  # noqa: PLW0603 - one mock server per test process
    if _mock is None:
        url = os.environ.get("WECOM_MOCK_URL")
        _mock = MockWeComControl(url) if url else MockWeCom(host="127.0.0.1", port=0).start()
    return _mock


def run_concurrently(registry, count, target, timeout=60):
    """Run ``target(env)`` in ``count`` threads at once, each with its own database connection (as Odoo
    workers do), and return ``(results, errors)``; each thread commits when ``target`` returns."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                barrier.wait(timeout=10)
                results.append(target(env))
        except Exception as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    with registry_lock_released():
        threads = [threading.Thread(target=worker) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=timeout)
    return results, errors


class WeComLogMixin:
    """Assertions on what our code logs (for any test class)."""

    @contextmanager
    def assertWeComWarning(self, fragment, logger="odoo.addons.wecom_base"):
        """The block logs a WARNING (or worse) of ours containing ``fragment``.

        An expected warning is part of the behaviour under test: asserted here, and captured so that it
        does not reach Odoo's log, where ./scripts/test fails on any warning of our modules.
        """
        with self.assertLogs(logger, "WARNING") as logs:
            yield logs
        self.assertTrue(any(fragment in line for line in logs.output), logs.output)


class WeComMockMixin(compat.DirectRequestsMixin, WeComLogMixin):
    """Point wecom_base at the mock WeCom for a test class (TransactionCase or HttpCase): ``cls.mock``, the
    API base URL and timeout, and the CorpID of ``cls.company``; each test starts with a reset mock and an
    empty token cache."""

    WECOM_TIMEOUT = "2"

    @classmethod
    def _wecom_direct_request(cls, url):
        """Requests to the mock WeCom go straight out: the timeout, retry and log tests need the timeout they
        set and a log that holds only our own lines."""
        mock = getattr(cls, "mock", None)
        return mock is not None and url.startswith(mock.url.rstrip("/") + "/")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mock = get_mock()
        cls.mock.reset()
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param(PARAM_API_BASE_URL, cls.mock.url)
        icp.set_param(PARAM_TIMEOUT, cls.WECOM_TIMEOUT)
        cls.company = cls.env.company
        cls.company.wecom_corp_id = MOCK_CORP_ID

    def setUp(self):
        super().setUp()
        self.mock.reset()
        clear_token_cache()
        self.addCleanup(clear_token_cache)


class WeComCommittedMixin:
    """For tests whose workers each have a database connection of their own (as Odoo workers do): the mock
    WeCom, the parameters and the company's CorpID, and one application, are committed (each worker must see
    them) and put back at the end. ``setUp_committed(env, app)`` adds a test's own committed records and
    ``cleanup_committed(env)`` removes them."""

    COMMITTED_APP = {"app_name": "Concurrent", "agent_id": 1000002}

    def setUp(self):
        super().setUp()
        self.mock = get_mock()
        self.mock.reset()
        clear_token_cache()
        self.addCleanup(clear_token_cache)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            icp = env["ir.config_parameter"]
            self._saved_params = {key: icp.get_param(key) for key in (PARAM_API_BASE_URL, PARAM_TIMEOUT)}
            icp.set_param(PARAM_API_BASE_URL, self.mock.url)
            icp.set_param(PARAM_TIMEOUT, "5")
            company = env.ref("base.main_company")
            self._saved_corp_id = company.wecom_corp_id
            company.wecom_corp_id = MOCK_CORP_ID
            app = env["wecom.application"].create(
                {**self.COMMITTED_APP, "secret": MOCK_SECRET, "company_id": company.id}
            )
            self.app_id = app.id
            self.setUp_committed(env, app)
        self.addCleanup(self._drop_committed)

    def setUp_committed(self, env, app):
        """Hook: create the test's own committed records (the transaction is committed afterwards)."""

    def cleanup_committed(self, env):
        """Hook: remove what :meth:`setUp_committed` created."""

    def _drop_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.cleanup_committed(env)
            env["wecom.application"].browse(self.app_id).unlink()
            env.ref("base.main_company").wecom_corp_id = self._saved_corp_id
            icp = env["ir.config_parameter"]
            for key, value in self._saved_params.items():
                icp.set_param(key, value or False)


class WeComCase(WeComMockMixin, TransactionCase):
    """A company with a CorpID, one application known to the mock, and three users:
    ``user_plain`` (internal user, no WeCom group), ``user_wecom`` (WeCom user), ``user_manager``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app_type = cls.env.ref("wecom_base.application_type_self_built")
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Odoo Notifications",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "type_id": cls.app_type.id,
                "company_id": cls.company.id,
            }
        )
        cls.user_plain = new_test_user(cls.env, login="wecom_plain", groups="base.group_user")
        cls.user_wecom = new_test_user(
            cls.env, login="wecom_user", groups="base.group_user,wecom_base.group_wecom_user"
        )
        cls.user_manager = new_test_user(
            cls.env, login="wecom_manager", groups="base.group_user,wecom_base.group_wecom_manager"
        )

    # helpers ---------------------------------------------------------------------------------
    def token_state(self, app=None):
        app = app or self.app
        return self.env["wecom.application.token"].sudo().search([("application_id", "=", app.id)])

    @contextmanager
    def assertMockCalls(self, **expected):
        """Assert how many requests each mock API path received inside the block.

        Keys are path tails with ``/`` as ``_``: ``gettoken=1, agent_get=2, message_send=3``.
        """
        paths = {key: "/cgi-bin/" + key.replace("_", "/") for key in expected}
        before = {key: self.mock.count(path) for key, path in paths.items()}
        yield
        got = {key: self.mock.count(path) - before[key] for key, path in paths.items()}
        self.assertEqual(got, expected, "requests received by the mock WeCom")


class WeComCallbackMixin(WeComLogMixin):
    """Build and post callback requests the way WeCom does, to ``cls.webhook`` with ``cls.crypto`` (HttpCase)."""

    def url(self, path_token=None, **params):
        path = f"{WeComCallbackController.ROUTE}/{path_token or self.callback.path_token}"
        return f"{path}?{urlencode(params)}" if params else path

    def signed_params(self, encrypted, timestamp=None, nonce="1372623149", crypto=None):
        timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
        crypto = crypto or self.crypto
        return {"msg_signature": crypto.signature(timestamp, nonce, encrypted), "timestamp": timestamp, "nonce": nonce}

    def envelope(self, encrypted):
        return (
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><AgentID>{MOCK_AGENT_ID}</AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        ).encode()

    def post(self, body, params, path_token=None, headers=None):
        return self.url_open(
            self.url(path_token, **params), data=body, headers={"Content-Type": "text/xml", **(headers or {})}
        )

    def deliver(self, xml, crypto=None, **kwargs):
        """Encrypt, sign and post a message like WeCom does."""
        encrypted = (crypto or self.crypto).encrypt(xml)
        return self.post(self.envelope(encrypted), self.signed_params(encrypted, crypto=crypto), **kwargs)


class WeComNoWriteMixin:
    """``assertNoWrites()``: the block sends no INSERT, UPDATE or DELETE on the test's cursor (what it left pending
    is flushed inside the block, so a write the ORM postpones still counts)."""

    @contextmanager
    def assertNoWrites(self, msg="nothing may be written"):
        self.env.flush_all()  # what the test wrote before the block is not the block's
        cr = self.env.cr
        original = cr.execute
        writes = []

        def execute(query, params=None, log_exceptions=True):
            text = str(getattr(query, "code", query)).lstrip().upper()
            if text.startswith(("INSERT", "UPDATE", "DELETE")):
                writes.append(text[:160])
            return original(query, params, log_exceptions)

        with patch.object(cr, "execute", execute):
            yield
            self.env.flush_all()
        self.assertEqual(writes, [], msg)


# ---------------------------------------------------------------- browser tours
def browser_missing_reason():
    """Why the browser tours cannot run here, or None when they can."""
    from odoo.tests import common  # noqa: PLC0415 - Odoo's own browser lookup

    try:
        common._find_executable()
    except unittest.SkipTest:
        return (
            "no Chromium or Google Chrome on the PATH (looked for google-chrome, chromium, chromium-browser, "
            "google-chrome-stable): install one (Debian: apt-get install chromium) to run the browser tours"
        )
    if importlib.util.find_spec("websocket") is None:
        return "the Python package websocket-client is not installed (Odoo drives Chromium with it)"
    for asset in ("web/static/lib/owl/owl.js", "web/static/lib/bootstrap/scss/_variables.scss"):
        try:
            file_path(asset)
        except FileNotFoundError:
            return (
                f"this Odoo tree has no {asset}: its static/lib folders are missing (a source copy made without "
                "them), so the web client cannot load"
            )
    return None


class WeComTourMixin:
    """For the ``HttpCase`` browser tours against the mock WeCom (before ``WeComMockMixin`` in the bases): a short
    WeCom timeout, and each test skipped, saying why, where this machine cannot run a tour."""

    WECOM_TIMEOUT = "5"

    def setUp(self):
        super().setUp()
        reason = browser_missing_reason()
        if reason:
            self.skipTest(f"browser tour not run: {reason}")
