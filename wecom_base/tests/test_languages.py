"""Texts written in the background (by the outbox's cron, the callback processing) are in the language of who
reads them, not in the cron's (issue 27): a Chinese author reads why the message failed in Chinese."""

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .. import compat
from .common import WeComCase


@tagged("post_install", "-at_install")
class TestLanguages(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        compat.load_language(cls.env, "zh_CN", ["wecom_base"])
        cls.author = new_test_user(
            cls.env, login="wecom_zh", groups="base.group_user,wecom_base.group_wecom_user", lang="zh_CN"
        )

    def test_failure_reason_and_note_in_the_authors_language(self):
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=81013, errmsg="all invalid")
        message = self.env["wecom.message"].with_user(self.author).wecom_send(self.app, userids=["nobody"], content="x")
        self.assertEqual(self.env.lang or "en_US", "en_US", "the cron runs in English")
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual(message.state, "exception")
        self.assertIn("所有接收人均无效", message.failure_reason)
        self.assertIn("81013", message.failure_reason)
        notes = message.message_ids.mapped("body")
        self.assertTrue(any("未发送" in (body or "") for body in notes), notes)

    def test_english_author_reads_english(self):
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=81013, errmsg="all invalid")
        message = (
            self.env["wecom.message"].with_user(self.user_wecom).wecom_send(self.app, userids=["nobody"], content="x")
        )
        self.env["wecom.message"]._cron_process_queue()
        self.assertIn("None of the recipients is valid", message.failure_reason)

    def test_application_error_in_the_companys_language(self):
        """The token error kept on the application (its form, the dashboard) is for the company's managers."""
        self.company.partner_id.lang = "zh_CN"
        self.app.secret = "wrong-secret"
        # assertRaisesRegex, not Odoo's assertRaises: that one rolls back what the failure stored
        with self.assertRaisesRegex(UserError, "40001") as caught:
            self.app.get_access_token()
        self.assertNotIn("企业微信", str(caught.exception), "the one who pressed reads their own language")
        self.assertIn("企业微信错误 40001", self.app.last_error)

    def test_access_rights_heading_translated(self):
        """The heading of the WeCom groups in a user's Access Rights: 18.0's module category, 19.0's privilege
        (created by compat.setup_groups at install, and translated from the .po like the category)."""
        group = self.env.ref("wecom_base.group_wecom_user")
        heading = group[compat.GROUP_CATEGORY]
        self.assertTrue(heading)
        self.assertEqual(heading.with_context(lang="en_US").name, "WeCom")
        self.assertEqual(heading.with_context(lang="zh_CN").name, "企业微信")

    def test_event_result_in_the_companys_language(self):
        self.company.partner_id.lang = "zh_CN"
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        event = self.env["wecom.callback.event"].create(
            {
                "callback_id": callback.id,
                "msg_type": "event",
                "event": "no_such_event",
                "dedupe_key": "lang-test-1",
                "raw_xml": "<xml><MsgType>event</MsgType><Event>no_such_event</Event></xml>",
                "state": "new",
            }
        )
        event._wecom_process()
        self.assertEqual(event.state, "done")
        self.assertIn("已忽略", event.result)
        self.assertIn("no_such_event", event.result)
