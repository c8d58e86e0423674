import logging
import time
from datetime import datetime, timedelta

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from ..tools import clear_token_cache
from .common import MOCK_AGENT_ID, MOCK_SECRET, WeComCase


@tagged("post_install", "-at_install")
class TestWeComApplication(WeComCase):
    # ------------------------------------------------------------------ fields and constraints
    def test_name_is_company_type_app(self):
        self.assertEqual(self.app.name, f"{self.company.name} / {self.app_type.name} / Odoo Notifications")
        self.app.type_id = False
        self.assertEqual(self.app.name, f"{self.company.name} / Odoo Notifications")

    def test_agent_id_must_be_positive(self):
        for bad in (0, -5):
            with (
                self.subTest(agent_id=bad),
                self.assertWeComWarning("create of wecom.application failed"),
                self.assertRaisesRegex(ValidationError, "positive"),
            ):
                self.env["wecom.application"].create({"app_name": "Bad", "agent_id": bad, "secret": "s3cr3t-x"})

    def test_agent_id_unique_per_company(self):
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.env["wecom.application"].create({"app_name": "Twin", "agent_id": MOCK_AGENT_ID, "secret": "other"})
        other_company = self.env["res.company"].create({"name": "Other Co"})
        twin = self.env["wecom.application"].create(
            {"app_name": "Twin", "agent_id": MOCK_AGENT_ID, "secret": "other", "company_id": other_company.id}
        )
        self.assertEqual(twin.agent_id, MOCK_AGENT_ID)

    def test_secret_validation_and_stripping(self):
        with (
            self.assertWeComWarning("create of wecom.application failed"),
            self.assertRaisesRegex(ValidationError, "empty"),
        ):
            self.env["wecom.application"].create({"app_name": "Empty", "agent_id": 7, "secret": "   "})
        with (
            self.assertWeComWarning("write of wecom.application failed"),
            self.assertRaisesRegex(ValidationError, "without spaces"),
        ):
            self.app.secret = "two words"
        app = self.env["wecom.application"].create({"app_name": "Strip", "agent_id": 8, "secret": "  abc123  "})
        self.assertEqual(app.secret, "abc123")

    def test_corp_id_validation(self):
        with self.assertRaisesRegex(ValidationError, "CorpID"):
            self.company.wecom_corp_id = "https://work.weixin.qq.com/"
        self.company.wecom_corp_id = "  ww0123456789abcdef "
        self.assertEqual(self.company.wecom_corp_id, "ww0123456789abcdef")

    def test_settings_per_application(self):
        self.app.setting_ids = [(0, 0, {"key": "notify_channel", "value": "ops", "description": "where"})]
        self.assertEqual(self.app.get_setting("notify_channel"), "ops")
        self.assertEqual(self.app.get_setting("missing", "dflt"), "dflt")
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db", "odoo.addons.wecom_base.models.wecom_base"),
            self.cr.savepoint(),
        ):
            self.app.setting_ids = [(0, 0, {"key": "notify_channel", "value": "dup"})]
            self.env.flush_all()

    # ------------------------------------------------------------------ access token
    def test_token_fetched_once_then_cached(self):
        with self.assertMockCalls(gettoken=1):
            token = self.app.get_access_token()
            self.assertTrue(token)
            self.assertEqual(self.app.get_access_token(), token)
        state = self.token_state()
        self.assertEqual(state.token, token)
        self.assertEqual(state.fetch_count, 1)
        self.assertGreater(state.expires_at, datetime.utcnow() + timedelta(seconds=7000))
        self.assertEqual(self.app.access_token, token)
        self.assertEqual(self.app.token_expiration_time, state.expires_at)

    def test_warm_path_no_query_no_http(self):
        token = self.app._wecom_get_token()
        self.env.invalidate_all()
        with self.assertQueryCount(0), self.assertMockCalls(gettoken=0):
            self.assertEqual(self.app._wecom_get_token(), token)

    def test_stored_token_reused_by_new_process(self):
        token = self.app._wecom_get_token()
        clear_token_cache()  # another worker: empty process cache, same database row
        with self.assertMockCalls(gettoken=0):
            self.assertEqual(self.app._wecom_get_token(), token)

    def test_token_refreshed_within_margin(self):
        token = self.app._wecom_get_token()
        self.token_state().write({"expires_at": datetime.utcnow() + timedelta(seconds=const.TOKEN_REFRESH_MARGIN - 30)})
        clear_token_cache()
        with self.assertMockCalls(gettoken=1):
            new_token = self.app._wecom_get_token()
        self.assertNotEqual(new_token, token)

    def test_process_cache_expires_before_token(self):
        self.mock.set_config(token_expires_in=const.TOKEN_REFRESH_MARGIN + 1)
        first = self.app._wecom_get_token()
        time.sleep(1.2)  # the cache entry lives until expiry - margin: 1 s
        with self.assertMockCalls(gettoken=1):
            second = self.app._wecom_get_token()
        self.assertNotEqual(first, second)

    def test_invalid_token_replayed_once(self):
        """42001 mid-use: the token is dropped, fetched once, and the call replayed once."""
        self.app._wecom_get_token()
        self.mock.expire_tokens()
        with self.assertMockCalls(gettoken=1, agent_get=2):
            self.app.refresh_app_info()
        self.assertEqual(self.app.wecom_name, "Mock App")

    def test_revoked_token_replayed_once(self):
        self.app._wecom_get_token()
        self.mock.revoke_tokens()
        with self.assertMockCalls(gettoken=1, agent_get=2):
            self.app.refresh_app_info()

    def test_token_error_never_retried_twice(self):
        self.mock.add_fault(path="/cgi-bin/agent/get", errcode=40014, errmsg="invalid access_token", times=-1)
        with self.assertMockCalls(gettoken=2, agent_get=2), self.assertRaises(UserError):
            self.app.refresh_app_info()

    def test_failed_token_dropped_only_if_still_current(self):
        token = self.app._wecom_get_token()
        with self.assertMockCalls(gettoken=0):
            self.assertEqual(self.app._wecom_get_token(failed_token="an-older-token"), token)
        with self.assertMockCalls(gettoken=1):
            self.assertNotEqual(self.app._wecom_get_token(failed_token=token), token)

    def test_config_error_not_retried(self):
        self.app.secret = "wrong-secret"
        with self.assertMockCalls(gettoken=1), self.assertRaisesRegex(UserError, "secret is invalid"):
            self.app.get_access_token()
        self.assertIn("40001", self.app.last_error)
        self.assertTrue(self.app.last_error_date)

    def test_ip_not_trusted_message(self):
        self.mock.add_fault(
            path="/cgi-bin/gettoken",
            errcode=60020,
            errmsg="not allow to access from your ip, hint: [1608], from ip: 203.0.113.7, more info at "
            "https://open.work.weixin.qq.com/devtool/query?e=60020",
        )
        with self.assertMockCalls(gettoken=1), self.assertRaises(UserError) as caught:
            self.app.get_access_token()
        message = str(caught.exception)
        self.assertIn("203.0.113.7", message)
        self.assertIn("trusted IP", message)

    def test_disabled_application_gets_no_token(self):
        self.app.is_active = False
        with self.assertMockCalls(gettoken=0), self.assertRaisesRegex(UserError, "disabled"):
            self.app.get_access_token()

    def test_one_enabled_flag(self):
        """``is_active`` and ``active`` are one column: disabling archives, archiving disables."""
        Application = self.env["wecom.application"]
        self.app.is_active = False
        self.assertFalse(self.app.active)
        self.assertNotIn(self.app, Application.search([]))
        self.assertEqual(Application.with_context(active_test=False).search([("is_active", "=", False)]), self.app)
        self.app.active = True
        self.assertTrue(self.app.is_active)
        self.assertIn(self.app, Application.search([("is_active", "=", True)]))
        self.app.action_archive()
        self.assertFalse(self.app.is_active)
        self.assertEqual(Application._fields["is_active"].related, "active")
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_name = 'wecom_application' AND column_name = 'is_active'"
        )
        self.assertFalse(self.env.cr.fetchone(), "the flag is stored once, in active")

    def test_secret_change_drops_token(self):
        token = self.app._wecom_get_token()
        self.app.secret = MOCK_SECRET + "x"
        self.assertFalse(self.token_state().token)
        self.app.secret = MOCK_SECRET
        with self.assertMockCalls(gettoken=1):
            self.assertNotEqual(self.app._wecom_get_token(), token)

    def test_network_errors_are_user_errors(self):
        self.mock.add_fault(path="/cgi-bin/gettoken", status=502)
        with self.assertRaisesRegex(UserError, "could not be reached or failed"):
            self.app.get_access_token()
        self.mock.add_fault(path="/cgi-bin/gettoken", drop=True)
        with self.assertRaisesRegex(UserError, "could not be reached or failed"):
            self.app.get_access_token()

    def test_timeout_is_applied(self):
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_TIMEOUT, "0.5")
        self.mock.add_fault(path="/cgi-bin/gettoken", delay=3)
        start = time.monotonic()
        with self.assertRaisesRegex(UserError, "within 0.5 s"):
            self.app.get_access_token()
        self.assertLess(time.monotonic() - start, 2.5)

    def test_base_url_not_wecom(self):
        self.mock.add_fault(
            path="/cgi-bin/gettoken", body="<html><body>Welcome to nginx</body></html>", content_type="text/html"
        )
        with self.assertRaisesRegex(UserError, "does not point at WeCom"):
            self.app.get_access_token()
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_API_BASE_URL, "ftp://example.com")
        with self.assertRaisesRegex(UserError, "not an http"):
            self.app.get_access_token()

    # ------------------------------------------------------------------ cron
    def test_cron_refreshes_expiring_tokens_only(self):
        fresh = self.app
        fresh._wecom_get_token()
        expiring = self.env["wecom.application"].create(
            {"app_name": "Expiring", "agent_id": 1000003, "secret": "mock-secret-1000003"}
        )
        self.mock.add_app(self.company.wecom_corp_id, "mock-secret-1000003", 1000003)
        expiring._wecom_get_token()
        self.token_state(expiring).write({"expires_at": datetime.utcnow() + timedelta(minutes=10)})
        clear_token_cache()
        with self.assertMockCalls(gettoken=1):
            failures = self.env["wecom.application"].cron_refresh_tokens()
        self.assertEqual(failures, 0)
        self.assertGreater(self.token_state(expiring).expires_at, datetime.utcnow() + timedelta(hours=1))

    def test_cron_one_failure_does_not_stop_others(self):
        broken = self.env["wecom.application"].create(
            {"app_name": "Broken", "agent_id": 1000009, "secret": "not-the-secret", "sequence": 1}
        )
        self.assertLess(broken.sequence, self.app.sequence)  # the broken one runs first
        with self.assertMockCalls(gettoken=2), mute_logger("odoo.addons.wecom_base.models.wecom_base"):
            failures = self.env["wecom.application"].cron_refresh_tokens()
        self.assertEqual(failures, 1)
        self.assertTrue(self.token_state(self.app).token)
        self.assertFalse(self.token_state(broken).token)
        self.assertIn("40001", broken.last_error)
        cron = self.env.ref("wecom_base.ir_cron_wecom_refresh_tokens")
        self.assertEqual((cron.interval_number, cron.interval_type), (30, "minutes"))

    # ------------------------------------------------------------------ app info and test button
    def test_refresh_app_info(self):
        with self.assertMockCalls(gettoken=1, agent_get=1):
            self.app.refresh_app_info()
        self.assertEqual(self.app.wecom_name, "Mock App")
        self.assertEqual(self.app.allow_userids, "zhangsan")
        self.assertEqual(self.app.allow_partyids, "1")
        self.assertEqual(self.app.allow_tagids, "1")
        self.assertEqual(self.app.redirect_domain, "odoo.example.com")
        self.assertFalse(self.app.is_closed)
        self.assertTrue(self.app.last_refresh_date)

    def test_refresh_app_info_wrong_agent(self):
        self.app.agent_id = 4242
        with self.assertRaisesRegex(UserError, "40056"):
            self.app.refresh_app_info()
        self.assertIn("40056", self.app.last_error)

    def test_action_test_connection(self):
        self.app._wecom_get_token()
        with self.assertMockCalls(gettoken=1, agent_get=1):
            action = self.app.action_test_connection()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Mock App", action["params"]["message"])
        self.assertIn("Connected to WeCom", self.app.message_ids[0].body)
        notes = len(self.app.message_ids)
        self.app.action_test_connection()
        self.assertEqual(len(self.app.message_ids), notes, "a second test that changes nothing adds no note")

    def test_refresh_button_says_what_wecom_answered(self):
        action = self.app.action_refresh_app_info()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("Mock App", action["params"]["message"])

    def test_action_test_connection_failure_in_plain_words(self):
        self.app.secret = "wrong-secret"
        with self.assertRaisesRegex(UserError, "Copy the secret again"):
            self.app.action_test_connection()

    # ------------------------------------------------------------------ secrets never logged
    def test_no_secret_in_logs(self):
        token = self.app._wecom_get_token()
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_API_BASE_URL, "http://127.0.0.1:9")
        clear_token_cache()
        self.token_state().write({"token": False})
        with (
            self.assertLogs("odoo.addons.wecom_base", level=logging.DEBUG) as logs,
            self.assertRaises(UserError) as err,
        ):
            logging.getLogger("odoo.addons.wecom_base").debug("capture start")
            self.app.get_access_token()
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_API_BASE_URL, self.mock.url)
        self.mock.add_fault(path="/cgi-bin/agent/get", errcode=40014, times=-1)
        with self.assertLogs("odoo.addons.wecom_base", level=logging.DEBUG) as logs2, self.assertRaises(UserError):
            self.app.refresh_app_info()
        text = "\n".join(logs.output + logs2.output) + str(err.exception) + (self.app.last_error or "")
        for secret in filter(None, (MOCK_SECRET, token, self.token_state().token)):
            self.assertNotIn(secret, text)
