"""Browser tours (wecom_auth/static/tests/tours/wecom_auth_tour.js) in a headless Chromium: the login page and
the Settings section; skipped with the reason when this machine cannot run them (wecom_base's
``WeComTourMixin``)."""

from odoo.tests import HttpCase, tagged

from odoo.addons.wecom_base.tests.common import WeComTourMixin

from .common import MEMBER_USERID, WeComAuthMixin


@tagged("post_install", "-at_install")
class WeComAuthTourCase(WeComTourMixin, WeComAuthMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.trust_this_host()

    def test_login_page_button(self):
        """Nobody logged in: Log in with WeCom on /web/login, scan (the mock), back in Odoo as the member."""
        self.mock.login_as(userid=MEMBER_USERID)
        logs = self.env["res.users.log"].sudo()
        before = logs.search_count([("create_uid", "=", self.member.id)])
        with self.assertMockCalls(auth_getuserinfo=1):
            self.start_tour("/web/login", "wecom_auth_tour_login_button")
        self.assertEqual(self.mock.login_stats(), {"issued": 1, "used": 1, "pending": 0})
        self.assertEqual(logs.search_count([("create_uid", "=", self.member.id)]), before + 1, "the member logged in")

    def test_settings(self):
        """An admin (a WeCom manager) reads the status, presses Test WeCom Login, WeCom's trusted domain is read."""
        self.app.redirect_domain = False
        with self.assertMockCalls(agent_get=1, auth_getuserinfo=0):
            self.start_tour(
                "/odoo/action-wecom_base.wecom_config_settings_action", "wecom_auth_tour_settings", login="admin"
            )
        self.app.invalidate_recordset()
        self.assertTrue(self.app.redirect_domain, "read from WeCom by the test button")
        self.assertFalse(self.app._wecom_auth_domain_problem())
