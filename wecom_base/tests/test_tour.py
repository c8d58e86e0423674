"""Browser tours (wecom_base/static/tests/tours/wecom_base_tour.js) in a real headless Chromium.

They run against the mock WeCom (``common.get_mock``). A failing tour leaves a screenshot in Odoo's
``--screenshots`` folder (``<dir>/<database>/screenshots/``; ``scripts/test`` prints where).

They skip, saying why, when this machine cannot run them: no Chromium/Chrome on the PATH, no
``websocket-client`` (Odoo drives the browser with it), or an Odoo tree without the web client's
``static/lib`` files.
"""

from odoo.tests import HttpCase, new_test_user, tagged

from .. import compat
from .common import MOCK_AGENT_ID, MOCK_SECRET, WeComMockMixin, WeComTourMixin

TOUR_APP_NAME = "Tour Notifications"  # as in the tour
TOUR_MESSAGE = "Hello from the wecom_base tour"  # as in the tour
RECIPIENT_USERID = "TourRecipient"


@tagged("post_install", "-at_install")
class WeComTourCase(WeComTourMixin, WeComMockMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.recipient = new_test_user(
            cls.env, login="wecom_tour_recipient", name="WeCom Tour Recipient", groups="base.group_user"
        )
        cls.recipient.wecom_userid = RECIPIENT_USERID
        cls.wecom_user = new_test_user(
            cls.env, login="wecom_tour_user", groups="base.group_user,wecom_base.group_wecom_user"
        )

    def test_admin_creates_application_and_sends_message(self):
        """An admin creates an application, tests its connection, then sends a text message to a user."""
        self.start_tour(
            "/odoo/action-wecom_base.wecom_application_action", "wecom_base_tour_application", login="admin"
        )
        self.env.invalidate_all()
        app = self.env["wecom.application"].search([("app_name", "=", TOUR_APP_NAME)])
        self.assertEqual(len(app), 1, "the tour created one application")
        self.assertEqual((app.agent_id, app.secret, app.company_id), (MOCK_AGENT_ID, MOCK_SECRET, self.env.company))
        self.assertEqual(app.wecom_name, "Mock App", "Test Connection stored what WeCom says of the application")
        self.assertFalse(app.last_error)
        self.assertEqual(self.mock.count("/cgi-bin/gettoken"), 1)
        self.assertEqual(self.mock.count("/cgi-bin/agent/get"), 1)

        self.start_tour(
            f"/odoo/action-base.action_res_users/{self.recipient.id}", "wecom_base_tour_send_message", login="admin"
        )
        self.env.invalidate_all()
        message = self.env["wecom.message"].search([("application_id", "=", app.id)])
        self.assertEqual(len(message), 1, "the composer created one message")
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.user_ids, self.recipient)
        received = self.mock.messages()
        self.assertEqual(len(received), 1, "the mock WeCom received the message once")
        payload = received[0]["payload"]
        self.assertEqual(payload["msgtype"], "text")
        self.assertEqual(payload["text"]["content"], TOUR_MESSAGE)
        self.assertEqual(payload["touser"], RECIPIENT_USERID)
        self.assertEqual(int(payload["agentid"]), MOCK_AGENT_ID)
        self.assertEqual(message.msgid, received[0]["msgid"])
        self.assertEqual(self.mock.count("/cgi-bin/gettoken"), 1, "the token of Test Connection was reused")

    def test_wecom_user_sees_no_secret(self):
        """A WeCom user (not a manager) opens an application: no secret, token or Test Connection."""
        app = self.env["wecom.application"].create(
            {
                "app_name": "Odoo Notifications",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "company_id": self.env.company.id,
            }
        )
        self.start_tour(
            f"/odoo/action-wecom_base.wecom_application_action/{app.id}",
            "wecom_base_tour_user_no_secret",
            login=self.wecom_user.login,
        )
        self.assertEqual(self.mock.count("/cgi-bin/gettoken"), 0, "opening the form calls no WeCom API")

    def test_manager_sets_up_a_callback_from_callbacks_new(self):
        """Issue 27: Callbacks > New offers the company's applications; the Token, key and URL can be copied."""
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Callback App", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://127.0.0.1:8069")
        self.start_tour("/odoo/action-wecom_base.wecom_callback_action", "wecom_base_tour_callback", login="admin")
        self.env.invalidate_all()
        callback = self.env["wecom.callback"].search([("application_id", "=", app.id)])
        self.assertEqual(len(callback), 1, "the tour created the callback")
        self.assertTrue(callback.is_configured, "with a generated Token and EncodingAESKey")

    def test_callback_form_in_chinese(self):
        """Issue 27: an admin whose language is Chinese reads the callback form and its warning in Chinese."""
        compat.load_language(self.env, "zh_CN", ["base", "web", "mail", "wecom_base"])
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Callback App", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        callback = self.env["wecom.callback"].create({"application_id": app.id})
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://127.0.0.1:8069")
        self.env.ref("base.user_admin").lang = "zh_CN"
        self.start_tour(
            f"/odoo/action-wecom_base.wecom_callback_action/{callback.id}", "wecom_base_tour_callback_zh", login="admin"
        )

    def test_chinese_company_reads_background_texts_in_chinese(self):
        """Issue 27: for a Chinese company and admin, the AgentId reads 1000002 and the failure reason and event
        result written in the background (in English workers) read in Chinese."""
        compat.load_language(self.env, "zh_CN", ["base", "web", "mail", "wecom_base"])
        self.env.company.partner_id.lang = "zh_CN"
        admin = self.env.ref("base.user_admin")
        admin.lang = "zh_CN"
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Notifications", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=81013, errmsg="all invalid")
        message = self.env["wecom.message"].with_user(admin).wecom_send(app, userids=["nobody"], content="x")
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual(message.state, "exception")
        callback = self.env["wecom.callback"].create({"application_id": app.id})
        event = self.env["wecom.callback.event"].create(
            {
                "callback_id": callback.id,
                "msg_type": "event",
                "event": "no_such_event",
                "dedupe_key": "tour-zh-1",
                "raw_xml": "<xml><MsgType>event</MsgType><Event>no_such_event</Event></xml>",
                "state": "new",
            }
        )
        event._wecom_process()
        self.start_tour(
            "/odoo/action-wecom_base.wecom_application_action", "wecom_base_tour_zh_agent_id", login="admin"
        )
        self.start_tour(
            f"/odoo/action-wecom_base.wecom_message_action/{message.id}", "wecom_base_tour_zh_failure", login="admin"
        )
        self.start_tour(
            "/odoo/action-wecom_base.wecom_callback_event_action", "wecom_base_tour_zh_event", login="admin"
        )

    def test_automation_rule_sends_a_templated_message(self):
        """Issue 27: an automation rule "when a contact's city changes, tell its salesperson in WeCom" runs when a
        user changes the city in the contact's form."""
        if "base.automation" not in self.env:
            self.skipTest("base_automation is not installed in this database")
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Notifications", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        partner = self.env["res.partner"].create({"name": "Acme", "city": "Shanghai", "user_id": self.recipient.id})
        partner_model = self.env["ir.model"]._get("res.partner")
        template = self.env["wecom.message.template"].create(
            {
                "name": "Contact moved",
                "model_id": partner_model.id,
                "application_id": app.id,
                "content": "{{ object.name }} moved to {{ object.city }}",
                "user_field": "user_id",
            }
        )
        action = self.env["ir.actions.server"].create(
            {
                "name": "Tell the salesperson",
                "model_id": partner_model.id,
                "state": "wecom",
                "wecom_template_id": template.id,
            }
        )
        self.env["base.automation"].create(
            {
                "name": "Tell the salesperson when a contact moves",
                "model_id": partner_model.id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [(6, 0, self.env["ir.model.fields"]._get("res.partner", "city").ids)],
                "action_server_ids": [(4, action.id)],
            }
        )
        self.start_tour(f"/odoo/res.partner/{partner.id}", "wecom_base_tour_automation", login="admin")
        self.env.invalidate_all()
        message = self.env["wecom.message"].search([("application_id", "=", app.id)])
        self.assertEqual(message.mapped("content"), ["Acme moved to Beijing"])
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual(message.state, "sent")
        self.assertEqual([m["payload"]["touser"] for m in self.mock.messages()], [RECIPIENT_USERID])

    def test_message_form_follows_the_outbox(self):
        """Issue 27, item 6: the form of a queued message shows it sent when the outbox sends it, without a reload."""
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Refresh App", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        admin = self.env.ref("base.user_admin")
        message = self.env["wecom.message"].with_user(admin).wecom_send(app, userids=[RECIPIENT_USERID], content="Hi")
        self.assertEqual(message.state, "outgoing")
        with compat.bus_in_tours():
            self.start_tour(
                f"/odoo/action-wecom_base.wecom_message_action/{message.id}",
                "wecom_base_tour_message_refresh",
                login="admin",
            )
        self.env.invalidate_all()
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.mock.messages()), 1, "sent once, by the tour's RPC")

    def test_message_form_keeps_unsaved_changes(self):
        """Issue 27, item 6: a form with unsaved changes is not reloaded when the outbox changes its message."""
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Refresh App", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        admin = self.env.ref("base.user_admin")
        message = (
            self.env["wecom.message"]
            .with_user(admin)
            .create({"application_id": app.id, "to_userids": RECIPIENT_USERID, "content": "Draft text"})
        )
        with compat.bus_in_tours():
            self.start_tour(
                f"/odoo/action-wecom_base.wecom_message_action/{message.id}",
                "wecom_base_tour_message_refresh_dirty",
                login="admin",
            )
        self.env.invalidate_all()
        self.assertEqual(message.state, "outgoing", "queued by the tour's RPC")
        self.assertEqual(message.content, "Edited while queued", "the user's text, not thrown away by a reload")

    def test_message_list_follows_the_outbox(self):
        """Issue 27, item 6: the messages list shows a queued message sent when the outbox sends it."""
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Refresh App", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET}
        )
        admin = self.env.ref("base.user_admin")
        message = self.env["wecom.message"].with_user(admin).wecom_send(app, userids=[RECIPIENT_USERID], content="Hi")
        with compat.bus_in_tours():
            self.start_tour(
                "/odoo/action-wecom_base.wecom_message_action", "wecom_base_tour_message_list_refresh", login="admin"
            )
        self.env.invalidate_all()
        self.assertEqual(message.state, "sent")
