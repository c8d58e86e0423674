from odoo.tests import TransactionCase, tagged

from .common import WeComCommittedMixin, run_concurrently

MESSAGES = 60
SENDERS = 2


@tagged("post_install", "-at_install")
class TestMessageConcurrency(WeComCommittedMixin, TransactionCase):
    """Two outbox drains at the same time, each with its own database connection (as two cron workers):
    every message is sent exactly once. Data is committed (as in production) and removed at the end."""

    COMMITTED_APP = {"app_name": "Concurrent outbox", "agent_id": 1000002}

    def setUp_committed(self, env, app):
        cr = env.cr
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
        self.message_ids = messages.ids

    def cleanup_committed(self, env):
        env["wecom.message"].browse(self.message_ids).unlink()
        if self._others:
            env.cr.execute("UPDATE wecom_message SET state = 'outgoing' WHERE id IN %s", [tuple(self._others)])

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
