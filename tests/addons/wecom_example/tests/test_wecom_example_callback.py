"""The example's callback handler: a click on "My tickets" in WeCom sends the member their open tickets."""

from odoo.tests import tagged

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, MOCK_CORP_ID, WeComCase
from odoo.addons.wecom_example.models.wecom_callback_event import MY_TICKETS_KEY


def click(key, user="zhangsan"):
    return (
        f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[click]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
    )


@tagged("post_install", "-at_install")
class TestWeComExampleCallback(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_manager.wecom_userid = "zhangsan"
        cls.callback = cls.env["wecom.callback"].create(
            {
                "application_id": cls.app.id,
                "callback_token": "ExampleToken1",
                "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            }
        )
        Ticket = cls.env["wecom.example.ticket"]
        cls.tickets = Ticket.create(
            [
                {"name": "Printer on fire", "user_id": cls.user_manager.id},
                {"name": "Coffee machine", "user_id": cls.user_manager.id},
                {"name": "Someone else's", "user_id": cls.user_wecom.id},
            ]
        )
        cls.tickets[1].action_close()
        cls.tickets[:1].copy({"name": "Closed later"}).action_close()

    def receive(self, xml, dedupe):
        """A callback as the controller stores it, then processed by the inbox cron."""
        event = (
            self.env["wecom.callback.event"]
            .sudo()
            .create(
                {
                    "callback_id": self.callback.id,
                    "msg_type": "event",
                    "event": "click",
                    "from_user": "zhangsan",
                    "dedupe_key": dedupe,
                    "raw_xml": xml,
                }
            )
        )
        self.env["wecom.callback.event"]._cron_process_events()
        return event

    def test_my_tickets_click_sends_the_open_tickets(self):
        self.env["wecom.message"]._cron_process_queue()  # the ticket notifications of setUpClass
        before = len(self.mock.messages())
        event = self.receive(click(MY_TICKETS_KEY), "example-1")
        self.assertEqual(event.state, "done", event.error_reason)
        self.assertIn("Sent 1 open ticket(s)", event.result)
        self.env["wecom.message"]._cron_process_queue()
        sent = self.mock.messages()[before:]
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["payload"]["touser"], "zhangsan")
        self.assertEqual(sent[0]["payload"]["text"]["content"], "Your open tickets: 1\n- Printer on fire")

    def test_other_menu_keys_are_left_alone(self):
        with self.assertMockCalls(message_send=0):
            event = self.receive(click("someone_elses_menu"), "example-2")
        self.assertEqual(event.state, "done")
        self.assertIn("Ignored", event.result)
        self.assertFalse(self.env["wecom.message"].search([("content", "like", "Your open tickets")]))
