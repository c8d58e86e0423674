from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .. import compat
from .common import MOCK_SECRET, WeComCase


@tagged("post_install", "-at_install")
class TestWeComSecurity(WeComCase):
    def test_groups(self):
        manager_group = self.env.ref("wecom_base.group_wecom_manager")
        user_group = self.env.ref("wecom_base.group_wecom_user")
        self.assertIn(user_group, manager_group.implied_ids)
        self.assertIn(self.env.ref("base.user_admin"), manager_group[compat.GROUP_USERS])
        category = self.env.ref("wecom_base.module_category_wecom")
        for group in (user_group, manager_group):  # 18.0: the category; 19.0: a privilege of the category
            owner = group[compat.GROUP_CATEGORY]
            self.assertEqual(owner if owner._name == "ir.module.category" else owner.category_id, category)
        new_user = self.env["res.users"].create({"name": "Newcomer", "login": "wecom_newcomer"})
        self.assertFalse(new_user.has_group("wecom_base.group_wecom_user"))

    def test_plain_user_has_no_access(self):
        app = self.app.with_user(self.user_plain)
        with self.assertRaises(AccessError):
            app.read(["name"])
        with self.assertRaises(AccessError):
            self.env["wecom.application"].with_user(self.user_plain).search([])
        with self.assertRaises(AccessError):
            app.get_access_token()
        with self.assertRaises(AccessError):
            app.get_wecom_config()

    def test_wecom_user_reads_no_secret(self):
        app = self.app.with_user(self.user_wecom)
        self.assertEqual(app.read(["name", "agent_id"])[0]["agent_id"], self.app.agent_id)
        for field in ("secret", "access_token"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                app.read([field])
            with self.subTest(field=field), self.assertRaises(AccessError):
                self.env["wecom.application"].with_user(self.user_wecom).search_read([], [field])
        self.assertNotIn("secret", app.fields_get())
        self.assertNotIn("access_token", app.fields_get())
        self.user_wecom.write({compat.USER_GROUPS: [Command.link(self.env.ref("base.group_allow_export").id)]})
        exported = app.export_data(["name", "agent_id"])["datas"]
        self.assertNotIn(MOCK_SECRET, str(exported))
        with self.assertRaises(AccessError):
            app.export_data(["secret"])
        with self.assertRaises(AccessError):
            app.get_access_token()
        with self.assertWeComWarning("write of wecom.application failed"), self.assertRaises(AccessError):
            app.write({"app_name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["wecom.application.token"].with_user(self.user_wecom).search([])
        with self.assertRaises(AccessError):
            app.refresh_app_info()
        with self.assertRaises(AccessError):
            app.action_test_connection()

    def test_manager_reads_secret_and_token(self):
        app = self.app.with_user(self.user_manager)
        self.assertEqual(app.read(["secret"])[0]["secret"], MOCK_SECRET)
        token = app.get_access_token()
        self.assertEqual(app.read(["access_token"])[0]["access_token"], token)
        app.write({"app_name": "Renamed"})
        self.assertEqual(self.app.app_name, "Renamed")

    def test_multi_company(self):
        other_company = self.env["res.company"].create({"name": "Other Co", "wecom_corp_id": "ww0000000000other"})
        other_app = self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000002, "secret": "x-secret", "company_id": other_company.id}
        )
        visible = self.env["wecom.application"].with_user(self.user_wecom).search([])
        self.assertIn(self.app, visible)
        self.assertNotIn(other_app, visible)
        with self.assertRaises(AccessError):
            other_app.with_user(self.user_wecom).read(["name"])
