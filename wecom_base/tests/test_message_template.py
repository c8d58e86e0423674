"""Message templates and the server action "Send WeCom message" (issue 27)."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import MOCK_ROBOT_KEY, WeComCase

TEMPLATE_LOGGER = "odoo.addons.wecom_base.models.wecom_message_template"


@tagged("post_install", "-at_install")
class TestMessageTemplate(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        cls.user_wecom.wecom_userid = "zhangsan"
        cls.user_manager.wecom_userid = "lisi"
        cls.partner_model = cls.env["ir.model"]._get("res.partner")
        cls.template = cls.env["wecom.message.template"].create(
            {
                "name": "Contact changed",
                "model_id": cls.partner_model.id,
                "application_id": cls.app.id,
                "content": "{{ object.name }} ({{ object.city or '-' }}) is yours",
                "user_field": "user_id",
            }
        )
        cls.partner = cls.env["res.partner"].create({"name": "Acme", "city": "Shanghai", "user_id": cls.user_wecom.id})
        # may edit contacts (a server action needs it) but is no WeCom user
        cls.user_contacts = new_test_user(
            cls.env, login="wecom_contacts", groups="base.group_user,base.group_partner_manager"
        )
        cls.action = cls.env["ir.actions.server"].create(
            {
                "name": "Tell the salesperson",
                "model_id": cls.partner_model.id,
                "state": "wecom",
                "wecom_template_id": cls.template.id,
            }
        )

    def run_action(self, records, user=None):
        action = self.action.with_user(user) if user else self.action
        return action.with_context(active_model=records._name, active_id=records[:1].id, active_ids=records.ids).run()

    def queued(self):
        return self.Message.search([("content", "like", "is yours")])

    # ------------------------------------------------------------------ rendering and recipients
    def test_render_from_record(self):
        rendered = self.template._wecom_render(self.partner)[self.partner.id]
        self.assertEqual(rendered["content"], "Acme (Shanghai) is yours")
        self.assertTrue(rendered["url"].endswith(f"/odoo/res.partner/{self.partner.id}"))
        self.template.write({"msgtype": "textcard", "title": "{{ object.name }}", "url": "https://x/{{ object.id }}"})
        rendered = self.template._wecom_render(self.partner)[self.partner.id]
        self.assertEqual(rendered["title"], "Acme")
        self.assertEqual(rendered["url"], f"https://x/{self.partner.id}")

    def test_textcard_message(self):
        self.template.write({"msgtype": "textcard", "title": "{{ object.name }}"})
        message = self.template._wecom_send_to(self.partner)
        self.assertEqual(message.msgtype, "textcard")
        self.assertEqual(message.title, "Acme")
        self.assertEqual(message.description, "Acme (Shanghai) is yours")
        self.assertTrue(message.url.endswith(f"/odoo/res.partner/{self.partner.id}"))

    def test_recipients_user_field_and_followers(self):
        follower = new_test_user(self.env, login="wecom_follower", groups="base.group_user")
        follower.wecom_userid = "wangwu"
        self.partner.message_subscribe(partner_ids=follower.partner_id.ids)
        message = self.template._wecom_send_to(self.partner)
        self.assertEqual(message.user_ids, self.user_wecom, "followers only when asked")
        self.template.write({"notify_followers": True, "user_field": "user_id, create_uid", "to_partyids": "2"})
        message = self.template._wecom_send_to(self.partner)
        self.assertEqual(message.user_ids, self.user_wecom | follower)
        self.assertEqual(message.to_partyids, "2")
        self.assertEqual(message.state, "outgoing")

    def test_user_field_must_lead_to_users(self):
        with self.assertRaisesRegex(ValidationError, "not a path of relational fields"):
            self.template.user_field = "name"
        with self.assertRaisesRegex(ValidationError, "does not lead to users"):
            self.template.user_field = "country_id"
        self.template.user_field = "parent_id"  # contacts: their users
        self.assertEqual(self.template._wecom_record_users(self.partner), self.env["res.users"])

    # ------------------------------------------------------------------ the server action
    def test_server_action_queues_and_outbox_sends(self):
        self.run_action(self.partner)
        message = self.queued()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.state, "outgoing")
        self.assertEqual(len(self.mock.messages()), 0, "no HTTP in the transaction")
        self.Message._cron_process_queue()
        self.assertEqual(message.state, "sent")
        [sent] = self.mock.messages()
        self.assertEqual(sent["payload"]["touser"], "zhangsan")
        self.assertEqual(sent["payload"]["text"]["content"], "Acme (Shanghai) is yours")

    def test_server_action_by_user_without_wecom_rights(self):
        """The template is the authorization: a plain user's action (Action menu, automation) sends it."""
        self.assertFalse(self.user_contacts.has_group("wecom_base.group_wecom_user"))
        self.run_action(self.partner, user=self.user_contacts)
        message = self.queued()
        self.assertEqual(len(message), 1)
        self.Message._cron_process_queue()
        self.assertEqual((message.state, message.failure_reason), ("sent", False))

    def test_server_action_many_records(self):
        other = self.env["res.partner"].create({"name": "Beta", "user_id": self.user_manager.id})
        self.run_action(self.partner | other)
        self.assertEqual(sorted(self.queued().mapped("content")), ["Acme (Shanghai) is yours", "Beta (-) is yours"])

    def test_without_recipient_nothing_sent_no_error(self):
        lonely = self.env["res.partner"].create({"name": "Nobody"})
        with self.assertLogs(TEMPLATE_LOGGER, "WARNING"):
            self.run_action(lonely)
        self.assertFalse(self.queued())
        self.assertIn("no recipient", lonely.message_ids[:1].body)
        # a salesperson without WeCom user id is no recipient either
        lonely.user_id = new_test_user(self.env, login="wecom_nouserid", groups="base.group_user")
        with mute_logger(TEMPLATE_LOGGER):
            self.run_action(lonely)
        self.assertFalse(self.queued())
        self.Message._cron_process_queue()
        self.assertEqual(self.mock.messages(), [])

    def test_refused_message_skipped_with_note(self):
        self.template.content = "x" * 3000  # longer than WeCom takes
        with self.assertLogs(TEMPLATE_LOGGER, "WARNING"):
            self.run_action(self.partner)
        self.assertFalse(self.Message.search([("content", "like", "xxx")]))
        self.assertIn("not sent", self.partner.message_ids[:1].body)

    def test_robot_template(self):
        robot = self.env["wecom.robot"].create({"name": "Ops", "webhook_key": MOCK_ROBOT_KEY})
        with self.assertRaisesRegex(ValidationError, "text cards"):
            self.template.write({"channel": "robot", "robot_id": robot.id, "msgtype": "textcard", "title": "t"})
        self.template.write({"channel": "robot", "robot_id": robot.id, "msgtype": "text", "mention_users": True})
        self.run_action(self.partner)
        message = self.queued()
        self.assertEqual((message.channel, message.mentioned_userids), ("robot", "zhangsan"))
        self.Message._cron_process_queue()
        [sent] = self.mock.robot_messages()
        self.assertEqual(sent["payload"]["text"]["mentioned_list"], ["zhangsan"])

    def test_action_menu_entry(self):
        self.template.action_create_server_action()
        action = self.template.server_action_id
        self.assertEqual((action.state, action.binding_model_id), ("wecom", self.partner_model))
        action.with_context(active_model="res.partner", active_id=self.partner.id, active_ids=self.partner.ids).run()
        self.assertEqual(len(self.queued()), 1)
        self.template.action_unlink_server_action()
        self.assertFalse(action.exists())

    def test_only_who_may_edit_the_template_adds_it_to_the_action_menu(self):
        """The Action-menu entry runs as the superuser: a WeCom user (who may read templates) cannot add or remove it,
        over RPC either."""
        template = self.template.with_user(self.user_wecom)
        with self.assertRaises(AccessError):
            template.action_create_server_action()
        self.assertFalse(self.template.server_action_id)
        self.template.action_create_server_action()
        with self.assertRaises(AccessError):
            template.action_unlink_server_action()
        self.assertTrue(self.template.server_action_id.exists())

    def test_template_model_must_match_action(self):
        with self.assertRaisesRegex(ValidationError, "does not apply"):
            self.env["ir.actions.server"].create(
                {
                    "name": "Wrong model",
                    "model_id": self.env["ir.model"]._get("res.users").id,
                    "state": "wecom",
                    "wecom_template_id": self.template.id,
                }
            )

    # ------------------------------------------------------------------ automation rule
    def test_automation_rule_on_write(self):
        if "base.automation" not in self.env:
            self.skipTest("base_automation is not installed in this database")
        self.env["base.automation"].create(
            {
                "name": "Tell the salesperson on change",
                "model_id": self.partner_model.id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [(6, 0, self.env["ir.model.fields"]._get("res.partner", "city").ids)],
                "action_server_ids": [(4, self.action.id)],
            }
        )
        self.partner.with_user(self.user_contacts).write({"city": "Beijing"})
        message = self.queued()
        self.assertEqual(message.mapped("content"), ["Acme (Beijing) is yours"])
        self.Message._cron_process_queue()
        self.assertEqual((message.state, message.failure_reason), ("sent", False))
        self.assertEqual([m["payload"]["touser"] for m in self.mock.messages()], ["zhangsan"])

    # ------------------------------------------------------------------ security
    def test_rights(self):
        with self.assertRaises(AccessError):
            self.template.with_user(self.user_wecom).write({"content": "hacked"})
        with self.assertRaises(AccessError):
            self.template.with_user(self.user_plain).read(["content"])
        self.assertEqual(self.template.with_user(self.user_wecom).read(["name"])[0]["name"], "Contact changed")
        self.template.with_user(self.user_manager).write({"content": "{{ object.name }} is yours"})
        self.assertEqual(self.template.content, "{{ object.name }} is yours")
