"""Both routes over HTTP, as a browser and WeCom use them: the login page, /wecom/auth/login, WeCom's page
(the mock's, which sends the browser back with a code) and /wecom/auth/callback."""

import logging
import time
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import parse_qs, urlencode, urlsplit

from lxml import html

from odoo.tests import HttpCase, new_test_user, tagged

from .common import MEMBER_USERID, WeComAuthMixin

CONTROLLER_LOGGER = "odoo.addons.wecom_auth.controllers.main"
WECOM_CLIENT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
)


@tagged("post_install", "-at_install")
class TestWeComAuthHttp(WeComAuthMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.trust_this_host()

    # ------------------------------------------------------------------ helpers
    def get(self, path, user_agent=None, **params):
        url = self.base_url() + path + (f"?{urlencode(params)}" if params else "")
        headers = {"User-Agent": user_agent} if user_agent else {}
        return self.opener.get(url, headers=headers, allow_redirects=False, timeout=20)

    def start(self, user_agent=None, **params):
        """GET /wecom/auth/login: the WeCom page it sends the browser to, and the state in it."""
        response = self.get("/wecom/auth/login", user_agent=user_agent, **params)
        self.assertEqual(response.status_code, 303, response.text[:500])
        location = urlsplit(response.headers["Location"])
        return location, {k: v[0] for k, v in parse_qs(location.query).items()}

    def callback(self, code, state):
        params = {k: v for k, v in {"code": code, "state": state}.items() if v is not None}
        return self.get("/wecom/auth/callback", **params)

    @contextmanager
    def another_browser(self):
        """Requests from a browser without this one's Odoo session (the opener keeps the test framework's
        own cookies, which 19.0 requires)."""
        saved = self.opener.cookies.get("session_id")
        self.opener.cookies.pop("session_id", None)
        try:
            yield
        finally:
            self.opener.cookies.pop("session_id", None)
            if saved:
                self.opener.cookies.set("session_id", saved)

    def logged_in_uid(self):
        response = self.opener.post(self.base_url() + "/web/session/get_session_info", json={"params": {}}, timeout=20)
        return response.json().get("result", {}).get("uid")

    def assertRefused(self, response, reason, status):
        self.assertEqual(response.status_code, status, response.text[:500])
        page = html.fromstring(response.content)
        self.assertEqual(page.xpath("//div[hasclass('o_wecom_auth_error')]/@data-reason"), [reason])
        self.assertFalse(self.logged_in_uid(), "nobody is logged in")
        return " ".join(page.xpath("//p[hasclass('alert')]//text()")).strip()

    def login_logs(self, user):
        return self.env["res.users.log"].sudo().search_count([("create_uid", "=", user.id)])

    # ------------------------------------------------------------------ the good path
    def test_member_logs_in_on_the_web(self):
        location, query = self.start(redirect="/odoo/action-base.action_res_users")
        self.assertEqual(f"{location.scheme}://{location.netloc}{location.path}", self.mock.url + "/wwlogin/sso/login")
        self.assertEqual(query["redirect_uri"], self.base_url() + "/wecom/auth/callback")
        self.assertGreaterEqual(len(query["state"]), 40, "a random state")
        sid_before = self.opener.cookies.get("session_id")
        logs_before = self.login_logs(self.member)

        code = self.mock.login_code(userid=MEMBER_USERID)
        with self.assertMockCalls(auth_getuserinfo=1):
            response = self.callback(code, query["state"])
        self.assertEqual(response.status_code, 303, response.text[:500])
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/odoo/action-base.action_res_users")
        self.assertEqual(self.logged_in_uid(), self.member.id)
        self.assertNotEqual(self.opener.cookies.get("session_id"), sid_before, "the session id is rotated")
        self.assertEqual(self.login_logs(self.member), logs_before + 1, "the login is logged like a password one")
        self.assertFalse(self.env["wecom.auth.credential"].sudo().search([]), "the credential is used up")

    def test_whole_flow_through_the_wecom_page(self):
        """Follow the redirects: Odoo -> WeCom's page (mock, the member "scans") -> Odoo callback -> /odoo."""
        self.mock.login_as(userid=MEMBER_USERID)
        response = self.opener.get(self.base_url() + "/wecom/auth/login?redirect=/odoo", timeout=30)
        self.assertEqual([r.status_code for r in response.history], [303, 302, 303])
        self.assertEqual(urlsplit(response.url).path, "/odoo")
        self.assertEqual(self.logged_in_uid(), self.member.id)

    def test_two_factor_authentication_still_asked(self):
        if "totp_secret" not in self.env["res.users"]._fields:
            self.skipTest("auth_totp is not installed")
        self.env.cr.execute("UPDATE res_users SET totp_secret = %s WHERE id = %s", ["JBSWY3DPEHPK3PXP", self.member.id])
        self.member.invalidate_recordset()
        _location, query = self.start(redirect="/odoo/discuss")
        response = self.callback(self.mock.login_code(userid=MEMBER_USERID), query["state"])
        self.assertEqual(response.status_code, 303)
        location = urlsplit(response.headers["Location"])
        self.assertEqual(location.path, "/web/login/totp", "WeCom proves who the member is, not the second factor")
        self.assertEqual(parse_qs(location.query)["redirect"], ["/odoo/discuss"])
        self.assertFalse(self.logged_in_uid(), "a half-open session until the code is typed")

    def test_wecom_client_gets_the_silent_page(self):
        location, query = self.start(user_agent=WECOM_CLIENT_UA)
        self.assertEqual(location.path, "/connect/oauth2/authorize")
        self.assertEqual(location.fragment, "wechat_redirect")
        self.assertEqual((query["scope"], query["response_type"]), ("snsapi_base", "code"))
        response = self.callback(self.mock.login_code(userid=MEMBER_USERID.upper()), query["state"])
        self.assertEqual(response.status_code, 303)
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/odoo", "no redirect asked: the web client")
        self.assertEqual(self.logged_in_uid(), self.member.id)

    # ------------------------------------------------------------------ state
    def test_reused_state_logs_nobody_in(self):
        _location, query = self.start()
        self.assertEqual(self.callback(self.mock.login_code(userid=MEMBER_USERID), query["state"]).status_code, 303)
        self.assertEqual(self.logged_in_uid(), self.member.id)
        self.opener.get(self.base_url() + "/web/session/logout", timeout=20)
        self.assertFalse(self.logged_in_uid())
        with self.assertMockCalls(auth_getuserinfo=0):
            response = self.callback(self.mock.login_code(userid=MEMBER_USERID), query["state"])
        self.assertIn("already used", self.assertRefused(response, "bad_state", 400))

    def test_wrong_missing_foreign_and_expired_state(self):
        _location, query = self.start()
        code = self.mock.login_code(userid=MEMBER_USERID)
        with self.assertMockCalls(auth_getuserinfo=0):
            self.assertRefused(self.callback(code, "forged-state"), "bad_state", 400)
            self.assertRefused(self.callback(code, None), "missing_state", 400)
            with self.another_browser():
                self.assertRefused(self.callback(code, query["state"]), "bad_state", 400)
            with patch("odoo.addons.wecom_auth.controllers.main.time.time", return_value=time.time() + 601):
                self.assertRefused(self.callback(code, query["state"]), "bad_state", 400)
        # the expired state was used up by that attempt as well
        self.assertRefused(self.callback(code, query["state"]), "bad_state", 400)

    def test_several_pending_logins_per_session(self):
        states = [self.start()[1]["state"] for _ in range(6)]
        self.assertRefused(self.callback(self.mock.login_code(userid="x"), states[0]), "bad_state", 400)
        response = self.callback(self.mock.login_code(userid=MEMBER_USERID), states[-1])
        self.assertEqual(response.status_code, 303, "the newest five are kept")

    # ------------------------------------------------------------------ who
    def test_unmapped_member(self):
        _location, query = self.start()
        message = self.assertRefused(
            self.callback(self.mock.login_code(userid="wangwu"), query["state"]), "no_user", 403
        )
        self.assertIn("wangwu", message)

    def test_non_member(self):
        _location, query = self.start()
        response = self.callback(self.mock.login_code(openid="oNonMember123"), query["state"])
        self.assertIn("not a member", self.assertRefused(response, "not_member", 403))

    def test_archived_user(self):
        self.member.active = False
        _location, query = self.start()
        response = self.callback(self.mock.login_code(userid=MEMBER_USERID), query["state"])
        self.assertIn("archived", self.assertRefused(response, "archived", 403))
        self.assertFalse(self.env["wecom.auth.credential"].sudo().search([]))

    def test_user_of_another_company(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        new_test_user(
            self.env, login="wecom_auth_elsewhere", company_id=other.id, company_ids=[other.id]
        ).wecom_userid = "lisi"
        _location, query = self.start()
        self.assertRefused(self.callback(self.mock.login_code(userid="lisi"), query["state"]), "no_user", 403)

    # ------------------------------------------------------------------ WeCom errors
    def test_used_code_and_wecom_errors(self):
        _location, query = self.start()
        code = self.mock.login_code(userid=MEMBER_USERID)
        self.mock.add_fault(path="/cgi-bin/auth/getuserinfo", errcode=40029, errmsg="invalid code")
        with self.assertWeComWarning("refused by WeCom", logger=CONTROLLER_LOGGER) as logs:
            message = self.assertRefused(self.callback(code, query["state"]), "wecom_error", 200)
        self.assertIn("not valid any more", message)
        self.assertNotIn(code, message)
        self.assertNotIn(code, "\n".join(logs.output))

        _location, query = self.start()
        self.mock.add_fault(path="/cgi-bin/auth/getuserinfo", status=502)
        with self.assertWeComWarning("HTTP 502", logger=CONTROLLER_LOGGER):
            self.assertRefused(self.callback(code, query["state"]), "wecom_error", 200)

        _location, query = self.start()
        self.assertRefused(self.callback("", query["state"]), "no_code", 400)

    def test_not_configured(self):
        self.app.is_active = False
        response = self.get("/wecom/auth/login")
        self.assertRefused(response, "not_configured", 404)
        self.assertNotIn("o_wecom_auth_button", self.get("/web/login").text)

    def test_application_disabled_meanwhile(self):
        _location, query = self.start()
        self.app.is_active = False
        response = self.callback(self.mock.login_code(userid=MEMBER_USERID), query["state"])
        self.assertRefused(response, "not_configured", 404)

    # ------------------------------------------------------------------ redirect
    def test_redirect_to_another_site_is_not_followed(self):
        for bad in ("https://evil.example.com/x", "//evil.example.com/x", "/\\evil.example.com"):
            self.opener.get(self.base_url() + "/web/session/logout", timeout=20)
            _location, query = self.start(redirect=bad)
            response = self.callback(self.mock.login_code(userid=MEMBER_USERID), query["state"])
            self.assertEqual(response.status_code, 303)
            location = urlsplit(response.headers["Location"])
            self.assertIn(location.netloc, ("", urlsplit(self.base_url()).netloc), bad)
            self.assertEqual(location.path, "/odoo", bad)

    # ------------------------------------------------------------------ login page
    def test_login_page_button(self):
        page = html.fromstring(self.get("/web/login", redirect="/odoo/discuss").content)
        hrefs = page.xpath("//a[hasclass('o_wecom_auth_button')]/@href")
        self.assertEqual(hrefs, ["/wecom/auth/login?redirect=%2Fodoo%2Fdiscuss"])
        page = html.fromstring(self.get("/web/login", redirect="https://evil.example.com").content)
        self.assertEqual(page.xpath("//a[hasclass('o_wecom_auth_button')]/@href"), ["/wecom/auth/login"])

    def test_login_page_in_wecom_client_goes_straight_to_wecom(self):
        response = self.get("/web/login", user_agent=WECOM_CLIENT_UA, redirect="/odoo/discuss")
        self.assertEqual(response.status_code, 303)
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/wecom/auth/login")
        self.assertEqual(parse_qs(urlsplit(response.headers["Location"]).query), {"redirect": ["/odoo/discuss"]})
        # coming back to use a password, or with the setting off: the page itself
        self.assertEqual(self.get("/web/login", user_agent=WECOM_CLIENT_UA, wecom_auto="0").status_code, 200)
        self.company.wecom_auth_auto_login = False
        response = self.get("/web/login", user_agent=WECOM_CLIENT_UA)
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_wecom_auth_button", response.text)

    def test_several_companies(self):
        other = self.env["res.company"].create({"name": "Second Co", "wecom_corp_id": "wwsecond00000001"})
        second_app = self.env["wecom.application"].create(
            {"app_name": "Second Login", "agent_id": 1000007, "secret": "second-secret", "company_id": other.id}
        )
        page = html.fromstring(self.get("/web/login").content)
        labels = [" ".join(a.text_content().split()) for a in page.xpath("//a[hasclass('o_wecom_auth_button')]")]
        self.assertEqual(len(labels), 2)
        self.assertIn("Log in with WeCom (Second Co)", labels)
        location, query = self.start(company_id=str(other.id))
        self.assertEqual((query["appid"], query["agentid"]), ("wwsecond00000001", str(second_app.agent_id)))
        self.assertRefused(self.get("/wecom/auth/login", company_id="x"), "not_configured", 404)

    # ------------------------------------------------------------------ logs
    def test_nothing_secret_in_logs(self):
        with self.assertLogs(level=logging.DEBUG) as logs:
            logging.getLogger("odoo.addons.wecom_auth").info("log capture on")  # assertLogs needs one line
            _location, query = self.start(redirect="/odoo")
            code = self.mock.login_code(userid=MEMBER_USERID)
            self.assertEqual(self.callback(code, query["state"]).status_code, 303)
            _location, reused = self.start()
            self.mock.add_fault(path="/cgi-bin/auth/getuserinfo", errcode=48002, errmsg="api forbidden")
            self.callback(code, reused["state"])
        # the test's own HTTP client (urllib3) plays the browser: its lines are not the server's
        text = "\n".join(record.getMessage() for record in logs.records if not record.name.startswith("urllib3"))
        self.assertIn("/wecom/auth/callback?code=***&state=***", text, "werkzeug's request line, masked")
        self.assertIn("WeCom login: user id", text)
        for secret in (code, query["state"], reused["state"]):
            self.assertNotIn(secret, text)
