"""Setting a callback up from its form (issue 27): any application of the user's companies can be chosen, and the
form says when WeCom cannot reach the callback URL."""

from odoo.tests import TransactionCase, tagged
from odoo.tools.safe_eval import safe_eval

from .common import MOCK_AGENT_ID


@tagged("post_install", "-at_install")
class TestCallbackSetup(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.env["wecom.application"].create(
            {"app_name": "Setup", "agent_id": MOCK_AGENT_ID, "secret": "setup-secret"}
        )
        cls.other_company = cls.env["res.company"].create({"name": "Elsewhere"})
        cls.other_app = cls.env["wecom.application"].create(
            {
                "app_name": "Elsewhere",
                "agent_id": MOCK_AGENT_ID,
                "secret": "x-secret",
                "company_id": cls.other_company.id,
            }
        )

    def test_new_callback_offers_the_applications_of_the_users_companies(self):
        field = self.env["wecom.callback"]._fields["application_id"]
        domain = safe_eval(field.domain, {"allowed_company_ids": self.env.company.ids, "company_id": False})
        offered = self.env["wecom.application"].search(domain)
        self.assertIn(self.app, offered, "a new callback has no company yet: its application must still be offered")
        self.assertNotIn(self.other_app, offered)
        both = safe_eval(field.domain, {"allowed_company_ids": (self.env.company | self.other_company).ids})
        self.assertIn(self.other_app, self.env["wecom.application"].search(both))

    def test_url_warning(self):
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        icp = self.env["ir.config_parameter"]
        for base_url, expected in (
            ("http://127.0.0.1:8069", "public https"),
            ("http://localhost:8069", "public https"),
            ("https://192.168.1.20", "public https"),
            ("http://erp.example.com", "should use https"),
            ("https://erp.example.com", False),
        ):
            with self.subTest(base_url=base_url):
                icp.set_param("web.base.url", base_url)
                callback.invalidate_recordset(["callback_url", "url_warning"])
                self.assertTrue(callback.callback_url.startswith(base_url + "/"))
                if expected:
                    self.assertIn(expected, callback.url_warning)
                else:
                    self.assertFalse(callback.url_warning)

    def test_installing_lands_on_the_wecom_settings(self):
        todo = self.env.ref("wecom_base.wecom_config_todo")
        self.assertEqual(todo.action_id.id, self.env.ref("wecom_base.wecom_config_settings_action").id)
        modules = self.env["ir.module.module"].search([("name", "in", ("wecom_base", "wecom_auth", "wecom_hr"))])
        self.assertTrue(all(module.application for module in modules if module.name in ("wecom_base", "wecom_auth")))
        self.assertEqual(len(set(modules.mapped("icon_image"))), len(modules), "each addon has its own icon")
