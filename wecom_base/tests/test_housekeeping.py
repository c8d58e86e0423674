"""Nightly housekeeping (autovacuum) and database neutralization."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

from odoo.addons.wecom_base.const import PARAM_RETENTION_DAYS
from odoo.addons.wecom_base.tools import clear_token_cache

from .common import MOCK_ROBOT_KEY, WeComCase


@tagged("post_install", "-at_install")
class TestHousekeeping(WeComCase):
    def message(self, state, age_days):
        message = self.env["wecom.message"].create(
            {"application_id": self.app.id, "to_userids": "zhangsan", "content": f"{state} {age_days}"}
        )
        when = fields.Datetime.now() - timedelta(days=age_days)
        message.write({"state": state, "sent_date": when if state in ("sent", "partial") else False})
        self.env.flush_all()
        self.env.cr.execute("UPDATE wecom_message SET write_date = %s WHERE id = %s", [when, message.id])
        return message

    def event(self, state, age_days, key):
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        event = self.env["wecom.callback.event"].create(
            {
                "callback_id": callback.id,
                "dedupe_key": key,
                "state": state,
                "msg_type": "text",
                "processed_date": fields.Datetime.now() - timedelta(days=age_days),
            }
        )
        return event

    def test_autovacuum_deletes_only_old_finished_records(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM_RETENTION_DAYS, "30")
        old_sent, old_partial, old_cancel = (self.message(s, 40) for s in ("sent", "partial", "cancel"))
        recent_sent = self.message("sent", 5)
        old_failed, old_queued = self.message("exception", 40), self.message("outgoing", 40)
        old_done, recent_done = self.event("done", 40, "k1"), self.event("done", 3, "k2")
        old_error, old_new = self.event("error", 40, "k3"), self.event("new", 40, "k4")

        self.assertEqual(self.env["wecom.message"]._gc_wecom_messages(), 3)
        self.assertEqual(self.env["wecom.callback.event"]._gc_wecom_callback_events(), 1)
        self.assertFalse((old_sent | old_partial | old_cancel).exists())
        self.assertFalse(old_done.exists())
        self.assertEqual(len((recent_sent | old_failed | old_queued).exists()), 3)
        self.assertEqual(len((recent_done | old_error | old_new).exists()), 3)

    def test_autovacuum_zero_keeps_everything(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM_RETENTION_DAYS, "0")
        old_sent = self.message("sent", 4000)
        old_done = self.event("done", 4000, "k5")
        self.assertEqual(self.env["wecom.message"]._gc_wecom_messages(), 0)
        self.assertEqual(self.env["wecom.callback.event"]._gc_wecom_callback_events(), 0)
        self.assertTrue(old_sent.exists() and old_done.exists())

    def test_autovacuum_is_registered(self):
        self.assertTrue(getattr(type(self.env["wecom.message"])._gc_wecom_messages, "_autovacuum", False))
        self.assertTrue(getattr(type(self.env["wecom.callback.event"])._gc_wecom_callback_events, "_autovacuum", False))

    def test_neutralize_clears_secrets_and_disables(self):
        robot = self.env["wecom.robot"].create({"name": "Ops", "webhook_key": MOCK_ROBOT_KEY})
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        callback.action_generate_credentials()
        self.app._wecom_get_token()  # a token row exists
        self.assertTrue(self.token_state())
        self.env.flush_all()
        queries = list(get_neutralization_queries(["wecom_base"]))
        self.assertTrue(queries)
        for query in queries:
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertFalse(self.app.is_active)
        self.assertNotEqual(self.app.sudo().secret, "mock-secret-1000002")
        self.assertFalse(self.token_state())
        self.assertFalse(robot.active or robot.sudo().webhook_key)
        self.assertFalse(callback.active or callback.sudo().callback_token or callback.sudo().encoding_aes_key)
        clear_token_cache()  # a neutralized copy starts in a fresh process
        with self.assertRaisesRegex(UserError, "disabled"):
            self.app.action_test_connection()
