import uuid

import requests

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from ..lib import WeComConfigError, WeComNetworkError, WeComPermanentError, errcodes, error_from_response
from ..models.wecom_base import ERROR_MESSAGES
from .common import MOCK_AGENT_ID, MOCK_CORP_ID, MOCK_SECRET, WeComCase


@tagged("post_install", "-at_install")
class TestWeComBase(WeComCase):
    def _log_rows(self, marker):
        """ir.logging rows containing ``marker``, read from a fresh cursor (they are committed apart)."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT name, level, path, func, line, message FROM ir_logging WHERE message LIKE %s ORDER BY id",
                [f"%{marker}%"],
            )
            rows = cr.dictfetchall()
            cr.execute("DELETE FROM ir_logging WHERE message LIKE %s", [f"%{marker}%"])
        return rows

    # ------------------------------------------------------------------ log_error
    def test_log_error_persists_apart_from_transaction(self):
        marker = uuid.uuid4().hex
        with self.assertLogs("odoo.addons.wecom_base.models.wecom_base", level="ERROR") as logs:
            self.assertTrue(self.app.log_error(f"boom {marker} access_token=SECRET123456"))
        self.assertIn(marker, logs.output[0])
        self.assertNotIn("SECRET123456", logs.output[0])
        rows = self._log_rows(marker)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["name"], "wecom_base")
        self.assertEqual(rows[0]["level"], "ERROR")
        self.assertEqual(rows[0]["path"], "wecom.application")
        self.assertEqual(rows[0]["line"], str(self.app.id))
        self.assertNotIn("SECRET123456", rows[0]["message"])

    def test_log_error_needs_wecom_access(self):
        with self.assertRaises(AccessError):
            self.app.with_user(self.user_plain).log_error("not allowed")

    def test_log_error_is_server_side_only(self):
        """A WeCom user cannot write log entries through RPC; server code can, under any user."""
        for model in ("wecom.application", "wecom.message", "wecom.robot", "wecom.callback", "wecom.base"):
            with self.subTest(model=model), self.assertRaisesRegex(AccessError, "cannot be called remotely"):
                get_public_method(self.env[model].with_user(self.user_wecom), "log_error")
        # the RPC surface is the README's table: get_wecom_config is on it (no secret for a WeCom user); the other
        # helpers and the cron entry are for server code only
        self.assertTrue(get_public_method(self.env["wecom.application"].with_user(self.user_wecom), "get_wecom_config"))
        for name in ("format_wecom_response", "handle_wecom_error", "cron_refresh_tokens", "get_setting"):
            with self.subTest(name=name), self.assertRaisesRegex(AccessError, "cannot be called remotely"):
                get_public_method(self.env["wecom.application"].with_user(self.user_wecom), name)
        marker = uuid.uuid4().hex
        with mute_logger("odoo.addons.wecom_base.models.wecom_base"):
            self.assertTrue(self.env["wecom.application"].with_user(self.user_wecom).log_error(f"python {marker}"))
        self.assertEqual(len(self._log_rows(marker)), 1)

    def test_failed_create_and_write_are_logged_and_raised(self):
        marker = uuid.uuid4().hex
        with mute_logger("odoo.addons.wecom_base.models.wecom_base"):
            with self.assertRaises(ValidationError):
                self.env["wecom.application"].create({"app_name": marker, "agent_id": -1, "secret": "abcdef"})
            with self.assertRaises(ValidationError):
                self.app.write({"agent_id": 0, "note": marker})
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT func, path, message FROM ir_logging WHERE name = 'wecom_base' AND path = 'wecom.application'"
                " AND func IN ('create', 'write') ORDER BY id DESC LIMIT 2"
            )
            rows = cr.dictfetchall()
            cr.execute("DELETE FROM ir_logging WHERE name = 'wecom_base' AND func IN ('create', 'write')")
        self.assertEqual(sorted(row["func"] for row in rows), ["create", "write"])
        for row in rows:
            self.assertIn("agent_id", row["message"])
            self.assertIn("positive", row["message"])
            self.assertNotIn("abcdef", row["message"])
        self.assertEqual(self.app.agent_id, MOCK_AGENT_ID)

    # ------------------------------------------------------------------ get_wecom_config
    def test_get_wecom_config(self):
        config = self.app.get_wecom_config()
        self.assertEqual(config["corp_id"], MOCK_CORP_ID)
        self.assertEqual(config["base_url"], self.mock.url)
        self.assertEqual(config["timeout"], 2.0)
        self.assertEqual(config["agent_id"], MOCK_AGENT_ID)
        self.assertEqual(config["secret"], MOCK_SECRET)
        user_config = self.app.with_user(self.user_wecom).get_wecom_config()
        self.assertNotIn("secret", user_config)
        self.assertEqual(user_config["agent_id"], MOCK_AGENT_ID)
        base_config = self.env["wecom.base"].get_wecom_config()
        self.assertEqual(base_config["corp_id"], MOCK_CORP_ID)
        self.assertNotIn("agent_id", base_config)

    def test_get_wecom_config_defaults(self):
        self.env["ir.config_parameter"].sudo().search(
            [("key", "in", [const.PARAM_API_BASE_URL, const.PARAM_TIMEOUT])]
        ).unlink()
        config = self.env["wecom.base"].get_wecom_config()
        self.assertEqual(config["base_url"], const.DEFAULT_API_BASE_URL)
        self.assertEqual(config["timeout"], float(const.DEFAULT_TIMEOUT))

    # ------------------------------------------------------------------ format_wecom_response
    def test_format_wecom_response(self):
        base = self.env["wecom.base"]
        ok = base.format_wecom_response({"errcode": 0, "errmsg": "ok", "msgid": "m1", "access_token": "tok"})
        self.assertEqual(ok, {"ok": True, "errcode": 0, "errmsg": "ok", "data": {"msgid": "m1"}})
        failed = base.format_wecom_response(error_from_response({"errcode": 81013, "errmsg": "user invalid"}))
        self.assertEqual((failed["ok"], failed["errcode"], failed["errmsg"]), (False, 81013, "user invalid"))
        network = base.format_wecom_response(WeComNetworkError("down", status_code=502))
        self.assertEqual((network["ok"], network["errcode"]), (False, -1))
        response = requests.get(self.mock.url + "/cgi-bin/gettoken", params={"corpid": "nope"}, timeout=5)
        via_http = base.format_wecom_response(response)
        self.assertEqual((via_http["ok"], via_http["errcode"]), (False, 40013))
        with self.assertRaises(ValidationError):
            base.format_wecom_response("not a response")

    # ------------------------------------------------------------------ handle_wecom_error
    def test_handle_wecom_error_kinds(self):
        base = self.env["wecom.base"]
        with self.assertRaisesRegex(ValidationError, "too long"):
            base.handle_wecom_error(45002)
        with self.assertRaisesRegex(ValidationError, "None of the recipients"):
            base.handle_wecom_error({"errcode": 81013, "errmsg": "invalid"})
        with self.assertRaisesRegex(UserError, "secret is invalid") as caught:
            base.handle_wecom_error(WeComConfigError(40001, "invalid credential"))
        self.assertNotIsInstance(caught.exception, ValidationError)
        with self.assertRaisesRegex(UserError, "12345"):
            base.handle_wecom_error(WeComPermanentError(12345, "strange"))
        with self.assertRaisesRegex(UserError, "could not be reached"):
            base.handle_wecom_error(WeComNetworkError("timeout"))
        with self.assertRaisesRegex(UserError, "198.51.100.4"):
            base.handle_wecom_error(
                {"errcode": 60020, "errmsg": "not allow to access from your ip, from ip: 198.51.100.4"}
            )

    def test_one_guidance_text_per_errcode(self):
        """Every code of the errcode table has its translated guidance, and no text is left without a code."""
        keys = {row.guidance for row in errcodes.ERRCODES.values()}
        self.assertEqual(set(ERROR_MESSAGES), keys)
        base = self.env["wecom.base"]
        for code, row in errcodes.ERRCODES.items():
            with self.subTest(errcode=code):
                expected = ValidationError if row.kind == errcodes.VALIDATION else UserError
                with self.assertRaises(expected) as caught:
                    base.handle_wecom_error({"errcode": code, "errmsg": f"mock {code}, from ip: 192.0.2.9"})
                if expected is UserError:
                    self.assertNotIsInstance(caught.exception, ValidationError)
                message = str(caught.exception)
                self.assertIn(f"WeCom error {code}: ", message)
                guidance = str(ERROR_MESSAGES[row.guidance]) % {"ip": "192.0.2.9"}
                self.assertIn(guidance, message)
                self.assertIn(f"(WeCom said: mock {code}, from ip: 192.0.2.9)", message)
        message = base._wecom_error_message(error_from_response({"errcode": const.ERRCODE_IP_NOT_ALLOWED}))
        self.assertIn("IP address unknown", message, "60020 without an IP in errmsg")

    def test_record_or_id(self):
        base = self.env["wecom.base"]
        self.assertEqual(base._wecom_record("wecom.application", self.app), self.app)
        self.assertEqual(base._wecom_record("wecom.application", self.app.id), self.app)
        other = self.env["wecom.application"].create({"app_name": "Other", "agent_id": 7, "secret": "s3cr3t-7"})
        for bad in (None, False, True, 0, -1, 10**9, "1", self.user_plain, self.app | other):
            with self.subTest(value=bad):
                empty = base._wecom_record("wecom.application", bad)
                self.assertFalse(empty)
                self.assertEqual(empty._name, "wecom.application")

    # ------------------------------------------------------------------ _wecom_call
    def test_wecom_call_from_any_model(self):
        base = self.env["wecom.base"]
        with self.assertMockCalls(gettoken=1, agent_get=1):
            data = base._wecom_call(
                const.PATH_AGENT_GET, method="GET", params={"agentid": MOCK_AGENT_ID}, application=self.app.id
            )
        self.assertEqual(data["agentid"], MOCK_AGENT_ID)
        with self.assertRaisesRegex(UserError, "Choose one WeCom application"):
            base._wecom_call(const.PATH_AGENT_GET, method="GET")
