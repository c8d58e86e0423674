"""The bad-input catalogue: every kind of bad input gets a clear error (a 4xx over HTTP), creates or
changes nothing, and leaves no secret in the logs.

Each test runs under :meth:`BadInputCase.refused`, which captures every log record of the test (the
addon's and urllib3's at DEBUG) and fails when any secret used in the test appears in them, and checks
that no message, callback event or application changed.
"""

import base64
import logging
import time
from contextlib import contextmanager

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.wecom_base.const import PARAM_API_BASE_URL
from odoo.addons.wecom_base.lib import WeComCallbackCrypto

from .common import MOCK_AGENT_ID, MOCK_CORP_ID, MOCK_ROBOT_KEY, MOCK_SECRET, WeComCallbackMixin, WeComMockMixin

CALLBACK_TOKEN = "CatalogueToken42"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
_DEBUG_LOGGERS = ("odoo.addons.wecom_base", "urllib3", "requests")


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is still scanned
            self.lines.append(f"{record.msg!r} {record.args!r}")


@tagged("post_install", "-at_install")
class BadInputCase(WeComMockMixin, WeComCallbackMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Catalogue",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "company_id": cls.company.id,
            }
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Co", "wecom_corp_id": "wwother00000000001"})
        cls.other_app = cls.env["wecom.application"].create(
            {
                "app_name": "Other",
                "agent_id": 1000009,
                "secret": "other-company-secret-77",
                "company_id": cls.other_company.id,
            }
        )
        cls.robot = cls.env["wecom.robot"].create({"name": "Ops", "webhook_key": MOCK_ROBOT_KEY})
        cls.callback = cls.env["wecom.callback"].create(
            {
                "application_id": cls.app.id,
                "callback_token": CALLBACK_TOKEN,
                "encoding_aes_key": AES_KEY,
            }
        )
        cls.crypto = WeComCallbackCrypto(CALLBACK_TOKEN, AES_KEY, MOCK_CORP_ID)
        cls.user = new_test_user(cls.env, login="catalogue_user", groups="base.group_user,wecom_base.group_wecom_user")
        cls.user.wecom_userid = "zhangsan"
        cls.Message = cls.env["wecom.message"].with_user(cls.user)

    # ------------------------------------------------------------------ the harness
    def secrets(self):
        token = self.env["wecom.application.token"].sudo().search([]).mapped("token")
        return [MOCK_SECRET, "other-company-secret-77", MOCK_ROBOT_KEY, CALLBACK_TOKEN, AES_KEY, *filter(None, token)]

    def state(self):
        """A fingerprint of every row the bad input must not create or change."""
        self.env.flush_all()
        fingerprint = []
        for table in ("wecom_message", "wecom_callback_event", "wecom_application", "wecom_robot", "res_company"):
            self.env.cr.execute(f"SELECT COUNT(*), md5(string_agg(t::text, ',' ORDER BY t.id)) FROM {table} t")
            fingerprint.append((table, *self.env.cr.fetchone()))
        return fingerprint

    @contextmanager
    def refused(self):
        """Run the block; then nothing may have changed and no secret may be in the captured logs."""
        capture = _Capture()
        root = logging.getLogger()
        levels = {name: logging.getLogger(name).level for name in _DEBUG_LOGGERS}
        before = self.state()
        root.addHandler(capture)
        for name in _DEBUG_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
        # what our code logs about the bad input (its warnings are the behaviour under test) is captured here,
        # scanned for secrets below, and kept out of Odoo's log, where ./scripts/test fails on our warnings
        ours = logging.getLogger("odoo.addons.wecom_base")
        ours.addHandler(capture)
        ours.propagate = False
        try:
            yield capture
        finally:
            ours.propagate = True
            ours.removeHandler(capture)
            root.removeHandler(capture)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
        self.env.invalidate_all()
        self.assertEqual(self.state(), before, "bad input created or changed a record")
        text = "\n".join(capture.lines)
        for secret in self.secrets():
            self.assertNotIn(secret, text, "a secret reached the logs")

    def assertClearError(self, exc_type, pattern, func, *args, **kwargs):
        with self.refused():
            # Odoo's assertRaises runs the call in a savepoint, rolled back as an RPC call's transaction is
            with self.assertRaises(exc_type) as caught:
                func(*args, **kwargs)
        self.assertRegex(str(caught.exception), pattern)
        self.assertNotIn("Traceback", str(caught.exception))

    # ------------------------------------------------------------------ callback requests
    def message_xml(self, msg_id="1"):
        return (
            f"<xml><ToUserName>{MOCK_CORP_ID}</ToUserName><FromUserName>zhangsan</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType><Content>hi</Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )

    def assertCallbackRefused(self, status, body, params, path_token=None):
        with self.refused():
            response = self.post(body, params, path_token=path_token)
        self.assertEqual(response.status_code, status)
        self.assertLess(len(response.content), 40, "a rejection must not explain itself")

    def test_callback_missing_parameters(self):
        encrypted = self.crypto.encrypt(self.message_xml())
        self.assertCallbackRefused(400, self.envelope(encrypted), {"timestamp": str(int(time.time()))})

    def test_callback_bad_signature(self):
        encrypted = self.crypto.encrypt(self.message_xml())
        params = self.signed_params(encrypted)
        params["msg_signature"] = "f" * 40
        self.assertCallbackRefused(403, self.envelope(encrypted), params)

    def test_callback_stale_timestamp(self):
        encrypted = self.crypto.encrypt(self.message_xml())
        self.assertCallbackRefused(
            403, self.envelope(encrypted), self.signed_params(encrypted, int(time.time()) - 86400)
        )

    def test_callback_replay_stored_once(self):
        encrypted = self.crypto.encrypt(self.message_xml("777"))
        params = self.signed_params(encrypted)
        first = self.post(self.envelope(encrypted), params)
        self.assertEqual(first.status_code, 200)
        with self.refused():  # the replay is answered 200 (WeCom must stop retrying) and stores nothing
            again = self.post(self.envelope(encrypted), params)
        self.assertEqual((again.status_code, again.content), (200, b""))

    def test_callback_wrong_receive_id(self):
        other = WeComCallbackCrypto(CALLBACK_TOKEN, AES_KEY, "wwsomebodyelse0001")
        encrypted = other.encrypt(self.message_xml())
        self.assertCallbackRefused(403, self.envelope(encrypted), self.signed_params(encrypted))

    def test_callback_truncated_ciphertext(self):
        encrypted = self.crypto.encrypt(self.message_xml())[:44]
        self.assertCallbackRefused(403, self.envelope(encrypted), self.signed_params(encrypted))

    def test_callback_bad_padding(self):
        key = base64.b64decode(AES_KEY + "=")
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        encrypted = base64.b64encode(encryptor.update(b"\x21" * 64) + encryptor.finalize()).decode()
        self.assertCallbackRefused(403, self.envelope(encrypted), self.signed_params(encrypted))

    def test_callback_xxe_entity(self):
        xml = (
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<xml><MsgType>text</MsgType><Content>&x;</Content><MsgId>5</MsgId></xml>"
        )
        encrypted = self.crypto.encrypt(xml)
        self.assertCallbackRefused(400, self.envelope(encrypted), self.signed_params(encrypted))

    def test_callback_billion_laughs(self):
        entities = '<!ENTITY l0 "ha">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        body = (f'<?xml version="1.0"?><!DOCTYPE xml [{entities}]><xml><Encrypt>&l9;</Encrypt></xml>').encode()
        self.assertCallbackRefused(400, body, self.signed_params("&l9;"))

    def test_callback_5mb_body(self):
        encrypted = self.crypto.encrypt(self.message_xml())
        body = self.envelope(encrypted) + b" " * (5 * 1024 * 1024)
        self.assertCallbackRefused(413, body, self.signed_params(encrypted))

    def test_callback_non_utf8(self):
        encrypted = self.crypto.encrypt(self.message_xml())
        body = self.envelope(encrypted).replace(b"<AgentID>", "<Note>\u00e9t\u00e9</Note><AgentID>".encode("gbk"))
        self.assertCallbackRefused(400, body, self.signed_params(encrypted))

    def test_callback_unknown_path(self):
        encrypted = self.crypto.encrypt(self.message_xml())
        self.assertCallbackRefused(404, self.envelope(encrypted), self.signed_params(encrypted), path_token="A" * 32)

    # ------------------------------------------------------------------ send API (what RPC clients call)
    def test_send_wrong_application_type(self):
        self.assertClearError(
            ValidationError, "application", self.Message.wecom_send, "Catalogue", userids=["zhangsan"], content="hi"
        )

    def test_send_unknown_application(self):
        self.assertClearError(
            ValidationError, "application", self.Message.wecom_send, 987654, userids=["zhangsan"], content="hi"
        )

    def test_send_other_company_application(self):
        self.assertClearError(
            ValidationError,
            "application",
            self.Message.wecom_send,
            self.other_app.id,
            userids=["zhangsan"],
            content="hi",
        )

    def test_send_over_long_content(self):
        self.assertClearError(
            ValidationError, "2048", self.Message.wecom_send, self.app.id, userids=["zhangsan"], content="长" * 700
        )

    def test_send_1001_recipients(self):
        self.assertClearError(
            ValidationError,
            "1000",
            self.Message.wecom_send,
            self.app.id,
            userids=[f"user{i}" for i in range(1001)],
            content="hi",
        )

    def test_send_no_recipient(self):
        self.assertClearError(ValidationError, "(?i)recipient", self.Message.wecom_send, self.app.id, content="hi")

    def test_send_unknown_msgtype(self):
        self.assertClearError(
            ValidationError,
            "msgtype",
            self.Message.wecom_send,
            self.app.id,
            msgtype="hologram",
            userids=["zhangsan"],
            content="hi",
        )

    def test_send_unknown_argument(self):
        self.assertClearError(
            ValidationError, "touser", self.Message.wecom_send, self.app.id, touser="zhangsan", content="hi"
        )

    def test_send_wrong_recipient_type(self):
        self.assertClearError(
            ValidationError, "userids", self.Message.wecom_send, self.app.id, userids={"a": 1}, content="hi"
        )

    def test_send_by_outsider(self):
        outsider = new_test_user(self.env, login="catalogue_outsider", groups="base.group_user")
        self.assertClearError(
            AccessError,
            ".",
            self.env["wecom.message"].with_user(outsider).wecom_send,
            self.app.id,
            userids=["zhangsan"],
            content="hi",
        )

    def test_script_in_content_is_inert(self):
        """Content is plain text: stored as given, sent as given, and escaped wherever the UI shows it."""
        payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
        message = self.Message.wecom_send(self.app.id, userids=["zhangsan"], content=payload)
        self.assertEqual(message.content, payload)
        self.assertEqual(message._fields["content"].type, "text")  # the web client shows text, never HTML
        for body in message.message_ids.mapped("body"):
            self.assertNotIn("<script>", str(body))

    # ------------------------------------------------------------------ configuration
    def new_app(self, **vals):
        return self.env["wecom.application"].create(
            {
                "app_name": "Bad",
                "agent_id": 1000100,
                "secret": "a-good-secret",
                "company_id": self.company.id,
                **vals,
            }
        )

    def test_config_empty_secret(self):
        self.assertClearError(ValidationError, "(?i)secret", self.new_app, secret="   ")

    def test_config_bad_corp_id(self):
        self.assertClearError(ValidationError, "CorpID", self.company.write, {"wecom_corp_id": "not a corp id!"})

    def test_config_agent_id_zero(self):
        self.assertClearError(ValidationError, "AgentId", self.new_app, agent_id=0)

    def test_config_agent_id_negative(self):
        self.assertClearError(ValidationError, "AgentId", self.new_app, agent_id=-5)

    def test_config_base_url_not_http(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM_API_BASE_URL, "ftp://qyapi.example.com")
        self.assertClearError(UserError, "http", self.app.action_test_connection)

    def test_config_base_url_answers_html(self):
        self.mock.add_fault(
            path="*", body="<html><body>Welcome to nginx!</body></html>", content_type="text/html", times=-1
        )
        self.assertClearError(UserError, "(?i)base URL|not a WeCom", self.app.action_test_connection)

    def test_config_robot_key_garbage(self):
        self.assertClearError(
            ValidationError,
            "Webhook Key",
            self.env["wecom.robot"].create,
            {"name": "Bad", "webhook_key": "https://example.com/no-key-here"},
        )

    def test_config_callback_credentials(self):
        create = self.env["wecom.callback"].create
        self.assertClearError(
            ValidationError, "Token", create, {"application_id": self.app.id, "callback_token": "bad token"}
        )
        self.assertClearError(
            ValidationError,
            "EncodingAESKey",
            create,
            {"application_id": self.app.id, "encoding_aes_key": "x" * 43 + "="},
        )
