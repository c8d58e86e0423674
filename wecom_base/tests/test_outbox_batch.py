"""The outbox stores a batch's outcomes together: one message's failure never undoes or stops the others,
whatever it breaks (a Python error, the transaction, a value the database refuses)."""

from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from .common import WeComCase

OUTBOX_LOGGER = "odoo.addons.wecom_base"  # the model and the drain (outbox.py)
OUTCOME_LOGGER = "odoo.addons.wecom_base.models.wecom_message"


@tagged("post_install", "-at_install")
class TestOutboxBatch(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        # one send after the other: the mock's faults hit requests in the order they arrive
        cls.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")

    def queue(self, *contents, **kwargs):
        kwargs.setdefault("userids", ["zhangsan"])
        return self.Message.browse([self.Message.wecom_send(self.app, content=c, **kwargs).id for c in contents])

    def delivered(self):
        return sorted(m["payload"]["text"]["content"] for m in self.mock.messages() if m["delivered"])

    def patch_text_payload(self, misbehave):
        """Make the text payload builder call ``misbehave(message)`` for messages whose content starts
        with "bad"."""
        original = type(self.Message)._wecom_prepare_payload__text

        def builder(message):
            if message.content.startswith("bad"):
                misbehave(message)
            return original(message)

        return patch.object(type(self.Message), "_wecom_prepare_payload__text", builder)

    def test_python_error_fails_that_message_only(self):
        messages = self.queue("ok1", "bad", "ok2")

        def explode(message):
            raise RuntimeError("payload builder bug")

        with self.patch_text_payload(explode), mute_logger(OUTBOX_LOGGER):
            self.Message._cron_process_queue(batch_size=10)
        self.assertEqual(messages.mapped("state"), ["sent", "exception", "sent"])
        self.assertEqual(messages[1].failure_type, "unknown")
        self.assertIn("payload builder bug", messages[1].failure_reason)
        self.assertEqual(self.delivered(), ["ok1", "ok2"])

    def test_aborted_transaction_keeps_the_batch(self):
        """A failed query aborts the transaction: the outcomes of the messages sent before it in the batch
        must still be stored (else they would be sent again), and the batch goes on."""
        messages = self.queue("ok1", "ok2", "bad", "ok3")

        def bad_query(message):
            message.env.cr.execute("SELECT * FROM wecom_no_such_table")

        with self.patch_text_payload(bad_query), mute_logger(OUTBOX_LOGGER, "odoo.sql_db"):
            self.Message._cron_process_queue(batch_size=10)
        self.assertEqual(messages.mapped("state"), ["sent", "sent", "exception", "sent"])
        self.assertTrue(all(messages.filtered(lambda m: m.state == "sent").mapped("msgid")))
        self.assertIn("wecom_no_such_table", messages[2].failure_reason)
        self.assertEqual(self.delivered(), ["ok1", "ok2", "ok3"])
        with self.assertMockCalls(message_send=0):
            self.Message._cron_process_queue(batch_size=10)

    def test_outcome_refused_by_database_stored_row_by_row(self):
        """PostgreSQL refuses text with a NUL character: the batch's UPDATE of that kind of outcome fails,
        its rows are stored one by one and only the culprit gets an "unknown" failure."""
        messages = self.queue("nul", "config", "ok", "partial", userids=None, parties=[1])
        messages[3].to_partyids = "1|999"
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=48002, errmsg="forbidden \x00 here")
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=48002, errmsg="api forbidden")
        with mute_logger(OUTBOX_LOGGER, OUTCOME_LOGGER, "odoo.sql_db"):
            self.Message._cron_process_queue(batch_size=10)
        self.assertEqual(messages.mapped("state"), ["exception", "exception", "sent", "partial"])
        self.assertEqual(messages.mapped("failure_type"), ["unknown", "config", False, False])
        self.assertIn("NUL", messages[0].failure_reason)
        self.assertIn("48002", messages[1].failure_reason)
        self.assertEqual(messages[3].invalid_parties, "999")
        self.assertEqual(messages.mapped("try_count"), [1, 1, 1, 1])
        self.assertFalse(any(messages.mapped("claimed_at")))

    def test_mixed_batch_outcomes(self):
        """Sent, retried and failed messages of one batch each get their own values."""
        messages = self.queue("busy", "ok", "invalid", "ok2")
        messages[2].to_userids = "invalid_a"
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=-1, errmsg="system busy")
        self.Message._cron_process_queue(batch_size=10)
        busy, ok, invalid, ok2 = messages
        self.assertEqual((busy.state, busy.try_count, busy.failure_type), ("outgoing", 1, False))
        self.assertTrue(busy.next_try_date and "-1" in busy.failure_reason)
        self.assertEqual((ok.state, ok2.state), ("sent", "sent"))
        self.assertTrue(ok.sent_date and ok.msgid and ok.response)
        self.assertEqual((invalid.state, invalid.failure_type), ("exception", "recipients"))
        self.assertEqual(self.delivered(), ["ok", "ok2"])

    def test_store_writes_like_write(self):
        """Outcomes are stored with the ORM's writer: database and cache agree, a later outcome of a message
        wins, stored fields computed from them follow, and the hook runs once on the messages stored."""
        first, second = self.queue("one", "two")
        self.admin = self.env.ref("base.user_admin")
        Message = type(self.Message)
        original_hook = Message._wecom_outcomes_stored
        with patch.object(Message, "_wecom_outcomes_stored", autospec=True, side_effect=original_hook) as hook:
            self.Message._wecom_store_outcomes(
                [
                    (first.id, {"state": "sent", "msgid": "early", "try_count": 1}),
                    (second.id, {"state": "exception", "failure_type": "config", "failure_reason": "no"}),
                    (first.id, {"msgid": "later"}),
                    (second.id, {"content": "renamed by the store"}),
                    (first.id, {"user_ids": [Command.link(self.admin.id)]}),  # not a column: write()
                ]
            )
        self.assertEqual(hook.call_count, 1)
        self.assertEqual(hook.call_args.args[0], first | second)
        cached = [(m.state, m.msgid, m.try_count, m.failure_reason, m.name, m.write_uid.id) for m in (first, second)]
        self.env.invalidate_all()
        stored = [(m.state, m.msgid, m.try_count, m.failure_reason, m.name, m.write_uid.id) for m in (first, second)]
        self.assertEqual(cached, stored)
        self.assertEqual(stored[0][:3], ("sent", "later", 1))
        self.assertEqual(stored[1][0], "exception")
        self.assertEqual(stored[1][4], "renamed by the store", "the stored computed name follows its content")
        self.assertEqual(first.user_ids, self.admin)
        self.assertIn("Not sent: no", second.message_ids[:1].body, "the default hook notes the failure")
        self.assertFalse(first.message_ids.filtered(lambda note: "Not sent" in (note.body or "")))
