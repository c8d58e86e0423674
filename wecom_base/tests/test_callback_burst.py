"""Callbacks in bursts, with real transactions (committed, as in production; removed at the end): a racing
duplicate is a duplicate, not a replayed request; every new event has a cron trigger that a cron run begun
before it cannot delete; the cron workers are woken once per burst (``ir.cron._trigger()``), not once per callback."""

from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from odoo.addons.wecom_base.models.wecom_callback_event import PROCESS_CRON_XMLID

from .common import MOCK_AGENT_ID, MOCK_CORP_ID


def text_message(msg_id):
    return (
        f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[burst]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
    ).encode()


@tagged("post_install", "-at_install")
class TestCallbackBurst(TransactionCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            self._saved_corp_id = company.wecom_corp_id
            company.wecom_corp_id = MOCK_CORP_ID
            app = env["wecom.application"].create(
                {"app_name": "Burst", "agent_id": MOCK_AGENT_ID, "secret": "burst-secret", "company_id": company.id}
            )
            callback = env["wecom.callback"].create({"application_id": app.id})
            self.app_id, self.callback_id = app.id, callback.id
            self.cron_id = env.ref(PROCESS_CRON_XMLID).id
            # start without due triggers of the cron (as after a cron run)
            cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = %s", [self.cron_id])
        self.addCleanup(self._drop_committed)

    def _drop_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = %s", [self.cron_id])
            env["wecom.application"].browse(self.app_id).unlink()  # cascades to the callback and its events
            env.ref("base.main_company").wecom_corp_id = self._saved_corp_id

    def store(self, cr, msg_id):
        env = api.Environment(cr, SUPERUSER_ID, {})
        callback = env["wecom.callback"].browse(self.callback_id)
        event_id, _reply = env["wecom.callback.event"]._wecom_store(callback, text_message(msg_id))
        return event_id

    def count(self, query, params):
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchone()[0]

    def test_racing_duplicate_is_a_duplicate(self):
        with self.registry.cursor() as late, self.registry.cursor() as first:
            late.execute("SELECT 1")  # its snapshot predates the other delivery's commit
            self.assertTrue(self.store(first, "9100"))
            first.commit()
            # without the savepoint this raised a serialization failure, and Odoo replayed the request
            self.assertIsNone(self.store(late, "9100"))
            late.execute("SELECT 1")  # the transaction is still usable
        self.assertEqual(
            self.count("SELECT COUNT(*) FROM wecom_callback_event WHERE callback_id = %s", [self.callback_id]), 1
        )

    def test_trigger_survives_a_cron_run_begun_before(self):
        with self.registry.cursor() as cron_cr:
            cron_cr.execute("SELECT 1 FROM ir_cron_trigger")  # a cron run's snapshot, before the callback
            with self.registry.cursor() as cr:
                self.assertTrue(self.store(cr, "9200"))
            # the run ends: Odoo removes the due triggers it sees (18.0 _reschedule_later, 19.0 _clear_schedule)
            cron_cr.execute(
                "DELETE FROM ir_cron_trigger WHERE cron_id = %s AND call_at <= (NOW() AT TIME ZONE 'UTC')",
                [self.cron_id],
            )
        self.assertEqual(
            self.count("SELECT COUNT(*) FROM ir_cron_trigger WHERE cron_id = %s", [self.cron_id]),
            1,
            "the trigger of the event stored during the run is still there: the cron runs again",
        )

    def test_one_trigger_per_new_event_and_one_wake_up_per_burst(self):
        triggered = []
        cron_class = type(self.env["ir.cron"])
        trigger = cron_class._trigger

        def spy(cron, at=None):
            triggered.append(cron.id)
            return trigger(cron, at)

        with patch.object(cron_class, "_trigger", spy):
            for msg_id in ("9301", "9302", "9303"):
                with self.registry.cursor() as cr:
                    self.assertTrue(self.store(cr, msg_id))
            with self.registry.cursor() as cr:
                self.assertIsNone(self.store(cr, "9302"), "a duplicate")
        self.assertEqual(triggered, [self.cron_id], "Odoo's trigger (and wake-up) for the first event only")
        self.assertEqual(
            self.count("SELECT COUNT(*) FROM ir_cron_trigger WHERE cron_id = %s", [self.cron_id]),
            3,
            "one trigger row per new event, none for the duplicate",
        )

    def test_inactive_cron_gets_no_trigger(self):
        with self.registry.cursor() as cr:
            cr.execute("UPDATE ir_cron SET active = FALSE WHERE id = %s", [self.cron_id])
        try:
            with self.registry.cursor() as cr:
                self.assertTrue(self.store(cr, "9400"))
            self.assertEqual(self.count("SELECT COUNT(*) FROM ir_cron_trigger WHERE cron_id = %s", [self.cron_id]), 0)
        finally:
            with self.registry.cursor() as cr:
                cr.execute("UPDATE ir_cron SET active = TRUE WHERE id = %s", [self.cron_id])

    def lookup(self, path):
        """``(target, crypto)`` at ``path`` from a fresh transaction, and the number of queries it took."""
        with self.registry.cursor() as cr:
            before = cr.sql_log_count
            result = api.Environment(cr, SUPERUSER_ID, {})["wecom.callback"]._wecom_find_target(path)
            return result, cr.sql_log_count - before

    def change(self, model, record_id, vals):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env[model].browse(record_id).write(vals)
            env.flush_all()  # as a request does before its commit

    def test_target_cached_until_the_configuration_changes(self):
        with self.registry.cursor() as cr:
            callback = api.Environment(cr, SUPERUSER_ID, {})["wecom.callback"].browse(self.callback_id)
            path, company_id = callback.path_token, callback.company_id.id
        self.registry.clear_cache()
        (target, _crypto), queries = self.lookup(path)
        self.assertEqual((target.id, queries), (self.callback_id, 1))
        (target, crypto), queries = self.lookup(path)
        self.assertEqual((target.id, crypto, queries), (self.callback_id, None, 0), "cached; not configured yet")
        self.change("wecom.callback", self.callback_id, {"callback_token": "BurstToken1", "encoding_aes_key": "a" * 43})
        self.assertIsNotNone(self.lookup(path)[0][1], "the new keys are used at once")
        self.change("wecom.application", self.app_id, {"is_active": False})
        self.assertEqual(self.lookup(path)[0], (None, None))
        self.change("wecom.application", self.app_id, {"is_active": True})
        self.change("res.company", company_id, {"wecom_corp_id": "wwotherburst00001"})
        self.assertEqual(self.lookup(path)[0][0].corp_id, "wwotherburst00001")
        for _attempt in range(2):  # an unknown path is looked up each time, never kept
            self.assertEqual(self.lookup("x" * 32), ((None, None), 1))
