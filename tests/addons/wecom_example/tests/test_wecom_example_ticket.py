"""The example addon end to end: a ticket event queues a WeCom message, the outbox sends it to the mock."""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, WeComCase


@tagged("post_install", "-at_install")
class TestWeComExampleTicket(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assignee = cls.user_manager
        cls.assignee.wecom_userid = "zhangsan"
        cls.Ticket = cls.env["wecom.example.ticket"].with_user(cls.user_wecom)

    def drain(self):
        return self.env["wecom.message"]._cron_process_queue()

    def sent_payloads(self):
        return [message["payload"] for message in self.mock.messages()]

    def test_open_and_close_notify_the_assignee(self):
        with self.assertMockCalls(message_send=2):
            ticket = self.Ticket.create({"name": "Printer on fire", "user_id": self.assignee.id})
            self.assertEqual(ticket.application_id, self.app, "the company's application by default")
            self.assertEqual(ticket.wecom_message_ids.state, "outgoing", "queued, sent by the outbox")
            self.drain()
            ticket.action_close()
            ticket.action_close()  # closing a closed ticket tells nobody again
            self.drain()
        self.assertEqual(ticket.state, "closed")
        payloads = self.sent_payloads()
        self.assertEqual([payload["touser"] for payload in payloads], ["zhangsan", "zhangsan"])
        self.assertEqual([payload["agentid"] for payload in payloads], [MOCK_AGENT_ID, MOCK_AGENT_ID])
        self.assertEqual(
            [payload["text"]["content"] for payload in payloads],
            ["New ticket for you: Printer on fire", "Ticket closed: Printer on fire"],
        )
        self.assertEqual(ticket.wecom_message_ids.mapped("state"), ["sent", "sent"])
        self.assertEqual(ticket.wecom_message_ids.create_uid, self.user_wecom, "sent as the user who acted")

    def test_nothing_sent_when_wecom_is_not_set_up(self):
        no_wecom_id = self.user_plain
        self.assertFalse(no_wecom_id.wecom_userid)
        tickets = self.Ticket.create(
            [
                {"name": "No WeCom id", "user_id": no_wecom_id.id},
                {"name": "No application", "user_id": self.assignee.id, "application_id": False},
            ]
        )
        self.company.wecom_corp_id = False
        tickets |= self.Ticket.create({"name": "No CorpID", "user_id": self.assignee.id})
        self.drain()
        self.assertEqual(len(tickets), 3)
        self.assertFalse(tickets.wecom_message_ids)
        self.assertEqual(self.sent_payloads(), [])

    def test_refused_message_never_blocks_the_ticket(self):
        self.app.is_active = False  # wecom_send refuses a disabled application
        with self.assertWeComWarning("no WeCom message to"):
            ticket = self.Ticket.create(
                {"name": "App disabled", "user_id": self.assignee.id, "application_id": self.app.id}
            )
        self.assertTrue(ticket.exists())
        self.assertFalse(ticket.wecom_message_ids)
        self.assertFalse(self.env["wecom.message"].search([("content", "like", "App disabled")]))
        # log_error wrote the reason in a transaction of its own
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT level, message FROM ir_logging WHERE name = 'wecom_base' AND path = %s AND line = %s",
                ["wecom.example.ticket", str(ticket.id)],
            )
            rows = cr.fetchall()
            cr.execute(
                "DELETE FROM ir_logging WHERE name = 'wecom_base' AND path = %s AND line = %s",
                ["wecom.example.ticket", str(ticket.id)],
            )
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][0], "WARNING")
        self.assertIn("wecom_manager", rows[0][1])
        self.assertIn("Application: Odoo Notifications is disabled", rows[0][1])

    def test_wecom_base_helpers_on_the_ticket(self):
        ticket = self.Ticket.create({"name": "Helpers", "user_id": self.assignee.id})
        config = ticket.get_wecom_config()
        self.assertEqual((config["corp_id"], config["company_id"]), (self.company.wecom_corp_id, self.company.id))
        self.assertNotIn("secret", config)
        self.assertEqual(ticket._wecom_get_application(), self.app)
        ticket.active = False  # the active field comes from wecom.base
        self.assertNotIn(ticket, self.Ticket.search([]))

    def test_access(self):
        with self.assertWeComWarning("create of wecom.example.ticket failed"), self.assertRaises(AccessError):
            self.env["wecom.example.ticket"].with_user(self.user_plain).create(
                {"name": "Plain", "user_id": self.assignee.id}
            )
        ticket = self.Ticket.create({"name": "Mine", "user_id": self.assignee.id})
        with self.assertRaises(AccessError):
            ticket.unlink()
        ticket.with_user(self.user_manager).unlink()
        self.assertFalse(ticket.exists())
