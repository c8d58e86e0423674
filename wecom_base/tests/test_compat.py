"""compat.py holds every private Odoo API the addons use: each test here fails when the series changes one."""

import inspect
import json
import threading

from werkzeug.test import EnvironBuilder

from odoo.http import HTTPRequest
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import BaseCase, HttpCase, TransactionCase, tagged

from odoo.addons.bus.websocket import WebsocketConnectionHandler

from .. import compat


@tagged("post_install", "-at_install")
class TestCompat(TransactionCase):
    def test_read_request_body_reads_the_wrapped_stream(self):
        environ = EnvironBuilder(method="POST", path="/wecom/callback/x", data=b"0123456789abcdef").get_environ()
        request = HTTPRequest(environ)
        self.assertEqual(compat.read_request_body(request, 9), b"0123456789", "at most limit + 1 bytes")
        self.assertEqual(compat.read_request_body(request, 9), b"0123456789", "kept for a replay")

    def test_transaction_aborted(self):
        with self.registry.cursor() as cr:
            self.assertFalse(compat.transaction_aborted(cr))
            with self.assertRaises(Exception), self.assertLogs("odoo.sql_db", "ERROR"):  # noqa: B017
                cr.execute("SELECT no_such_column FROM res_users")
            self.assertTrue(compat.transaction_aborted(cr))
            cr.rollback()
            cr.execute("SELECT 1")
            self.assertFalse(compat.transaction_aborted(cr))

    def test_try_lock_for_update_skips_rows_locked_elsewhere(self):
        partners = self.env["res.partner"].create([{"name": "Lock A"}, {"name": "Lock B"}])
        self.env.flush_all()
        self.assertEqual(compat.try_lock_for_update(partners), partners)
        admin_partner = self.env.ref("base.partner_admin")
        with self.registry.cursor() as other:
            other.execute("SELECT id FROM res_partner WHERE id = %s FOR UPDATE", [admin_partner.id])
            locked = compat.try_lock_for_update(admin_partner | self.env.ref("base.main_partner"))
            self.assertEqual(locked, self.env.ref("base.main_partner"), "the row locked elsewhere is skipped")
            other.rollback()
        self.assertEqual(compat.try_lock_for_update(self.env["res.partner"]), self.env["res.partner"])

    def test_registry_lock_released(self):
        saved = Registry._lock
        with compat.registry_lock_released():
            self.assertIsInstance(Registry._lock, DummyRLock)
            done = []

            def take():
                with Registry._lock:
                    done.append(True)

            thread = threading.Thread(target=take)
            thread.start()
            thread.join(10)
            self.assertEqual(done, [True], "another thread gets the registry lock")
        self.assertIs(Registry._lock, saved)

    def test_request_handler_hook_exists(self):
        from odoo.tests import common  # noqa: PLC0415

        self.assertTrue(callable(getattr(BaseCase, "_request_handler", None)), "BaseCase._request_handler")
        self.assertTrue(callable(getattr(common, "_super_send", None)), "odoo.tests.common._super_send")
        self.assertIn(compat.DirectRequestsMixin._request_handler.__func__.__name__, vars(BaseCase))

    def test_cron_progress_api(self):
        cron = self.env["ir.cron"]
        if compat.ODOO_19:
            self.assertTrue(callable(getattr(cron, "_commit_progress", None)))
        else:
            self.assertTrue(callable(getattr(cron, "_notify_progress", None)))
            self.assertFalse(hasattr(cron, "_commit_progress"), "18.0 gained _commit_progress: use it")

    def test_may_commit_is_false_in_a_test(self):
        self.assertFalse(compat.may_commit(self.env.cr))

    def test_registry_in_test_mode(self):
        self.assertFalse(compat.registry_in_test_mode(self.registry))
        if compat.ODOO_19:
            self.registry_enter_test_mode(register_cleanup=False)
            leave = self.registry_leave_test_mode
        else:
            self.registry.enter_test_mode(self.env.cr)
            leave = self.registry.leave_test_mode
        try:
            self.assertTrue(compat.registry_in_test_mode(self.registry))
        finally:
            leave()
        self.assertFalse(compat.registry_in_test_mode(self.registry))

    def test_render_pdf(self):
        report = self.env.ref("base.ir_module_reference_print")
        module = self.env["ir.module.module"].search([("name", "=", "wecom_base")])
        content = compat.render_pdf(report, module.ids)
        self.assertIsInstance(content, bytes)
        self.assertIn(b"wecom_base", content, "the report of the module (HTML under tests, PDF in production)")

    def test_all_user_groups_finds_users_through_implied_groups(self):
        manager_group = self.env.ref("wecom_base.group_wecom_manager")
        implying = self.env["res.groups"].create(
            {"name": "Implies WeCom manager", "implied_ids": [(4, manager_group.id)]}
        )
        user = self.env["res.users"].create(
            {
                "name": "Implied Manager",
                "login": "implied_manager",
                compat.USER_GROUPS: [(6, 0, [self.env.ref("base.group_user").id, implying.id])],
            }
        )
        self.assertEqual(
            manager_group in user[compat.USER_GROUPS],
            not compat.ODOO_19,
            "18.0 stores the implied groups in groups_id, 19.0 only the groups given in group_ids",
        )
        found = self.env["res.users"].search([(compat.ALL_USER_GROUPS, "in", manager_group.id)])
        self.assertIn(user, found, "a user with the group through an implied group")

    def test_bus_send_creates_the_partner_notification_on_commit(self):
        partner = self.env["res.partner"].create({"name": "Bus reader"})
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0
        compat.bus_send(partner, "wecom.test/ping", {"ids": [7]})
        self.env.cr.precommit.run()  # what a commit runs first: the bus creates its rows there
        rows = self.env["bus.bus"].sudo().search([("id", ">", last)])
        sent = [(json.loads(row.channel), json.loads(row.message)) for row in rows]
        self.assertIn(
            ([self.env.cr.dbname, "res.partner", partner.id], {"type": "wecom.test/ping", "payload": {"ids": [7]}}),
            sent,
        )

    def test_bus_in_tours(self):
        """18.0 refuses the bus websocket during tests, tours included; 19.0's browser_js allows it for tours."""
        self.assertFalse(WebsocketConnectionHandler.websocket_allowed(None), "no websocket during tests")
        self.assertEqual("websocket_allowed" in inspect.getsource(HttpCase.browser_js), compat.ODOO_19)
        with compat.bus_in_tours():
            self.assertEqual(WebsocketConnectionHandler.websocket_allowed(None), not compat.ODOO_19)
        self.assertFalse(WebsocketConnectionHandler.websocket_allowed(None))
