"""Application callbacks: the endpoint (HttpCase), the inbox, dedupe and the event dispatch."""

import logging
import time
from unittest.mock import patch

import requests

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.wecom_base.controllers.main import WeComCallbackController, _PathTokenLogFilter
from odoo.addons.wecom_base.lib import WeComCallbackCrypto, parse_xml
from odoo.addons.wecom_base.models.wecom_callback import generate_callback_token, generate_encoding_aes_key

from .common import MOCK_AGENT_ID, MOCK_CORP_ID, WeComCallbackMixin

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CONTROLLER_LOGGER = "odoo.addons.wecom_base.controllers.main"
EventModel = type(None)  # set in setUpClass: the registry class of wecom.callback.event


def text_message(content="Hello Odoo", msg_id="7001", user="zhangsan", create_time=None):
    return (
        f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
    )


def event_message(event, user="sys", extra="", create_time=1700000000):
    return (
        f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}"
        f"<AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
    )


@tagged("post_install", "-at_install")
class TestWeComCallback(WeComCallbackMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.wecom_corp_id = MOCK_CORP_ID
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Callbacks",
                "agent_id": MOCK_AGENT_ID,
                "secret": "callback-secret-xyz",
                "company_id": cls.company.id,
            }
        )
        cls.callback = cls.env["wecom.callback"].create(
            {
                "application_id": cls.app.id,
                "callback_token": TOKEN,
                "encoding_aes_key": AES_KEY,
            }
        )
        cls.crypto = WeComCallbackCrypto(TOKEN, AES_KEY, MOCK_CORP_ID)
        cls.Event = cls.env["wecom.callback.event"]
        cls.user_wecom = new_test_user(cls.env, login="wh_user", groups="base.group_user,wecom_base.group_wecom_user")
        cls.user_manager = new_test_user(
            cls.env, login="wh_manager", groups="base.group_user,wecom_base.group_wecom_manager"
        )

    # ------------------------------------------------------------------ helpers
    def assertRejected(self, response, status, secrets=(TOKEN, AES_KEY)):
        self.assertEqual(response.status_code, status, response.text)
        for secret in secrets:
            self.assertNotIn(secret, response.text)

    # ------------------------------------------------------------------ configuration
    def test_callback_url_is_unguessable(self):
        base = self.callback.get_base_url()
        self.assertTrue(self.callback.callback_url.startswith(f"{base}/wecom/callback/"), "the route WeCom knows")
        self.assertEqual(WeComCallbackController.ROUTE, "/wecom/callback")
        path = self.callback.path_token
        self.assertGreaterEqual(len(path), 32)
        self.assertRegex(path, r"^[A-Za-z0-9_-]{32}$")
        other = self.env["wecom.callback"].create({"application_id": self.app.id})
        self.assertNotEqual(other.path_token, path)
        old = other.path_token
        other.action_regenerate_path_token()
        self.assertNotEqual(other.path_token, old)

    def test_path_token_not_writable_by_callers(self):
        self.callback.with_user(self.user_manager).write({"path_token": "a" * 32, "name": "Renamed"})
        self.assertNotEqual(self.callback.path_token, "a" * 32)
        self.assertEqual(self.callback.name, "Renamed")

    def test_credentials_validated(self):
        Callback = self.env["wecom.callback"]
        with (
            self.assertWeComWarning("create of wecom.callback failed"),
            self.assertRaisesRegex(ValidationError, "Token"),
        ):
            Callback.create({"application_id": self.app.id, "callback_token": "not a token!"})
        for bad_key in ("short", AES_KEY[:-1] + "!", AES_KEY + "A"):
            with (
                self.assertWeComWarning("create of wecom.callback failed"),
                self.assertRaisesRegex(ValidationError, "EncodingAESKey"),
            ):
                Callback.create({"application_id": self.app.id, "encoding_aes_key": bad_key})
        callback = self.env["wecom.callback"].create({"application_id": self.app.id})
        self.assertFalse(callback.is_configured)
        callback.action_generate_credentials()
        self.assertTrue(callback.is_configured)
        WeComCallbackCrypto(callback.callback_token, callback.encoding_aes_key, MOCK_CORP_ID)  # valid
        self.assertTrue(WeComCallbackCrypto.is_valid_token(generate_callback_token()))
        self.assertTrue(WeComCallbackCrypto.is_valid_aes_key(generate_encoding_aes_key()))

    def test_secrets_are_manager_only(self):
        with self.assertRaises(AccessError):
            self.callback.with_user(self.user_wecom).read(["name"])
        with self.assertRaises(AccessError):
            self.Event.with_user(self.user_wecom).search([])
        fields = self.env["wecom.callback"].with_user(self.user_manager).fields_get()
        self.assertIn("callback_token", fields)
        self.assertEqual(self.callback.with_user(self.user_manager).callback_token, TOKEN)

    def test_application_opens_its_callbacks(self):
        action = self.app.action_view_webhooks()
        self.assertEqual(action["res_model"], "wecom.callback")
        self.assertEqual(self.env["wecom.callback"].search(action["domain"]), self.callback)
        self.assertEqual(self.app.callback_count, 1)

    # ------------------------------------------------------------------ GET verification
    def test_url_verification(self):
        echostr = self.crypto.encrypt("1616140317555161061")
        response = self.url_open(self.url(echostr=echostr, **self.signed_params(echostr)))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"1616140317555161061")

    def test_url_verification_bad_signature(self):
        echostr = self.crypto.encrypt("1616140317555161061")
        params = self.signed_params(echostr)
        params["msg_signature"] = "0" * 40
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            response = self.url_open(self.url(echostr=echostr, **params))
        self.assertRejected(response, 403)
        self.assertNotIn("1616140317555161061", response.text)
        self.assertEqual(len(logs.output), 1)

    def test_url_verification_missing_echostr(self):
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            response = self.url_open(self.url(**self.signed_params("x")))
        self.assertRejected(response, 400)

    # ------------------------------------------------------------------ POST: store and answer
    def test_text_message_stored_and_processed(self):
        response = self.deliver(text_message("Hello Odoo", msg_id="7001"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"")
        event = self.Event.search([("callback_id", "=", self.callback.id)])
        self.assertEqual(len(event), 1)
        self.assertEqual(
            (event.msg_type, event.from_user, event.msg_id, event.agent_id, event.content, event.state),
            ("text", "zhangsan", "7001", MOCK_AGENT_ID, "Hello Odoo", "new"),
        )
        self.assertIn("<Content><![CDATA[Hello Odoo]]></Content>", event.raw_xml)
        self.assertTrue(event.wecom_create_time)
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", self.env.ref("wecom_base.ir_cron_wecom_callback_events").id)]
            )
        )
        self.Event._cron_process_events()
        self.assertEqual(event.state, "done")
        self.assertIn("Hello Odoo", event.result)
        self.assertEqual(self.callback.event_count, 1)

    def test_replay_is_stored_once(self):
        xml = text_message("Once", msg_id="8001")
        encrypted = self.crypto.encrypt(xml)
        params = self.signed_params(encrypted)
        for _attempt in range(3):  # WeCom retries the same request
            self.assertEqual(self.post(self.envelope(encrypted), params).status_code, 200)
        # the same message encrypted again (new random prefix): still the same MsgId
        self.assertEqual(self.deliver(xml).status_code, 200)
        self.assertEqual(self.Event.search_count([("callback_id", "=", self.callback.id)]), 1)
        self.callback.invalidate_recordset()
        self.assertEqual(self.callback.duplicate_count, 3)

    def test_events_without_msgid_dedupe_on_content(self):
        first = event_message("change_contact", extra="<ChangeType>update_user</ChangeType><UserID>a</UserID>")
        second = event_message("change_contact", extra="<ChangeType>update_user</ChangeType><UserID>b</UserID>")
        for xml in (first, first, second, second):
            self.assertEqual(self.deliver(xml).status_code, 200)
        events = self.Event.search([("callback_id", "=", self.callback.id)])
        # distinct events of the same sender ("sys") in the same second are both kept
        self.assertEqual(len(events), 2)
        self.assertEqual(set(events.mapped("from_user")), {"sys"})

    # ------------------------------------------------------------------ POST: bad input
    def assertNothingStored(self):
        self.assertEqual(self.Event.search_count([]), 0)

    def assertBadPost(self, body, params, status, path_token=None, counted=True):
        before = self.callback.rejected_count
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            response = self.post(body, params, path_token=path_token)
        self.assertRejected(response, status)
        self.assertEqual(len(logs.output), 1, logs.output)
        for secret in (TOKEN, AES_KEY, self.callback.path_token):
            self.assertNotIn(secret, "\n".join(logs.output))
        self.assertNothingStored()
        self.callback.invalidate_recordset()
        self.assertEqual(self.callback.rejected_count, before + (1 if counted else 0))
        return response

    def test_missing_parameters(self):
        encrypted = self.crypto.encrypt(text_message())
        params = self.signed_params(encrypted)
        for missing in ("msg_signature", "timestamp", "nonce"):
            self.assertBadPost(self.envelope(encrypted), {k: v for k, v in params.items() if k != missing}, 400)

    def test_bad_signature(self):
        encrypted = self.crypto.encrypt(text_message())
        params = self.signed_params(encrypted)
        params["msg_signature"] = params["msg_signature"][::-1]
        self.assertBadPost(self.envelope(encrypted), params, 403)
        other = WeComCallbackCrypto("OtherToken1", AES_KEY, MOCK_CORP_ID)
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted, crypto=other), 403)

    def test_stale_timestamp(self):
        encrypted = self.crypto.encrypt(text_message())
        stale = int(time.time()) - 3600
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted, timestamp=stale), 403)
        future = int(time.time()) + 3600
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted, timestamp=future), 403)

    def test_undecryptable(self):
        for encrypted in (
            "bm90IGEgV2VDb20gY2lwaGVydGV4dA==",
            self.crypto.encrypt(text_message())[:-24] + "==",
            "!!!not base64!!!",
        ):
            self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted), 403)

    def test_bad_padding(self):
        import base64

        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        key = base64.b64decode(AES_KEY + "=")
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        encrypted = base64.b64encode(encryptor.update(b"A" * 63 + b"\x00") + encryptor.finalize()).decode()
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted), 403)

    def test_wrong_receive_id(self):
        other_corp = WeComCallbackCrypto(TOKEN, AES_KEY, "wwOtherCorp000001")
        encrypted = other_corp.encrypt(text_message())
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted), 403)

    def test_dtd_in_envelope(self):
        encrypted = self.crypto.encrypt(text_message())
        body = b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "x">]>' + self.envelope(encrypted).replace(
            b"<AgentID>", b"<Note>&e;</Note><AgentID>"
        )
        self.assertBadPost(body, self.signed_params(encrypted), 400)

    def test_entities_in_decrypted_message(self):
        laughs = (
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            "<xml><MsgType>text</MsgType><Content>&c;</Content><MsgId>1</MsgId></xml>"
        )
        encrypted = self.crypto.encrypt(laughs)
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted), 400)
        xxe = (
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<xml><MsgType>text</MsgType><Content>&x;</Content></xml>"
        )
        encrypted = self.crypto.encrypt(xxe)
        self.assertBadPost(self.envelope(encrypted), self.signed_params(encrypted), 400)

    def test_not_xml_and_not_utf8(self):
        encrypted = self.crypto.encrypt(text_message())
        self.assertBadPost(b'{"Encrypt": 1}', self.signed_params(encrypted), 400)
        self.assertBadPost("<xml><Encrypt>é</Encrypt></xml>".encode("latin-1"), self.signed_params(encrypted), 400)
        self.assertBadPost(b"<xml><ToUserName>x</ToUserName></xml>", self.signed_params(encrypted), 400)

    def test_body_too_large(self):
        encrypted = self.crypto.encrypt(text_message())
        body = self.envelope(encrypted).replace(b"</xml>", b"<Pad>" + b"x" * (1024 * 1024) + b"</Pad></xml>")
        self.assertBadPost(body, self.signed_params(encrypted), 413, counted=False)

    def test_path_token_masked_in_the_access_log(self):
        record = logging.LogRecord(
            "werkzeug",
            logging.INFO,
            __file__,
            1,
            '%s - - "%s" %s',
            ("127.0.0.1", f"POST {self.url(**{'timestamp': '1'})} HTTP/1.1", 200),
            None,
        )
        self.assertTrue(_PathTokenLogFilter().filter(record))
        self.assertNotIn(self.callback.path_token, record.getMessage())
        self.assertIn("/wecom/callback/***?timestamp=1", record.getMessage())
        self.assertIn(_PathTokenLogFilter, [type(f) for f in logging.getLogger("werkzeug").filters])

    def test_chunked_body_refused_after_the_limit(self):
        """A chunked body (no Content-Length) is refused once 1 MB is read, not after reading all of it (which
        the log line's size would show)."""
        encrypted = self.crypto.encrypt(text_message())

        def chunks():
            yield self.envelope(encrypted).replace(b"</xml>", b"<Pad>")
            for _index in range(128):  # 8 MB
                yield b"x" * 65536

        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            try:
                response = self.url_open(
                    self.url(**self.signed_params(encrypted)), data=chunks(), headers={"Content-Type": "text/xml"}
                )
            except requests.exceptions.ConnectionError:
                response = None  # the server answered and closed while the client was still sending
        if response is not None:
            self.assertRejected(response, 413)
        self.assertIn("over the limit", "\n".join(logs.output), "refused while reading, not after")
        self.assertNothingStored()

    def test_unknown_inactive_or_unconfigured_callback(self):
        encrypted = self.crypto.encrypt(text_message())
        params = self.signed_params(encrypted)
        self.assertBadPost(self.envelope(encrypted), params, 404, path_token="x" * 32, counted=False)
        self.assertBadPost(self.envelope(encrypted), params, 404, path_token=str(self.callback.id), counted=False)
        self.callback.active = False
        self.assertBadPost(self.envelope(encrypted), params, 404, counted=False)
        self.callback.active = True
        self.app.is_active = False
        self.assertBadPost(self.envelope(encrypted), params, 404, counted=False)
        self.app.is_active = True
        self.callback.encoding_aes_key = False
        self.assertBadPost(self.envelope(encrypted), params, 404)

    # ------------------------------------------------------------------ dispatch
    def store(self, xml):
        event_id, _reply = self.Event._wecom_store(self.callback, xml.encode())
        self.assertTrue(event_id)
        return self.Event.browse(event_id)

    def test_dispatch_to_added_handler(self):
        calls = []

        def handler(event, data):
            calls.append((event.id, data["Event"], data["EventKey"]))
            return f"clicked {data['EventKey']}"

        event_class = type(self.Event)
        with patch.object(event_class, "_wecom_handle_event__click", handler, create=True):
            event = self.store(event_message("click", user="lisi", extra="<EventKey>menu_1</EventKey>"))
            self.Event._cron_process_events()
        self.assertEqual(calls, [(event.id, "click", "menu_1")])
        self.assertEqual((event.state, event.result), ("done", "clicked menu_1"))

    def test_unknown_kinds_are_ignored(self):
        event = self.store(event_message("some_new_event"))
        weird = self.store(event_message("__class__.bad-name"))
        message = self.store("<xml><MsgType>hologram</MsgType><MsgId>9</MsgId><FromUserName>a</FromUserName></xml>")
        self.Event._cron_process_events()
        for record in (event, weird, message):
            self.assertEqual(record.state, "done")
            self.assertIn("Ignored", record.result)

    def test_failing_handler_marks_error_then_retry(self):
        def broken(event, data):
            raise UserError("CRM is down")  # pylint: disable=translation-required

        event_class = type(self.Event)
        ok = self.store(event_message("enter_agent", user="wangwu"))
        with patch.object(event_class, "_wecom_handle_event__click", broken, create=True):
            bad = self.store(event_message("click", extra="<EventKey>k</EventKey>"))
            with self.assertWeComWarning("failed: CRM is down"):
                self.Event._cron_process_events()
        self.assertEqual((bad.state, bad.error_reason, bad.attempts), ("error", "CRM is down", 1))
        self.assertEqual(ok.state, "done")  # one failure never stops the others
        self.assertIn("wangwu", ok.result)
        with self.assertRaises(UserError):
            ok.action_retry()
        bad.action_retry()
        self.assertEqual(bad.state, "new")
        with patch.object(event_class, "_wecom_handle_event__click", lambda event, data: "fine", create=True):
            self.Event._cron_process_events()
        self.assertEqual((bad.state, bad.result, bad.attempts), ("done", "fine", 2))

    def test_change_contact_updates_user_links(self):
        linked = new_test_user(self.env, login="wh_linked", groups="base.group_user")
        linked.wecom_userid = "zhaoliu"
        renamed = new_test_user(self.env, login="wh_renamed", groups="base.group_user")
        renamed.wecom_userid = "old_id"
        delete = self.store(
            event_message("change_contact", extra="<ChangeType>delete_user</ChangeType><UserID>zhaoliu</UserID>")
        )
        update = self.store(
            event_message(
                "change_contact",
                extra="<ChangeType>update_user</ChangeType><UserID>old_id</UserID><NewUserID>new_id</NewUserID>",
            )
        )
        create = self.store(
            event_message("change_contact", extra="<ChangeType>create_user</ChangeType><UserID>newbie</UserID>")
        )
        party = self.store(event_message("change_contact", extra="<ChangeType>create_party</ChangeType><Id>2</Id>"))
        self.Event._cron_process_events()
        self.assertFalse(linked.wecom_userid)
        self.assertEqual(renamed.wecom_userid, "new_id")
        self.assertEqual([e.state for e in (delete, update, create, party)], ["done"] * 4)
        self.assertIn("unlinked", delete.result)
        self.assertIn("newbie", create.result)
        self.assertIn("not mirrored, no application of", party.result, "says why the directory was not updated")

    def test_passive_reply(self):
        def reply(event, data):
            return {"MsgType": "text", "Content": f"Got: {data['Content']}"}

        event_class = type(self.Event)
        with patch.object(event_class, "_wecom_reply_message__text", reply, create=True):
            response = self.deliver(text_message("ping", msg_id="9100"))
        self.assertEqual(response.status_code, 200)
        envelope = parse_xml(response.content)
        self.assertEqual(
            envelope["MsgSignature"],
            self.crypto.signature(envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]),
        )
        self.assertEqual(envelope["Nonce"], "1372623149")
        answer = parse_xml(self.crypto.decrypt(envelope["Encrypt"]))
        self.assertEqual(
            (answer["ToUserName"], answer["FromUserName"], answer["MsgType"], answer["Content"]),
            ("zhangsan", MOCK_CORP_ID, "text", "Got: ping"),
        )
        self.assertEqual(self.Event.search_count([("msg_id", "=", "9100")]), 1)

    def test_failing_reply_hook_keeps_the_event(self):
        def reply(event, data):
            raise ValueError("boom")

        event_class = type(self.Event)
        with (
            patch.object(event_class, "_wecom_reply_message__text", reply, create=True),
            self.assertLogs("odoo.addons.wecom_base.models.wecom_callback_event", "ERROR"),
        ):
            response = self.deliver(text_message("ping", msg_id="9200"))
        self.assertEqual((response.status_code, response.content), (200, b""))
        self.assertEqual(self.Event.search_count([("msg_id", "=", "9200")]), 1)
