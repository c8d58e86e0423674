"""Open views follow the outbox (issue 27, item 6): when the outbox changes messages, each partner who may read
some of them gets one bus notification ``wecom.message/changed`` with their ids, when the transaction commits;
nobody else does. The browser side (the form reloading itself) is the tour in test_tour.py."""

import json

from odoo.tests import new_test_user, tagged

from ..models.wecom_message import BUS_CHANGED
from .common import MOCK_ROBOT_KEY, WeComCase


@tagged("post_install", "-at_install")
class TestMessageRefresh(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        cls.user_wecom2 = new_test_user(
            cls.env, login="wecom_user2", groups="base.group_user,wecom_base.group_wecom_user"
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Co", "wecom_corp_id": "ww0000000000other"})
        cls.other_manager = new_test_user(
            cls.env,
            login="wecom_other_manager",
            groups="base.group_user,wecom_base.group_wecom_manager",
            company_id=cls.other_company.id,
            company_ids=[(6, 0, cls.other_company.ids)],
        )
        cls.robot = cls.env["wecom.robot"].create(
            {
                "name": "Ops group",
                "webhook_key": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={MOCK_ROBOT_KEY}",
            }
        )

    def setUp(self):
        super().setUp()
        self.notifications()  # what the setup queued is not the test's

    def notifications(self):
        """The ``wecom.message/changed`` notifications the transaction would send if it committed now (and did
        not send yet): ``[(partner, ids)]`` in the order sent."""
        self.env.cr.precommit.run()  # what a commit runs first: the bus creates its rows there
        last = getattr(self, "_last_bus_id", 0)
        rows = self.env["bus.bus"].sudo().search([("id", ">", last)], order="id")
        if rows:
            self._last_bus_id = rows[-1].id
        sent = []
        for row in rows:
            message = json.loads(row.message)
            if message["type"] != BUS_CHANGED:
                continue
            channel = json.loads(row.channel)
            self.assertEqual(channel[:2], [self.env.cr.dbname, "res.partner"], "sent to a partner")
            sent.append((self.env["res.partner"].browse(channel[2]), message["payload"]["ids"]))
        return sent

    def by_partner(self, notifications):
        """``{partner: ids}``, checking that no partner got two notifications."""
        partners = [partner for partner, _ids in notifications]
        self.assertEqual(len(partners), len(set(partners)), f"one notification per partner: {notifications}")
        return {partner: sorted(ids) for partner, ids in notifications}

    def queue(self, user, *contents):
        messages = self.Message
        for content in contents:
            messages |= self.Message.with_user(user).wecom_send(self.app, userids=["zhangsan"], content=content)
        return messages.with_user(self.env.user)

    def test_drain_notifies_each_reader_once_with_its_messages(self):
        mine = self.queue(self.user_wecom, "one", "two")
        theirs = self.queue(self.user_wecom2, "three")
        self.notifications()  # queuing notified too (its own transaction); the drain's are what counts here
        self.Message._cron_process_queue(batch_size=1)  # three batches, one transaction (a test never commits)
        self.assertEqual(set((mine + theirs).mapped("state")), {"sent"})
        sent = self.by_partner(self.notifications())
        self.assertEqual(sent[self.user_wecom.partner_id], sorted(mine.ids), "the author: their messages only")
        self.assertEqual(sent[self.user_wecom2.partner_id], theirs.ids)
        self.assertEqual(sent[self.user_manager.partner_id], sorted((mine + theirs).ids), "a manager: all of them")
        self.assertNotIn(self.user_plain.partner_id, sent, "not a WeCom user")
        self.assertNotIn(self.other_manager.partner_id, sent, "a manager of another company")
        self.assertEqual(self.notifications(), [], "nothing more at the commit")

    def test_robot_messages_stored_one_by_one_notified_together(self):
        """A robot's messages are stored one at a time (each in a savepoint, which runs the precommit hooks):
        the drain still sends one notification per reader."""
        messages = self.Message
        for content in ("a", "b", "c"):
            messages |= self.Message.with_user(self.user_manager).wecom_send_robot(self.robot, content=content)
        self.notifications()
        self.Message._cron_process_queue()
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        sent = self.by_partner(self.notifications())
        self.assertEqual(sent[self.user_manager.partner_id], sorted(messages.ids))
        self.assertNotIn(self.user_wecom.partner_id, sent)

    def test_send_now_by_a_manager_reaches_the_author(self):
        message = self.Message.with_user(self.user_wecom).create(
            {"application_id": self.app.id, "to_userids": "zhangsan", "content": "Now"}
        )
        self.assertEqual(self.notifications(), [], "a draft is no outbox change")
        message.with_user(self.user_manager).action_send_now()
        self.assertEqual(message.state, "sent")
        sent = self.by_partner(self.notifications())
        self.assertEqual(sent[self.user_wecom.partner_id], message.ids)
        self.assertEqual(sent[self.user_manager.partner_id], message.ids)
        self.assertNotIn(self.user_wecom2.partner_id, sent)

    def test_cancel_notifies_and_edits_do_not(self):
        message = self.queue(self.user_wecom, "Later")
        self.notifications()
        message.with_user(self.user_wecom).write({"content": "Later, edited"})
        self.assertEqual(self.notifications(), [], "the user's own edit: their form knows")
        message.with_user(self.user_manager).action_cancel()
        sent = self.by_partner(self.notifications())
        self.assertEqual(sent[self.user_wecom.partner_id], message.ids)

    def test_author_no_longer_wecom_user_not_notified(self):
        message = self.queue(self.user_wecom, "Gone")
        self.notifications()
        self.user_wecom.write({"active": False})
        self.Message._cron_process_queue()
        self.assertEqual(message.state, "exception", "an inactive author may not send")
        sent = self.by_partner(self.notifications())
        self.assertNotIn(self.user_wecom.partner_id, sent)
        self.assertEqual(sent[self.user_manager.partner_id], message.ids)
