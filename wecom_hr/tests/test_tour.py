"""Browser tours of wecom_hr (wecom_hr/static/tests/tours/wecom_hr_tour.js) in a real headless Chromium, against
the mock WeCom; skipped, saying why, where the browser tours cannot run (see wecom_base's test_tour)."""

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, MOCK_SECRET, WeComMockMixin, WeComTourMixin

from .test_wecom_hr import DEPARTMENTS

USERS = [{"userid": "lisi", "name": "李四", "department": [2], "position": "Sales", "email": "lisi@example.com"}]


@tagged("post_install", "-at_install")
class TestWeComHrTour(WeComTourMixin, WeComMockMixin, HttpCase):
    def test_employee_follows_a_user_linked_from_the_directory(self):
        """Issue 27: Link by E-mail (Members list, nothing selected) links the member; its employee follows the
        user at once, without Sync Employees."""
        app = self.env["wecom.application"].create(
            {"app_name": "Tour Directory", "agent_id": MOCK_AGENT_ID, "secret": MOCK_SECRET, "directory_sync": True}
        )
        self.mock.set_directory(DEPARTMENTS, USERS, private_fields=True)
        app._wecom_sync_directory()
        employee = self.env["hr.employee"].search([("wecom_member_id.userid", "=", "lisi")])
        self.assertEqual(len(employee), 1)
        self.assertFalse(employee.user_id)
        user = new_test_user(self.env, login="lisi@example.com", name="HR Tour User", groups="base.group_user")
        self.start_tour("/odoo/action-wecom_base.wecom_member_action", "wecom_hr_tour_link_by_email", login="admin")
        self.env.invalidate_all()
        self.assertEqual(user.wecom_userid, "lisi")
        self.assertEqual(employee.user_id, user)
        self.start_tour(
            f"/odoo/action-hr.open_view_employee_list_my/{employee.id}", "wecom_hr_tour_employee_user", login="admin"
        )
