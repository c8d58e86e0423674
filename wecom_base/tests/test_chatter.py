"""What the chatter of applications shows: refreshes and failures (once per new failure)."""

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WeComCase


@tagged("post_install", "-at_install")
class TestApplicationChatter(WeComCase):
    def notes(self, app=None):
        app = app or self.app
        app.invalidate_recordset(["message_ids"])
        return [str(body) for body in app.message_ids.mapped("body")]

    def test_refresh_is_noted(self):
        before = len(self.notes())
        self.app.refresh_app_info()
        notes = self.notes()
        self.assertEqual(len(notes), before + 1)
        self.assertIn("Refreshed from WeCom", notes[0])

    def test_test_connection_posts_one_note(self):
        before = len(self.notes())
        self.app.action_test_connection()
        notes = self.notes()
        self.assertEqual(len(notes), before + 1)
        self.assertIn("Connected to WeCom", notes[0])

    def test_new_failure_is_noted_once(self):
        self.app.secret = "wrong-secret"
        before = len(self.notes())
        for _attempt in range(3):
            # unittest's assertRaisesRegex: no savepoint, as the real error path keeps its own transaction
            with self.assertRaisesRegex(UserError, "secret"):
                self.app.get_access_token()
        notes = self.notes()
        self.assertEqual(len(notes), before + 1, "the same failure again must not flood the chatter")
        self.assertIn("WeCom failure", notes[0])
        self.assertIn("40001", notes[0])
        self.assertNotIn("wrong-secret", notes[0])


@tagged("post_install", "-at_install")
class TestMessageChatter(WeComCase):
    def queue(self, userids, content):
        message = self.env["wecom.message"].create(
            {"application_id": self.app.id, "to_userids": userids, "content": content}
        )
        message.action_send()
        return message

    def notes(self, message):
        message.invalidate_recordset(["message_ids"])
        return [str(body) for body in message.message_ids.mapped("body")]

    def test_drain_notes_what_an_admin_acts_on(self):
        """Partial sends and failures are noted (through mail's API); a plain "sent" is not: the state,
        the sent date and WeCom's message id say it."""
        sent = self.queue("zhangsan", "all good")
        partial = self.queue("zhangsan|invalid_1", "some good")
        failed = self.queue("invalid_2", "<b>nobody</b>")
        before = {message: len(self.notes(message)) for message in (sent, partial, failed)}
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual((sent.state, partial.state, failed.state), ("sent", "partial", "exception"))
        self.assertEqual(len(self.notes(sent)), before[sent])
        self.assertEqual(len(self.notes(partial)), before[partial] + 1)
        self.assertIn("invalid_1", self.notes(partial)[0])
        self.assertIn("Not sent", self.notes(failed)[0])
        self.assertIn("81013", self.notes(failed)[0])
        self.assertEqual(failed.message_ids[:1].message_type, "notification")

    def test_send_now_notes_no_plain_success(self):
        message = self.env["wecom.message"].create(
            {"application_id": self.app.id, "to_userids": "zhangsan", "content": "now"}
        )
        message.action_send_now()
        self.assertEqual(message.state, "sent")
        self.assertFalse([n for n in self.notes(message) if "Sent to WeCom" in n])

    def test_failure_reason_is_escaped(self):
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=40008, errmsg="<script>alert(1)</script>", times=-1)
        message = self.queue("zhangsan", "x")
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual(message.state, "exception")
        note = self.notes(message)[0]
        self.assertNotIn("<script>", note)
