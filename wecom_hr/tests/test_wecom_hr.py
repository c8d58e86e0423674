"""wecom_hr: HR departments and employees follow the WeCom directory mirror."""

import time

from odoo.tests import new_test_user, tagged

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, MOCK_CORP_ID, WeComCase, WeComNoWriteMixin

DEPARTMENTS = [
    {"id": 1, "name": "Company", "parentid": 0, "order": 100},
    {"id": 2, "name": "Sales", "parentid": 1, "order": 20},
    {"id": 3, "name": "East", "parentid": 2, "order": 5},
]
USERS = [
    {"userid": "zhangsan", "name": "张三", "department": [3, 2], "position": "Sales Lead"},
    {"userid": "lisi", "name": "李四", "department": [2], "position": "Sales"},
]


@tagged("post_install", "-at_install")
class TestWeComHr(WeComNoWriteMixin, WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app.directory_sync = True

    def setUp(self):
        super().setUp()
        self.mock.set_directory(DEPARTMENTS, USERS)

    def hr_department(self, wecom_id):
        return (
            self.env["hr.department"]
            .with_context(active_test=False)
            .search([("wecom_department_id.wecom_id", "=", wecom_id), ("company_id", "=", self.company.id)])
        )

    def employee(self, userid):
        return (
            self.env["hr.employee"]
            .with_context(active_test=False)
            .search([("wecom_member_id.userid", "=", userid), ("company_id", "=", self.company.id)])
        )

    def test_sync_builds_the_hr_tree_and_employees(self):
        user = new_test_user(self.env, login="hr_zhangsan", groups="base.group_user")
        user.wecom_userid = "zhangsan"
        self.app._wecom_sync_directory()
        east = self.hr_department(3)
        self.assertEqual(east.complete_name, "Company / Sales / East")
        self.assertEqual(east.parent_id, self.hr_department(2))
        zhangsan = self.employee("zhangsan")
        self.assertEqual((zhangsan.name, zhangsan.job_title), ("张三", "Sales Lead"))
        self.assertEqual(zhangsan.department_id, east, "the main department (WeCom's first)")
        self.assertEqual(zhangsan.user_id, user)
        self.assertEqual(zhangsan.work_contact_id, user.partner_id)
        lisi = self.employee("lisi")
        self.assertFalse(lisi.user_id)
        self.assertTrue(lisi.work_contact_id, "hr creates a work contact for an employee without user")

    def test_changes_follow_and_unchanged_writes_nothing(self):
        self.app._wecom_sync_directory()
        lisi = self.employee("lisi")
        self.mock.change_directory(users=[{"userid": "zhangsan", "position": "Head of Sales"}])
        self.app._wecom_sync_directory()
        self.assertEqual(self.employee("zhangsan").job_title, "Head of Sales")
        with self.assertNoWrites("an unchanged directory writes no HR record either"):
            self.app._wecom_sync_directory()
        with self.assertNoWrites("Sync Employees of an unchanged mirror writes nothing"):
            self.app.action_sync_hr()
        self.mock.change_directory(
            departments=[{"id": 2, "name": "Sales & Marketing"}, {"id": 3, "parentid": 1}],
            users=[{"userid": "lisi", "position": "Sales Manager", "department": [3]}],
            delete_users=["zhangsan"],
        )
        self.app._wecom_sync_directory()
        self.assertEqual(self.hr_department(2).name, "Sales & Marketing")
        self.assertEqual(self.hr_department(3).parent_id, self.hr_department(1))
        self.assertEqual((lisi.job_title, lisi.department_id), ("Sales Manager", self.hr_department(3)))
        self.assertFalse(self.employee("zhangsan").active, "a member gone from WeCom archives its employee")

    def test_existing_employee_of_the_user_is_adopted(self):
        user = new_test_user(self.env, login="hr_lisi", groups="base.group_user")
        employee = self.env["hr.employee"].create({"name": "Li Si", "user_id": user.id, "company_id": self.company.id})
        user.wecom_userid = "lisi"
        self.app._wecom_sync_directory()
        self.assertEqual(self.employee("lisi"), employee)
        self.assertEqual(employee.name, "李四")

    def test_employee_follows_the_user_at_once(self):
        """Linking a member to a user (a WeCom User ID set on the user) links its employee at once, without
        Sync Employees."""
        self.app._wecom_sync_directory()
        lisi = self.employee("lisi")
        self.assertFalse(lisi.user_id)
        user = new_test_user(self.env, login="hr_lisi_now", groups="base.group_user")
        user.wecom_userid = "lisi"
        self.assertEqual(lisi.user_id, user)
        user.wecom_userid = False
        self.assertEqual(lisi.user_id, user, "unlinking the member leaves the employee's user to a manager")

    def test_employee_follows_the_user_whose_wecom_userid_changes(self):
        """A user's WeCom User ID moves from one member to another: the employees follow the link at once and the
        nightly sync keeps working (it failed every night with "A user cannot be linked to multiple
        employees")."""
        user = new_test_user(self.env, login="hr_moves", groups="base.group_user")
        user.wecom_userid = "zhangsan"
        self.app._wecom_sync_directory()
        zhangsan, lisi = self.employee("zhangsan"), self.employee("lisi")
        self.assertEqual((zhangsan.user_id, lisi.user_id), (user, self.env["res.users"]))
        user.wecom_userid = "lisi"
        self.assertEqual((zhangsan.user_id, lisi.user_id), (self.env["res.users"], user))
        self.app._wecom_sync_directory()  # the nightly sync
        self.app.action_sync_hr()
        self.assertEqual(self.employee("lisi").user_id, user)
        self.assertEqual(
            self.env["hr.employee"].with_context(active_test=False).search_count([("user_id", "=", user.id)]), 1
        )

    def test_employee_of_the_user_follows_to_a_member_without_one(self):
        user = new_test_user(self.env, login="hr_follows", groups="base.group_user")
        user.wecom_userid = "zhangsan"
        self.app._wecom_sync_directory()
        employee = self.employee("zhangsan")
        self.mock.change_directory(users=[{"userid": "wangwu", "name": "王五", "department": [2]}])
        self.app._wecom_sync_directory()
        self.employee("wangwu").unlink()
        user.wecom_userid = "wangwu"
        self.assertEqual(self.employee("wangwu"), employee, "the user's employee follows the user")
        self.assertEqual((employee.user_id, employee.name), (user, "王五"))
        self.app._wecom_sync_directory()
        self.assertEqual(self.employee("wangwu"), employee)

    def test_position_is_text_never_markup(self):
        """A WeCom position such as ``<img src=x>`` stays text wherever Odoo copies the job title into HTML (18.0's
        hr_skills: the first resume line). Runs where hr_skills is installed."""
        self.mock.change_directory(users=[{"userid": "lisi", "position": "<img src=x onerror=alert(1)>"}])
        self.app._wecom_sync_directory()
        employee = self.employee("lisi")
        self.assertEqual(employee.job_title, "<img src=x onerror=alert(1)>")
        if "resume_line_ids" not in employee._fields:
            self.skipTest("hr_skills is not installed: no HTML copy of the job title")
        for description in filter(None, employee.resume_line_ids.mapped("description")):  # 18.0: the job title
            self.assertNotIn("<img", description)
            self.assertIn("&lt;img", description)

    def test_catch_up_button_and_callback(self):
        self.app._wecom_sync_directory()
        self.env["hr.employee"].with_context(active_test=False).search([("wecom_member_id", "!=", False)]).write(
            {"wecom_member_id": False}
        )
        self.app.action_sync_hr()
        self.assertTrue(self.employee("lisi"))
        callback = self.env["wecom.callback"].create(
            {
                "application_id": self.app.id,
                "callback_token": "HrTok1",
                "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            }
        )
        xml = (
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType>"
            f"<UserID><![CDATA[lisi]]></UserID><Position><![CDATA[Director]]></Position><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )
        Event = self.env["wecom.callback.event"]
        event_id, _reply = Event._wecom_store(callback, xml.encode())
        Event.browse(event_id).action_process_now()
        self.assertEqual(Event.browse(event_id).state, "done")
        self.assertEqual(self.employee("lisi").job_title, "Director")
