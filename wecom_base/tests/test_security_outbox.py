"""Attacks on the outbox by WeCom users and RPC clients (issue 22, items 2-5): another company's or record's
attachment sent out, a message moved to another company's application, other users' messages read and changed,
outcomes forged and validation skipped. Each test fails on the code before the fix."""

import base64

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .. import compat
from .common import WeComCase


@tagged("post_install", "-at_install")
class TestOutboxAttacks(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        cls.other_company = cls.env["res.company"].create({"name": "Other Co", "wecom_corp_id": "ww0000000000other"})
        cls.other_app = cls.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000009, "secret": "s-other", "company_id": cls.other_company.id}
        )
        cls.user_wecom2 = new_test_user(
            cls.env, login="wecom_user2", groups="base.group_user,wecom_base.group_wecom_user"
        )
        # a file of the other company (attached to its application): no user of ours may read it
        cls.foreign_file = cls.env["ir.attachment"].create(
            {
                "name": "payroll.txt",
                "datas": base64.b64encode(b"secret payroll"),
                "mimetype": "text/plain",
                "res_model": "wecom.application",
                "res_id": cls.other_app.id,
            }
        )
        # a file nobody attached to a record, created by the superuser: readable by its creator only
        cls.private_file = cls.env["ir.attachment"].create(
            {"name": "private.txt", "datas": base64.b64encode(b"private"), "mimetype": "text/plain"}
        )

    def own_file(self, user):
        return (
            self.env["ir.attachment"]
            .with_user(user)
            .create({"name": "mine.txt", "datas": base64.b64encode(b"mine"), "mimetype": "text/plain"})
        )

    def draft(self, user, **values):
        values = {"application_id": self.app.id, "to_userids": "zhangsan", "content": "Hello", **values}
        return self.Message.with_user(user).create(values)

    # ------------------------------------------------------------------ 2. attachments
    def test_unreadable_attachment_refused_when_set(self):
        for attachment in (self.foreign_file, self.private_file):
            with self.subTest(attachment=attachment.name):
                with self.assertRaisesRegex(AccessError, "Attachment"):
                    self.draft(self.user_wecom, msgtype="file", content=False, attachment_id=attachment.id)
                with self.assertRaisesRegex(AccessError, "Attachment"):
                    self.Message.with_user(self.user_wecom).wecom_send(
                        self.app.id, userids="zhangsan", msgtype="file", attachment=attachment.id
                    )
                message = self.draft(self.user_wecom, msgtype="file", content=False)
                with self.assertRaisesRegex(AccessError, "Attachment"):
                    message.write({"attachment_id": attachment.id})
                self.assertFalse(message.attachment_id)
        self.assertFalse(self.Message.search([("attachment_id", "in", (self.foreign_file + self.private_file).ids)]))

    def test_attachment_checked_again_at_send_as_the_author(self):
        attachment = self.own_file(self.user_wecom)
        message = self.draft(self.user_wecom, msgtype="file", content=False, attachment_id=attachment.id)
        message.action_send()
        # the file moves to a record of the other company before the cron runs (as superuser)
        attachment.sudo().write({"res_model": "wecom.application", "res_id": self.other_app.id})
        with self.assertMockCalls(media_upload=0, message_send=0):
            self.Message._cron_process_queue()
        self.assertEqual(message.state, "exception")
        self.assertEqual(message.failure_type, "config")
        self.assertIn("mine.txt", message.failure_reason)
        self.assertFalse(message.media_id)

    # ------------------------------------------------------------------ 3. channel and company
    def test_channel_and_company_fixed_once_the_message_exists(self):
        robot = self.env["wecom.robot"].create({"name": "Team", "webhook_key": "k-" + "1" * 30})
        message = self.draft(self.user_wecom)
        for user in (self.user_wecom, self.user_manager):
            for values in (
                {"application_id": self.other_app.id},
                {"company_id": self.other_company.id},
                {"company_id": self.other_company.id, "application_id": self.other_app.id},
                {"channel": "robot", "robot_id": robot.id},
                {"robot_id": robot.id},
            ):
                with self.subTest(user=user.login, values=values), self.assertRaisesRegex(UserError, "new message"):
                    message.with_user(user).write(values)
        self.assertEqual((message.application_id, message.company_id), (self.app, self.company))
        # writing the same values (a form saved again) is fine
        message.with_user(self.user_wecom).write({"application_id": self.app.id, "content": "Edited"})
        self.assertEqual(message.content, "Edited")

    def test_cron_checks_the_author_may_still_use_the_channel(self):
        self.user_wecom.write({"company_ids": [(4, self.other_company.id)]})
        message = self.draft(self.user_wecom)
        message.action_send()
        # the author leaves the company (or the WeCom group) before the cron sends
        self.user_wecom.write({"company_id": self.other_company.id, "company_ids": [(6, 0, self.other_company.ids)]})
        with self.assertMockCalls(message_send=0):
            self.Message._cron_process_queue()
        self.assertEqual((message.state, message.failure_type), ("exception", "config"))
        second = self.draft(self.user_wecom2)
        second.action_send()
        self.user_wecom2.write({compat.USER_GROUPS: [(3, self.env.ref("wecom_base.group_wecom_user").id)]})
        with self.assertMockCalls(message_send=0):
            self.Message._cron_process_queue()
        self.assertEqual((second.state, second.failure_type), ("exception", "config"))

    # ------------------------------------------------------------------ 4. other users' messages
    def test_wecom_users_see_and_act_on_their_own_messages_only(self):
        theirs = self.draft(self.user_wecom)
        mine = self.draft(self.user_wecom2)
        as_me = self.Message.with_user(self.user_wecom2)
        self.assertEqual(as_me.search([("id", "in", (theirs + mine).ids)]), mine)
        actions = (
            lambda m: m.read(["content"]),
            lambda m: m.write({"content": "Rewritten"}),
            lambda m: m.action_send(),
            lambda m: m.action_cancel(),
            lambda m: m.action_send_now(),
            lambda m: m.action_recall(),
        )
        with self.assertWeComWarning("write of wecom.message failed"):
            for action in actions:
                with self.assertRaises(AccessError):
                    action(theirs.with_user(self.user_wecom2))
        self.assertEqual((theirs.content, theirs.state), ("Hello", "draft"))
        # a WeCom manager sees and acts on every message of the company
        self.assertEqual(
            self.Message.with_user(self.user_manager).search([("id", "in", (theirs + mine).ids)]), theirs + mine
        )
        theirs.with_user(self.user_manager).action_cancel()
        self.assertEqual(theirs.state, "cancel")

    def test_msgid_of_another_message_cannot_be_borrowed_to_recall_it(self):
        theirs = self.draft(self.user_wecom)
        theirs.action_send()
        self.Message._cron_process_queue()
        self.assertTrue(theirs.msgid)
        mine = self.draft(self.user_wecom2)
        with self.assertRaisesRegex(AccessError, "msgid"):
            mine.write({"msgid": theirs.msgid, "state": "sent"})
        with self.assertRaisesRegex(AccessError, "msgid"):
            mine.write({"msgid": theirs.msgid})
        self.assertFalse(mine.msgid)

    # ------------------------------------------------------------------ 5. forged outcomes, skipped validation
    def test_outcomes_are_written_by_the_outbox_only(self):
        message = self.draft(self.user_wecom)
        forged = {
            "state": "sent",
            "msgid": "forged",
            "failure_reason": "forged",
            "failure_type": "config",
            "response": "{}",
            "response_code": "0",
            "try_count": 7,
            "sent_date": "2026-01-01 00:00:00",
            "recalled": True,
            "invalid_users": "x",
            "media_id": "m",
            "next_try_date": "2026-01-01 00:00:00",
        }
        for user in (self.user_wecom, self.user_manager, self.env.ref("base.user_admin")):
            for field, value in forged.items():
                with self.subTest(user=user.login, field=field), self.assertRaises(AccessError):
                    message.with_user(user).write({field: value})
        self.assertEqual((message.state, message.msgid, message.try_count), ("draft", False, 0))
        with self.assertRaises(AccessError):
            self.draft(self.user_wecom, state="sent", msgid="forged")
        with self.assertRaises(AccessError):
            self.draft(self.user_wecom, state="outgoing")

    def test_queueing_skips_no_validation(self):
        message = self.draft(self.user_wecom, content="x" * 5000)
        with self.assertRaises(AccessError):
            message.write({"state": "outgoing"})
        self.assertEqual(message.state, "draft")
        with self.assertMockCalls(message_send=0):
            self.Message._cron_process_queue()
        with self.assertRaisesRegex(Exception, "2048"):
            message.action_send()
        self.assertEqual(message.state, "draft")
