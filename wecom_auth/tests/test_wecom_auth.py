"""WeCom login without HTTP: which application, the URLs, the trusted-domain check, the code exchange against
the mock WeCom, the user lookup, the one-time credential and the Settings section."""

import logging
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.exceptions import AccessDenied, UserError, ValidationError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import TransactionCase, new_test_user, tagged

from odoo.addons.wecom_base.lib import WeComApiError

from ..const import CREDENTIAL_TYPE, DEFAULT_WEB_LOGIN_URL, PARAM_WEB_LOGIN_URL
from ..controllers.main import _CallbackLogFilter, local_path
from .common import MEMBER_USERID, WeComAuthMixin


@tagged("post_install", "-at_install")
class TestWeComAuth(WeComAuthMixin, TransactionCase):
    # ------------------------------------------------------------------ which application
    def test_application_of_company(self):
        self.assertEqual(self.company._wecom_auth_application(), self.app, "the only enabled application")
        second = self.app.copy({"agent_id": 1000003, "secret": "second-secret"})
        self.assertFalse(self.company._wecom_auth_application(), "two enabled applications and none chosen")
        self.company.wecom_auth_application_id = second
        self.assertEqual(self.company._wecom_auth_application(), second)
        second.is_active = False
        self.assertFalse(self.company._wecom_auth_application(), "the chosen one is disabled: no fallback")
        self.company.wecom_auth_application_id = False
        self.assertEqual(self.company._wecom_auth_application(), self.app)
        self.company.wecom_corp_id = False
        self.assertFalse(self.company._wecom_auth_application(), "no CorpID, no login")
        self.assertNotIn(self.company, self.env["res.company"]._wecom_auth_companies())

    # ------------------------------------------------------------------ URLs
    def test_urls(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://odoo.example.com/")
        redirect_uri = "https://odoo.example.com/wecom/auth/callback"
        self.assertEqual(self.app._wecom_auth_redirect_uri(), redirect_uri)

        web = urlsplit(self.app._wecom_auth_url("s-1", in_client=False))
        self.assertEqual(f"{web.scheme}://{web.netloc}{web.path}", self.mock.url + "/wwlogin/sso/login")
        self.assertEqual(
            {k: v[0] for k, v in parse_qs(web.query).items()},
            {
                "login_type": "CorpApp",
                "appid": self.company.wecom_corp_id,
                "agentid": str(self.app.agent_id),
                "redirect_uri": redirect_uri,
                "state": "s-1",
            },
        )
        client = urlsplit(self.app._wecom_auth_url("s-2", in_client=True))
        self.assertEqual(client.path, "/connect/oauth2/authorize")
        self.assertEqual(client.fragment, "wechat_redirect")
        query = {k: v[0] for k, v in parse_qs(client.query).items()}
        self.assertEqual((query["response_type"], query["scope"], query["state"]), ("code", "snsapi_base", "s-2"))
        self.assertEqual((query["appid"], query["redirect_uri"]), (self.company.wecom_corp_id, redirect_uri))

        self.env["ir.config_parameter"].sudo().search([("key", "like", "wecom_auth.%_url")]).unlink()
        self.assertTrue(
            self.app._wecom_auth_url("s", in_client=False).startswith(
                "https://login.work.weixin.qq.com/wwlogin/sso/login?"
            )
        )
        self.assertTrue(
            self.app._wecom_auth_url("s", in_client=True).startswith(
                "https://open.weixin.qq.com/connect/oauth2/authorize?"
            )
        )

    def test_redirect_domain_check(self):
        icp = self.env["ir.config_parameter"].sudo()
        icp.set_param("web.base.url", "https://odoo.example.com")
        self.app.redirect_domain = False
        self.assertIn("does not know the trusted domain", self.app._wecom_auth_domain_problem())
        self.app.redirect_domain = "odoo.example.com"
        self.assertFalse(self.app._wecom_auth_domain_problem())
        self.app.redirect_domain = "ODOO.example.com"
        self.assertFalse(self.app._wecom_auth_domain_problem(), "host names are case-insensitive")
        self.app.redirect_domain = "erp.example.com"
        problem = self.app._wecom_auth_domain_problem()
        self.assertIn("erp.example.com", problem)
        self.assertIn("odoo.example.com", problem)
        icp.set_param("web.base.url", "http://odoo.example.com:8069")
        self.app.redirect_domain = "odoo.example.com:8070"
        self.assertIn("odoo.example.com:8069", self.app._wecom_auth_domain_problem())
        self.app.redirect_domain = "odoo.example.com:8069"
        self.assertFalse(self.app._wecom_auth_domain_problem())
        icp.set_param("web.base.url", "localhost")
        self.assertIn("web.base.url", self.app._wecom_auth_domain_problem())

    # ------------------------------------------------------------------ code exchange and user lookup
    def test_identity_of_member_and_non_member(self):
        code = self.mock.login_code(userid=MEMBER_USERID)
        with self.assertMockCalls(gettoken=1, auth_getuserinfo=1):
            self.assertEqual(self.app._wecom_auth_identity(code), {"userid": MEMBER_USERID})
        with self.assertMockCalls(gettoken=0, auth_getuserinfo=1):
            self.assertEqual(self.app._wecom_auth_identity(self.mock.login_code(openid="oX")), {"openid": "oX"})
        with self.assertRaises(WeComApiError) as caught, self.assertMockCalls(auth_getuserinfo=1):
            self.app._wecom_auth_identity(code)
        self.assertEqual(caught.exception.errcode, 40029, "a code works once")
        message = self.app._wecom_auth_error_message(caught.exception, code)
        self.assertIn("not valid any more", message)
        self.assertNotIn(code, message)

    def test_error_message_never_holds_the_code(self):
        self.mock.add_fault(path="/cgi-bin/auth/getuserinfo", errcode=48002, errmsg="api forbidden")
        code = self.mock.login_code(userid=MEMBER_USERID)
        with self.assertRaises(WeComApiError) as caught:
            self.app._wecom_auth_identity(code)
        message = self.app._wecom_auth_error_message(caught.exception, code)
        self.assertIn("48002", message)
        self.assertNotIn(code, message)
        self.assertNotIn(code, self.app._wecom_auth_error_message(ValueError(f"GET /x?code={code}"), code))

    def test_find_user(self):
        find = self.app._wecom_auth_find_user
        self.assertEqual(find(MEMBER_USERID), self.member)
        self.assertEqual(find(MEMBER_USERID.lower()), self.member, "WeCom user ids are case-insensitive")
        self.assertFalse(find("ZhangXSan"), "an underscore is not a wildcard")
        self.assertFalse(find("Zhang%"), "nor is a percent sign")
        self.assertFalse(find("Zhang"))
        other_company = self.env["res.company"].create({"name": "Other Co", "wecom_corp_id": "wwother000000001"})
        outsider = new_test_user(
            self.env, login="wecom_auth_outsider", company_id=other_company.id, company_ids=[other_company.id]
        )
        outsider.wecom_userid = "lisi"
        self.assertFalse(find("lisi"), "a user of another company is not found")
        self.member.active = False
        self.assertEqual(find(MEMBER_USERID), self.member, "archived users are found (to say so)")
        self.assertFalse(find(MEMBER_USERID).active)

    # ------------------------------------------------------------------ one-time credential
    def test_credential_is_single_use(self):
        Credential = self.env["wecom.auth.credential"]
        token = Credential._wecom_issue(self.member)
        self.assertNotIn(token, Credential.search([]).mapped("token_hash"), "only the hash is stored")
        credential = {"type": CREDENTIAL_TYPE, "login": self.member.login, "token": token}
        member = self.member.with_user(self.member)
        with self.assertRaises(AccessDenied):
            member._check_credentials(credential, {"interactive": False})
        auth_info = member._check_credentials(credential, {"interactive": True})
        self.assertEqual(auth_info, {"uid": self.member.id, "auth_method": "wecom", "mfa": "default"})
        with self.assertRaises(AccessDenied):
            member._check_credentials(credential, {"interactive": True})

    def test_credential_refused(self):
        Credential = self.env["wecom.auth.credential"]
        other = new_test_user(self.env, login="wecom_auth_other", groups="base.group_user")
        token = Credential._wecom_issue(self.member)
        credential = {"type": CREDENTIAL_TYPE, "login": other.login, "token": token}
        with self.assertRaises(AccessDenied):
            other.with_user(other)._check_credentials(credential, {"interactive": True})
        with self.assertRaises(AccessDenied):
            self.member.with_user(self.member)._check_credentials(
                {"type": "password", "login": self.member.login, "token": token}, {"interactive": True}
            )
        later = fields.Datetime.now() + timedelta(seconds=61)
        with patch.object(fields.Datetime, "now", return_value=later), self.assertRaises(AccessDenied):
            self.member.with_user(self.member)._check_credentials(
                {"type": CREDENTIAL_TYPE, "login": self.member.login, "token": token}, {"interactive": True}
            )
        with patch.object(fields.Datetime, "now", return_value=later):
            Credential._wecom_issue(self.member)
        self.assertEqual(Credential.search_count([("user_id", "=", self.member.id)]), 1, "expired ones dropped")

    def test_neutralize_drops_pending_credentials(self):
        self.env["wecom.auth.credential"]._wecom_issue(self.member)
        self.env.flush_all()
        for query in get_neutralization_queries(["wecom_auth"]):
            self.env.cr.execute(query)
        self.assertFalse(self.env["wecom.auth.credential"].search([]))

    # ------------------------------------------------------------------ redirect and logs
    def test_local_path(self):
        for good in ("/odoo", "/odoo/action-12?x=1#frag", "/shop/cart"):
            self.assertEqual(local_path(good), good)
        for bad in (
            None,
            "",
            "odoo",
            "https://evil.example.com/",
            "//evil.example.com/x",
            "/\\evil.example.com",
            "/odoo\r\nSet-Cookie: x=1",
            "javascript:alert(1)",
            "/" + "x" * 3000,
            ["/odoo"],
        ):
            self.assertIsNone(local_path(bad), bad)

    def test_callback_request_lines_are_masked(self):
        record = logging.LogRecord(
            "werkzeug",
            logging.INFO,
            __file__,
            1,
            '%s - - "%s" %s',
            ("127.0.0.1", "GET /wecom/auth/callback?code=SECRETCODE&state=SECRETSTATE HTTP/1.1", 303),
            None,
        )
        self.assertTrue(_CallbackLogFilter().filter(record))
        self.assertNotIn("SECRET", record.getMessage())
        self.assertIn("/wecom/auth/callback?code=***&state=***", record.getMessage())
        self.assertIn(
            _CallbackLogFilter, [type(f) for f in logging.getLogger("werkzeug").filters], "installed on werkzeug"
        )

    # ------------------------------------------------------------------ settings
    def test_settings_status(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://odoo.example.com")
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.wecom_auth_effective_application_id, self.app)
        self.assertEqual(settings.wecom_auth_redirect_uri, "https://odoo.example.com/wecom/auth/callback")
        self.assertFalse(settings.wecom_auth_ready)
        self.assertIn("does not know the trusted domain", settings.wecom_auth_status)
        self.assertTrue(settings.wecom_auth_auto_login, "silent login is on by default")

        with self.assertMockCalls(gettoken=1, agent_get=1):
            action = settings.action_wecom_auth_test()
        self.assertEqual(self.app.redirect_domain, "odoo.example.com", "read from WeCom (the mock's default)")
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["title"], "WeCom login is ready")
        message = action["params"]["message"]
        self.assertIn("odoo.example.com", message)
        self.assertIn(self.app._wecom_auth_redirect_uri(), message)
        self.assertNotIn("login_type", message, "one sentence, not the login pages' URLs")
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.wecom_auth_ready, settings.wecom_auth_status)

        self.mock.add_app(self.company.wecom_corp_id, self.app.sudo().secret, self.app.agent_id, redirect_domain="x.cn")
        self.mock.revoke_tokens()  # the mock's tokens keep the application as it was when they were issued
        action = settings.action_wecom_auth_test()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(action["params"]["title"], "WeCom login is not ready")
        self.assertIn("x.cn", action["params"]["message"])

        self.app.copy({"agent_id": 1000004, "secret": "other-secret"})
        settings = self.env["res.config.settings"].create({})
        self.assertFalse(settings.wecom_auth_effective_application_id)
        self.assertIn("2 enabled applications", settings.wecom_auth_status)
        with self.assertRaises(UserError):
            settings.action_wecom_auth_test()

    def test_settings_login_pages(self):
        """The login pages' addresses are set in Settings (a private WeCom or a proxy), checked before they are
        stored, and empty means WeCom's own."""
        icp = self.env["ir.config_parameter"].sudo()
        settings = self.env["res.config.settings"].create(
            {"wecom_auth_web_login_url": " https://sso.example.cn/login "}
        )
        settings.execute()
        self.assertEqual(icp.get_param(PARAM_WEB_LOGIN_URL), "https://sso.example.cn/login")
        self.assertTrue(self.app._wecom_auth_url("S", in_client=False).startswith("https://sso.example.cn/login?"))
        for bad in (
            "sso.example.cn/login",
            "http://sso.example.cn/login",
            "https://sso.example.cn/login?next=1",
            "https://sso.example.cn/login#x",
            "javascript:alert(1)",
        ):
            with self.subTest(url=bad), self.assertRaises(ValidationError):
                self.env["res.config.settings"].create({"wecom_auth_web_login_url": bad}).execute()
            self.assertEqual(icp.get_param(PARAM_WEB_LOGIN_URL), "https://sso.example.cn/login", "nothing stored")
        self.env["res.config.settings"].create({"wecom_auth_web_login_url": False}).execute()
        self.assertFalse(icp.get_param(PARAM_WEB_LOGIN_URL))
        self.assertTrue(self.app._wecom_auth_url("S", in_client=False).startswith(DEFAULT_WEB_LOGIN_URL + "?"))

    def test_settings_test_button_reports_wecom_errors(self):
        self.mock.add_fault(path="/cgi-bin/gettoken", errcode=40001, errmsg="invalid credential")
        settings = self.env["res.config.settings"].create({})
        with self.assertRaises(UserError) as caught:
            settings.action_wecom_auth_test()
        self.assertIn("40001", str(caught.exception))
        self.assertNotIn(self.app.sudo().secret, str(caught.exception))
