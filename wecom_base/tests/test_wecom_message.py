import base64
from datetime import datetime, timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .. import const
from .common import MOCK_AGENT_ID, WeComCase

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
)


@tagged("post_install", "-at_install")
class TestWeComMessage(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_wecom.wecom_userid = "lisi"
        cls.Message = cls.env["wecom.message"]

    def send(self, **kwargs):
        kwargs.setdefault("userids", ["zhangsan"])
        kwargs.setdefault("content", "Hello")
        return self.Message.wecom_send(self.app, **kwargs)

    def drain(self):
        return self.Message._cron_process_queue()

    def last_payload(self):
        return self.mock.messages()[-1]["payload"]

    # ------------------------------------------------------------------ payloads
    def test_payload_text(self):
        message = self.send(
            content="你好, Odoo",
            users=self.user_wecom,
            userids="zhangsan|wangwu",
            parties=[2],
            tags="3,4",
            safe=1,
            enable_id_trans=True,
            enable_duplicate_check=True,
            duplicate_check_interval=600,
        )
        self.assertEqual(message.state, "outgoing")
        with self.assertMockCalls(gettoken=1, message_send=1):
            self.drain()
        self.assertEqual(
            self.last_payload(),
            {
                "touser": "lisi|zhangsan|wangwu",
                "toparty": "2",
                "totag": "3|4",
                "msgtype": "text",
                "agentid": MOCK_AGENT_ID,
                "text": {"content": "你好, Odoo"},
                "safe": 1,
                "enable_id_trans": 1,
                "enable_duplicate_check": 1,
                "duplicate_check_interval": 600,
            },
        )
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.msgid)
        self.assertTrue(message.sent_date)
        self.assertEqual(message.try_count, 1)

    def test_payload_markdown_textcard_news_template_card(self):
        cases = [
            (dict(msgtype="markdown", content="**bold**"), {"content": "**bold**"}),
            (
                dict(
                    msgtype="textcard",
                    content=None,
                    title="Leave",
                    description="<div>approved</div>",
                    url="https://odoo.example.com/l/1",
                    btntxt="More",
                ),
                {
                    "title": "Leave",
                    "description": "<div>approved</div>",
                    "url": "https://odoo.example.com/l/1",
                    "btntxt": "More",
                },
            ),
            (
                dict(
                    msgtype="news",
                    content=None,
                    articles=[
                        {"title": "A", "description": "d", "url": "https://a", "picurl": "https://a/p.png"},
                        {"title": "B", "url": "https://b"},
                    ],
                ),
                {
                    "articles": [
                        {"title": "A", "description": "d", "url": "https://a", "picurl": "https://a/p.png"},
                        {"title": "B", "url": "https://b"},
                    ]
                },
            ),
            (
                dict(
                    msgtype="template_card",
                    content="sub",
                    title="Order 42",
                    description="paid",
                    url="https://odoo.example.com/o/42",
                    card={"emphasis_content": {"title": "100", "desc": "CNY"}},
                ),
                {
                    "card_type": "text_notice",
                    "main_title": {"title": "Order 42", "desc": "paid"},
                    "card_action": {"type": 1, "url": "https://odoo.example.com/o/42"},
                    "sub_title_text": "sub",
                    "emphasis_content": {"title": "100", "desc": "CNY"},
                },
            ),
        ]
        for kwargs, body in cases:
            with self.subTest(msgtype=kwargs["msgtype"]):
                message = self.send(**kwargs)
                self.drain()
                self.assertEqual(message.state, "sent", message.failure_reason)
                payload = self.last_payload()
                self.assertEqual(payload["msgtype"], kwargs["msgtype"])
                self.assertEqual(payload[kwargs["msgtype"]], body)
                self.assertEqual(payload["touser"], "zhangsan")

    def test_payload_image_and_file_upload_once(self):
        image = self.env["ir.attachment"].create({"name": "dot.png", "datas": PNG, "mimetype": "image/png"})
        document = self.env["ir.attachment"].create(
            {"name": "report.txt", "datas": base64.b64encode(b"report"), "mimetype": "text/plain"}
        )
        with self.assertMockCalls(media_upload=2, message_send=2):
            first = self.send(msgtype="image", content=None, attachment=image.id)
            second = self.send(msgtype="file", content=None, attachment=document)
            self.drain()
        self.assertEqual((first.state, second.state), ("sent", "sent"))
        uploads = self.mock.stats()["uploads"]
        self.assertEqual(
            [(u["type"], u["filename"], u["size"]) for u in uploads[-2:]],
            [("image", "dot.png", len(base64.b64decode(PNG))), ("file", "report.txt", 6)],
        )
        sent = {m["payload"]["msgtype"]: m["payload"] for m in self.mock.messages()[-2:]}  # sent concurrently
        self.assertEqual(sent["image"]["image"], {"media_id": first.media_id})
        self.assertEqual(sent["file"]["file"], {"media_id": second.media_id})
        # a retry within 3 days reuses the uploaded media
        first.write({"state": "exception"})
        with self.assertMockCalls(media_upload=0, message_send=1):
            first.action_retry()
            self.drain()

    # ------------------------------------------------------------------ delivery results
    def test_partial_delivery_stored(self):
        message = self.send(userids="zhangsan|invalid_bob|unlicensed_tom", parties="999")
        self.drain()
        self.assertEqual(message.state, "partial")
        self.assertEqual(message.invalid_users, "invalid_bob")
        self.assertEqual(message.invalid_parties, "999")
        self.assertEqual(message.unlicensed_users, "unlicensed_tom")
        self.assertTrue(message.msgid)

    def test_all_invalid_fails_that_message_only(self):
        bad = self.send(userids="invalid_a|invalid_b")
        good = self.send(userids="zhangsan")
        self.drain()
        self.assertEqual(bad.state, "exception")
        self.assertEqual(bad.failure_type, "recipients")
        self.assertIn("81013", bad.failure_reason)
        self.assertEqual(good.state, "sent")

    def test_retryable_errors_retried_later(self):
        for errcode in (45009, -1, 45033):
            with self.subTest(errcode=errcode):
                self.mock.add_fault(path="/cgi-bin/message/send", errcode=errcode, errmsg="busy")
                message = self.send()
                self.drain()
                self.assertEqual(message.state, "outgoing")
                self.assertEqual(message.try_count, 1)
                self.assertGreater(message.next_try_date, datetime.utcnow())
                self.assertIn(str(errcode), message.failure_reason)
                if errcode == 45009:
                    self.assertGreaterEqual(message.next_try_date, datetime.utcnow() + timedelta(seconds=45))
                message.next_try_date = datetime.utcnow() - timedelta(seconds=1)
                self.drain()
                self.assertEqual(message.state, "sent")
                self.assertEqual(message.try_count, 2)

    def test_network_failures_retried_with_duplicate_check(self):
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_TIMEOUT, "1")
        faults = [dict(status=502), dict(drop=True), dict(delay=3)]
        for fault in faults:
            with self.subTest(fault=fault):
                self.app._wecom_get_token()
                self.mock.add_fault(path="/cgi-bin/message/send", **fault)
                message = self.send()
                self.drain()
                self.assertEqual(message.state, "outgoing")
                self.assertTrue(message.resend_duplicate_check)
                message.next_try_date = datetime.utcnow() - timedelta(seconds=1)
                self.drain()
                self.assertEqual(message.state, "sent")
                self.assertEqual(self.last_payload()["enable_duplicate_check"], 1)

    def test_token_expired_mid_batch_one_refresh_nothing_lost(self):
        messages = self.Message.browse([self.send(content=f"m{i}").id for i in range(6)])
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=42001, errmsg="access_token expired", after=3)
        with self.assertMockCalls(gettoken=2, message_send=7):
            self.drain()
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertEqual(
            sorted(m["payload"]["text"]["content"] for m in self.mock.messages()), [f"m{i}" for i in range(6)]
        )

    def test_retries_exhausted(self):
        """A token WeCom keeps refusing (after its renewal) gives up after wecom_base.message_max_tries."""
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_MAX_TRIES, "2")
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=40014, errmsg="invalid access_token", times=-1)
        message = self.send()
        self.drain()
        self.assertEqual(message.state, "outgoing")
        message.next_try_date = datetime.utcnow() - timedelta(seconds=1)
        self.drain()
        self.assertEqual(message.state, "exception")
        self.assertEqual(message.failure_type, "retry_exhausted")
        self.assertIn("2 tries", message.failure_reason)
        self.assertIn("40014", message.failure_reason)

    def test_transport_failures_give_up_by_age_not_tries(self):
        """-1 (and the network, HTTP 5xx) is retried whatever the count of tries, until the message is older
        than wecom_base.message_expiry_hours."""
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_MAX_TRIES, "2")
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=-1, errmsg="system busy", times=-1)
        message = self.send()
        with self.assertWeComWarning("unreachable"):  # the third failure in a row opens the circuit
            for _try in range(3):
                self.drain()
                self.assertEqual(message.state, "outgoing")
                message.next_try_date = datetime.utcnow() - timedelta(seconds=1)
                channel = self.env["wecom.application.circuit"].search([])
                channel.next_probe_at = datetime.utcnow() - timedelta(seconds=1)
        self.assertEqual(message.try_count, 3)
        message.queued_date = datetime.utcnow() - timedelta(hours=24, minutes=1)
        self.drain()
        self.assertEqual((message.state, message.failure_type), ("exception", "retry_exhausted"))
        self.assertIn("24 hours", message.failure_reason)
        self.assertIn("-1", message.failure_reason)

    def test_config_error_fails_at_once(self):
        # one send after the other: the fault hits the first request to arrive
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=48002, errmsg="api forbidden")
        first = self.send(content="first")
        second = self.send(content="second")
        self.drain()
        self.assertEqual(first.state, "exception")
        self.assertEqual(first.failure_type, "config")
        self.assertEqual(first.try_count, 1)
        self.assertIn("48002", first.failure_reason)
        self.assertEqual(second.state, "sent")

    def test_crashed_sender_recovered_with_duplicate_check(self):
        message = self.send()
        lease = const.MESSAGE_CLAIM_LEASE
        message.write({"claimed_at": datetime.utcnow() - timedelta(seconds=30)})
        self.drain()
        self.assertEqual(message.state, "outgoing", "a fresh claim belongs to a live sender")
        message.write({"claimed_at": datetime.utcnow() - timedelta(seconds=lease + 5)})
        with self.assertWeComWarning("left in flight by a stopped sender"):
            self.drain()
        self.assertEqual(message.state, "sent")
        payload = self.last_payload()
        self.assertEqual(payload["enable_duplicate_check"], 1)
        self.assertEqual(payload["duplicate_check_interval"], 4 * 3600)

    def test_batches_and_retrigger(self):
        for i in range(5):
            self.send(content=f"b{i}")
        cron = self.env.ref("wecom_base.ir_cron_wecom_message_queue")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        processed = self.Message._cron_process_queue(batch_size=2, max_batches=1)
        self.assertEqual(processed, 2)
        self.assertGreater(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers)
        self.Message._cron_process_queue(batch_size=2)
        self.assertEqual(len(self.mock.messages()), 5)

    # ------------------------------------------------------------------ validation
    def test_validation_errors_name_the_field(self):
        cases = [
            (dict(content="x" * 2049), "Content: at most 2048 bytes"),
            (dict(content="你" * 683), "Content: at most 2048 bytes"),
            (dict(content="  "), "Content"),
            (dict(msgtype="markdown", content=""), "Content"),
            (dict(msgtype="textcard", title="t" * 129, description="d", url="https://x"), "Title: at most 128"),
            (dict(msgtype="textcard", title="t", description="d" * 513, url="https://x"), "Description: at most 512"),
            (dict(msgtype="textcard", title="t", description="d"), "URL"),
            (dict(msgtype="news", articles=[]), "Articles"),
            (dict(msgtype="news", articles=[{"title": "a", "url": "https://a"}] * 9), "Articles"),
            (dict(msgtype="image"), "Attachment"),
            (dict(userids=[]), "Recipients: give at least one"),
            (dict(userids=[f"u{i}" for i in range(1001)]), "at most 1000 users"),
            (dict(parties=list(range(101))), "at most 100 departments"),
            (dict(tags=list(range(101))), "at most 100 tags"),
            (dict(msgtype="voice"), "Argument msgtype"),
            (dict(content=42), "Argument content"),
            (dict(userids=[True]), "Argument userids"),
            (dict(users=[999999]), "Argument users: unknown"),
            (dict(articles="x"), "Argument articles"),
            (dict(msgtype="news", articles=[{"title": "no link"}]), "Argument articles: every article needs"),
            (dict(msgtype="news", articles=[{"url": "https://a"}]), "Argument articles: every article needs"),
            (dict(enable_duplicate_check=True, duplicate_check_interval=5 * 3600), "Duplicate check interval"),
        ]
        count = self.Message.search_count([])
        for kwargs, expected in cases:
            with (
                self.subTest(expected=expected, kwargs=str(kwargs)[:60]),
                self.assertRaisesRegex(ValidationError, expected),
            ):
                self.send(**kwargs)
        self.assertEqual(self.Message.search_count([]), count, "no message created by a refused call")

    def test_application_must_be_usable(self):
        with self.assertRaisesRegex(ValidationError, "Argument application"):
            self.Message.wecom_send(987654, userids="zhangsan", content="x")
        with self.assertRaisesRegex(ValidationError, "Argument application"):
            self.Message.wecom_send("1", userids="zhangsan", content="x")
        self.app.is_active = False
        with self.assertRaisesRegex(ValidationError, "disabled"):
            self.send()
        self.app.is_active = True
        self.company.wecom_corp_id = False
        with self.assertRaisesRegex(ValidationError, "CorpID"):
            self.send()

    def test_no_broadcast_unless_asked(self):
        no_id = self.user_plain
        self.assertFalse(no_id.wecom_userid)
        with self.assertRaisesRegex(ValidationError, "no WeCom user id"):
            self.send(userids=None, users=no_id)
        with self.assertRaisesRegex(ValidationError, "at least one"):
            self.send(userids="| , |")
        message = self.send(userids=None, to_all=True)
        self.drain()
        self.assertEqual(self.last_payload()["touser"], "@all")
        self.assertEqual(message.state, "sent")
        self.send(userids="@all|zhangsan")
        self.drain()
        self.assertEqual(self.last_payload()["touser"], "zhangsan", "@all among ids is not a broadcast")

    # ------------------------------------------------------------------ buttons
    def test_send_now_and_errors(self):
        message = self.Message.create({"application_id": self.app.id, "to_userids": "zhangsan", "content": "now"})
        self.assertEqual(message.state, "draft")
        with self.assertMockCalls(message_send=1):
            message.action_send_now()
        self.assertEqual(message.state, "sent")
        with self.assertRaisesRegex(UserError, "already sent"):
            message.action_send_now()
        failing = self.Message.create({"application_id": self.app.id, "to_userids": "invalid_x", "content": "x"})
        with self.assertRaisesRegex(ValidationError, "None of the recipients"):
            failing.action_send_now()

    def test_cancel_and_retry(self):
        message = self.send()
        message.action_cancel()
        self.assertEqual(message.state, "cancel")
        with self.assertMockCalls(message_send=0):
            self.drain()
        message.action_retry()
        self.assertEqual(message.state, "outgoing")
        self.drain()
        self.assertEqual(message.state, "sent")
        with self.assertRaises(UserError):
            message.action_cancel()
        with self.assertRaises(UserError):
            message.action_retry()

    def test_recall(self):
        message = self.send()
        with self.assertRaisesRegex(UserError, "Only sent"):
            message.action_recall()
        self.drain()
        message.action_recall()
        self.assertTrue(message.recalled)
        self.assertEqual(self.mock.stats()["recalls"][-1]["msgid"], message.msgid)
        with self.assertRaisesRegex(UserError, "already recalled"):
            message.action_recall()
        old = self.send()
        self.drain()
        old.sent_date = datetime.utcnow() - timedelta(hours=25)
        with self.assertRaisesRegex(UserError, "24 hours"):
            old.action_recall()

    # ------------------------------------------------------------------ access rights
    def test_send_api_access(self):
        with self.assertRaises(AccessError):
            self.Message.with_user(self.user_plain).wecom_send(self.app.id, userids="zhangsan", content="x")
        message = self.Message.with_user(self.user_wecom).wecom_send(self.app.id, userids="zhangsan", content="x")
        self.assertEqual(message.create_uid, self.user_wecom)
        self.assertEqual(message.with_user(self.user_wecom).read(["state"])[0]["state"], "outgoing")
        with self.assertRaises(AccessError):
            message.with_user(self.user_wecom).unlink()
        with self.assertRaises(AccessError):
            message.with_user(self.user_plain).read(["state"])
        other_company = self.env["res.company"].create({"name": "Other", "wecom_corp_id": "ww00000000000other"})
        other_app = self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 5, "secret": "s-other", "company_id": other_company.id}
        )
        with self.assertRaisesRegex(ValidationError, "Argument application"):
            self.Message.with_user(self.user_wecom).wecom_send(other_app.id, userids="zhangsan", content="x")

    def test_wecom_userid_rules(self):
        with self.assertRaises(AccessError):
            self.user_plain.with_user(self.user_wecom).write({"wecom_userid": "plain"})
        self.user_plain.with_user(self.user_manager).write({"wecom_userid": " plain "})
        self.assertEqual(self.user_plain.wecom_userid, "plain")
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.user_manager.wecom_userid = "plain"
        with self.assertRaisesRegex(ValidationError, "not valid"):
            self.user_manager.wecom_userid = "a b"

    def test_composer_from_users(self):
        self.user_plain.wecom_userid = "plainuser"
        composer = (
            self.env["wecom.message.composer"]
            .with_context(active_model="res.users", active_ids=(self.user_wecom | self.user_plain).ids)
            .create({"application_id": self.app.id, "content": "Hi all"})
        )
        self.assertEqual(composer.user_ids, self.user_wecom | self.user_plain)
        action = composer.action_send()
        message = self.Message.browse(action["res_id"])
        self.assertEqual(message.state, "outgoing")
        self.drain()
        self.assertEqual(self.last_payload()["touser"], "lisi|plainuser")
