from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from ..const import PARAM_API_BASE_URL, PARAM_TIMEOUT
from ..models.wecom_application import clear_token_cache
from .common import MOCK_CORP_ID, MOCK_SECRET, get_mock, run_concurrently

MESSAGES = 60
SENDERS = 2


@tagged("post_install", "-at_install")
class TestMessageConcurrency(TransactionCase):
    """Two outbox drains at the same time, each with its own database connection (as two cron workers):
    every message is sent exactly once. Data is committed (as in production) and removed at the end."""

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
                {"app_name": "Concurrent outbox", "agent_id": 1000002, "secret": MOCK_SECRET, "company_id": company.id}
            )
            # pending messages of other tests or of a user database must not be sent by this test
            cr.execute("SELECT id FROM wecom_message WHERE state = 'outgoing'")
            self._others = [row[0] for row in cr.fetchall()]
            if self._others:
                cr.execute("UPDATE wecom_message SET state = 'draft' WHERE id IN %s", [tuple(self._others)])
            messages = env["wecom.message"].create(
                [
                    {"application_id": app.id, "to_userids": f"user{i}", "content": f"c{i}", "state": "outgoing"}
                    for i in range(MESSAGES)
                ]
            )
            self.app_id, self.message_ids = app.id, messages.ids
        self.addCleanup(self._drop_committed)

    def _drop_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["wecom.message"].browse(self.message_ids).unlink()
            env["wecom.application"].browse(self.app_id).unlink()
            if self._others:
                cr.execute("UPDATE wecom_message SET state = 'outgoing' WHERE id IN %s", [tuple(self._others)])
            env.ref("base.main_company").wecom_corp_id = self._saved_corp_id
            icp = env["ir.config_parameter"]
            for key, value in self._saved_params.items():
                icp.set_param(key, value or False)

    def test_two_drains_send_each_message_once(self):
        self.mock.add_fault(path="/cgi-bin/message/send", delay=0.01, times=-1)  # let the drains interleave
        processed, errors = run_concurrently(
            self.registry, SENDERS, lambda env: env["wecom.message"]._cron_process_queue(batch_size=5), timeout=120
        )
        self.assertFalse(errors)
        contents = sorted(m["payload"]["text"]["content"] for m in self.mock.messages())
        self.assertEqual(contents, sorted(f"c{i}" for i in range(MESSAGES)), "each message exactly once")
        self.assertEqual(sum(processed), MESSAGES)
        self.assertTrue(all(processed), "both drains took part")
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT state, COUNT(*) FROM wecom_message WHERE id IN %s GROUP BY state", [tuple(self.message_ids)]
            )
            self.assertEqual(dict(cr.fetchall()), {"sent": MESSAGES})
