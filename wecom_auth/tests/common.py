"""Fixtures of the wecom_auth tests: a company whose one application logs members in, against the mock WeCom."""

from odoo.tests import new_test_user

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, MOCK_CORP_ID, MOCK_SECRET, WeComCase, WeComMockMixin

from ..const import PARAM_OAUTH_AUTHORIZE_URL, PARAM_WEB_LOGIN_URL

MEMBER_USERID = "Zhang_San"  # an underscore: a LIKE wildcard that must not match "ZhangXSan"


class WeComAuthMixin(WeComMockMixin):
    """``cls.app`` (the company's only enabled application), ``cls.member`` (an internal user whose WeCom User
    ID is ``MEMBER_USERID``); WeCom's two login pages point at the mock, whose copy of the application has
    this database's host as trusted domain (``trust_this_host``)."""

    assertMockCalls = WeComCase.assertMockCalls

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param(PARAM_WEB_LOGIN_URL, cls.mock.url + "/wwlogin/sso/login")
        icp.set_param(PARAM_OAUTH_AUTHORIZE_URL, cls.mock.url + "/connect/oauth2/authorize")
        # the test database may hold other applications (demo, other tests): this company has one
        cls.env["wecom.application"].sudo().search([("company_id", "=", cls.company.id)]).is_active = False
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Odoo Login",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "company_id": cls.company.id,
            }
        )
        cls.member = new_test_user(cls.env, login="wecom_auth_member", name="Zhang San", groups="base.group_user")
        cls.member.wecom_userid = MEMBER_USERID

    def trust_this_host(self, domain=None):
        """Give the mock's application (the one of ``cls.app``) ``domain`` (this database's host) as trusted
        domain, as an admin does in the WeCom admin console."""
        if domain is None:
            base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
            domain = base_url.split("://", 1)[-1].rstrip("/")
        self.mock.add_app(MOCK_CORP_ID, MOCK_SECRET, MOCK_AGENT_ID, redirect_domain=domain)
