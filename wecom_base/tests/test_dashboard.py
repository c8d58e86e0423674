"""The WeCom dashboard: per-application counts, Retry all, the setup checklist and who may retry what."""

from datetime import timedelta
from urllib.parse import urlsplit

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.wecom_base.tests.common import WeComCase


@tagged("post_install", "-at_install")
class TestWeComDashboard(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        cls.user_wecom2 = new_test_user(
            cls.env, login="wecom_dash_user2", groups="base.group_user,wecom_base.group_wecom_user"
        )

    def message(self, user=None, **values):
        values = {"application_id": self.app.id, "to_userids": "zhangsan", "content": "Hello", **values}
        return self.Message.with_user(user or self.env.user).create(values)

    def failed(self, user=None):
        """A message that failed (as the outbox leaves it): to a valid recipient, so that a retry gets through."""
        message = self.message(user)
        message.sudo().write({"state": "exception", "failure_type": "unknown", "failure_reason": "Down"})
        return message

    def counts(self, app=None, user=None):
        app = (app or self.app).with_user(user or self.env.user)
        app.invalidate_recordset()
        return {
            "sent": app.dashboard_sent_count,
            "waiting": app.dashboard_waiting_count,
            "failed": app.dashboard_failed_count,
            "failed_today": app.dashboard_failed_today_count,
        }

    # ------------------------------------------------------------------ counts
    def test_counts_sent_waiting_failed(self):
        sent = self.message()
        sent.action_send()
        self.Message._cron_process_queue()
        self.assertEqual(sent.state, "sent")
        bad = self.message(to_userids="invalid_a")
        bad.action_send()
        self.Message._cron_process_queue()
        self.assertEqual(bad.state, "exception")
        waiting = self.message()
        waiting.action_send()
        self.assertEqual(waiting.state, "outgoing")
        # not counted: a draft, a message sent yesterday, another application's failed message
        self.message()
        old = self.message()
        old.write({"state": "sent", "sent_date": fields.Datetime.now() - timedelta(days=2)})
        other_app = self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000099, "secret": "s-other", "company_id": self.company.id}
        )
        self.message(application_id=other_app.id).write({"state": "exception"})

        self.assertEqual(self.counts(), {"sent": 1, "waiting": 1, "failed": 1, "failed_today": 1})
        self.assertEqual(self.counts(other_app), {"sent": 0, "waiting": 0, "failed": 1, "failed_today": 1})
        # the buttons open what was counted
        action = self.app.action_wecom_dashboard_failed()
        self.assertEqual(self.Message.search(action["domain"]), bad)
        self.assertEqual(self.Message.search(self.app.action_wecom_dashboard_waiting()["domain"]), waiting)
        self.assertEqual(self.Message.search(self.app.action_wecom_dashboard_sent()["domain"]), sent)

    def test_counts_read_in_one_query_per_model_for_all_applications(self):
        apps = self.app + self.env["wecom.application"].create(
            [
                {"app_name": f"App {n}", "agent_id": 1000100 + n, "secret": "s", "company_id": self.company.id}
                for n in range(5)
            ]
        )
        for app in apps:
            self.message(application_id=app.id).write({"state": "exception"})
        apps.invalidate_recordset()
        self.env.flush_all()
        with self.assertQueryCount(1):
            apps.mapped("dashboard_failed_count")
        self.assertEqual(apps.mapped("dashboard_failed_count"), [1] * 6)

    def test_callback_counts(self):
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        self.assertEqual(self.app.dashboard_callback_state, "incomplete")
        for key, state in (("d1", "done"), ("d2", "error"), ("d3", "done")):
            self.env["wecom.callback.event"].create(
                {"callback_id": callback.id, "dedupe_key": key, "state": state, "msg_type": "text"}
            )
        callback.sudo().write({"rejected_count": 4})
        callback.action_generate_credentials()
        self.app.invalidate_recordset()
        self.assertEqual(
            (
                self.app.dashboard_event_count,
                self.app.dashboard_event_error_count,
                self.app.dashboard_rejected_count,
                self.app.dashboard_callback_state,
            ),
            (3, 1, 4, "configured"),
        )

    def test_token_state(self):
        self.assertEqual(self.app.dashboard_token_state, "none")
        self.app.get_access_token()
        self.app.invalidate_recordset()
        self.assertEqual(self.app.dashboard_token_state, "valid")
        self.assertGreater(self.app.token_expiration_time, fields.Datetime.now())

    # ------------------------------------------------------------------ Retry all
    def test_retry_all_requeues_and_the_outbox_sends(self):
        failed = self.failed()
        sent_before = len(self.mock.messages())
        result = self.app.action_wecom_dashboard_retry_all()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(failed.state, "outgoing")
        self.assertFalse(failed.failure_reason)
        self.assertEqual(self.counts(), {"sent": 0, "waiting": 1, "failed": 0, "failed_today": 0})
        self.Message._cron_process_queue()
        self.assertEqual(failed.state, "sent")
        received = self.mock.messages()[sent_before:]
        self.assertEqual(len(received), 1, "the mock WeCom received the retried message once")
        self.assertEqual(received[0]["payload"]["text"]["content"], "Hello")
        self.assertEqual(received[0]["payload"]["touser"], "zhangsan")
        with self.assertRaises(UserError):
            self.app.action_wecom_dashboard_retry_all()

    def test_retry_all_queues_the_valid_ones_when_one_cannot_be_sent(self):
        good = self.failed()
        bad = self.failed()
        bad.sudo().write({"content": False})  # a text message needs a content: it fails validation
        result = self.app.action_wecom_dashboard_retry_all()
        self.assertEqual((good.state, bad.state), ("outgoing", "exception"))
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("1", result["params"]["message"])

    def test_wecom_user_retries_only_their_own_messages(self):
        theirs = self.failed(self.user_wecom2)
        # the other user's failures are neither counted nor retried for this user
        self.assertEqual(self.counts(user=self.user_wecom)["failed"], 0)
        with self.assertRaises(UserError):
            self.app.with_user(self.user_wecom).action_wecom_dashboard_retry_all()
        mine = self.failed(self.user_wecom)
        self.assertEqual(self.counts(user=self.user_wecom)["failed"], 1)
        self.app.with_user(self.user_wecom).action_wecom_dashboard_retry_all()
        self.assertEqual((mine.state, theirs.state), ("outgoing", "exception"))
        # a manager retries every failed message of the company
        self.assertEqual(self.counts(user=self.user_manager)["failed"], 1)
        self.app.with_user(self.user_manager).action_wecom_dashboard_retry_all()
        self.assertEqual(theirs.state, "outgoing")

    # ------------------------------------------------------------------ setup checklist
    def checklist(self, user=None):
        items = self.env["wecom.application"].with_user(user or self.user_manager).wecom_dashboard_checklist()
        return {item["key"]: item for item in items}

    def test_checklist_names_a_missing_callback_until_one_is_configured(self):
        items = self.checklist()
        self.assertTrue(items["corp_id"]["done"])
        self.assertTrue(items["application"]["done"])
        self.assertFalse(items["callback"]["done"])
        self.assertEqual(items["callback"]["action"], "wecom_base.wecom_callback_action")
        self.assertTrue(self.env.ref(items["callback"]["action"]))
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        self.assertFalse(self.checklist()["callback"]["done"], "a callback without Token and key is not enough")
        callback.action_generate_credentials()
        self.assertTrue(self.checklist()["callback"]["done"])

    def test_checklist_corp_id_application_directory(self):
        self.assertFalse(self.checklist()["directory"]["done"])
        self.app.directory_sync = True
        self.assertTrue(self.checklist()["directory"]["done"])
        company = self.env["res.company"].create({"name": "Empty Co"})
        self.user_manager.write({"company_ids": [(4, company.id)]})
        items = {
            item["key"]: item
            for item in self.env["wecom.application"]
            .with_user(self.user_manager)
            .with_company(company)
            .wecom_dashboard_checklist()
        }
        self.assertFalse(items["corp_id"]["done"])
        self.assertFalse(items["application"]["done"])
        for key, item in items.items():
            self.assertTrue(item["name"] and item["hint"], key)
            self.env.ref(item["action"])  # each missing step links to an existing action

    def test_checklist_login_domain_only_with_wecom_auth(self):
        installed = "wecom_auth_application_id" in self.env["res.company"]._fields
        items = self.checklist()
        self.assertEqual("login_domain" in items, installed)
        if installed:
            # Odoo has not read the trusted domain from WeCom yet
            self.assertFalse(items["login_domain"]["done"])
            self.assertTrue(items["login_domain"]["hint"])
            # WeCom's trusted domain is this database's host: done
            base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
            self.app.redirect_domain = urlsplit(base_url).netloc
            self.assertTrue(self.checklist()["login_domain"]["done"])

    def test_checklist_for_managers_only(self):
        self.assertEqual(self.env["wecom.application"].with_user(self.user_wecom).wecom_dashboard_checklist(), [])

    def test_dashboard_action_is_the_landing_page(self):
        menu = self.env.ref("wecom_base.menu_wecom_dashboard")
        self.assertEqual(menu.action, self.env.ref("wecom_base.wecom_dashboard_action"))
        siblings = self.env.ref("wecom_base.menu_wecom_root").child_id.filtered("action")
        self.assertEqual(siblings.sorted("sequence")[:1], menu)
        # the view loads for a WeCom user (fields of manager-only models are not in it)
        self.env["wecom.application"].with_user(self.user_wecom).get_views([(False, "kanban")])
