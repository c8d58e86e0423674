"""Browser tour of the WeCom dashboard (wecom_base/static/tests/tours/wecom_dashboard_tour.js)."""

from odoo.tests import HttpCase, tagged

from .common import MOCK_AGENT_ID, MOCK_SECRET, WeComMockMixin, WeComTourMixin


@tagged("post_install", "-at_install")
class WeComDashboardTourCase(WeComTourMixin, WeComMockMixin, HttpCase):
    def test_dashboard_retry_all(self):
        """The WeCom app opens on the dashboard; Retry all queues the failed message, the outbox sends it."""
        app = self.env["wecom.application"].create(
            {
                "app_name": "Odoo Notifications",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "company_id": self.env.company.id,
            }
        )
        message = self.env["wecom.message"].create(
            {"application_id": app.id, "to_userids": "zhangsan", "content": "Retried from the dashboard"}
        )
        message.write({"state": "exception", "failure_type": "unknown", "failure_reason": "WeCom was down"})
        menu = self.env.ref("wecom_base.menu_wecom_root")
        self.start_tour(f"/odoo?menu_id={menu.id}", "wecom_base_tour_dashboard", login="admin")
        message.invalidate_recordset()
        self.assertEqual(message.state, "outgoing")
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual(message.state, "sent")
        received = self.mock.messages()
        self.assertEqual(len(received), 1)
        self.assertEqual(received[0]["payload"]["text"]["content"], "Retried from the dashboard")
