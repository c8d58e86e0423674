import base64
import hashlib
from datetime import datetime, timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .. import const
from .common import MOCK_ROBOT_KEY, WeComCase
from .test_wecom_message import PNG


@tagged("post_install", "-at_install")
class TestWeComRobot(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.robot = cls.env["wecom.robot"].create(
            {
                "name": "Ops group",
                "webhook_key": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={MOCK_ROBOT_KEY}",
            }
        )
        cls.Message = cls.env["wecom.message"]

    def send(self, **kwargs):
        kwargs.setdefault("content", "Hello group")
        return self.Message.wecom_send_robot(self.robot, **kwargs)

    def drain(self):
        self.Message._cron_process_queue()

    def robot_payloads(self):
        return [m["payload"] for m in self.mock.robot_messages()]

    def test_key_from_pasted_url_and_secret(self):
        self.assertEqual(self.robot.webhook_key, MOCK_ROBOT_KEY)
        self.assertEqual(self.robot.webhook_key_hint, "…" + MOCK_ROBOT_KEY[-4:])
        with self.assertRaisesRegex(ValidationError, "Webhook Key"):
            self.robot.webhook_key = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
        with self.assertRaisesRegex(ValidationError, "Webhook Key"):
            self.robot.webhook_key = "not a key!"
        robot = self.robot.with_user(self.user_wecom)
        with self.assertRaises(AccessError):
            robot.read(["webhook_key"])
        self.assertEqual(robot.read(["webhook_key_hint"])[0]["webhook_key_hint"], self.robot.webhook_key_hint)

    def test_robot_payloads(self):
        image = self.env["ir.attachment"].create({"name": "dot.png", "datas": PNG, "mimetype": "image/png"})
        document = self.env["ir.attachment"].create(
            {"name": "r.txt", "datas": base64.b64encode(b"abc"), "mimetype": "text/plain"}
        )
        raw = base64.b64decode(PNG)
        self.send(content="hi", mentioned_userids=["zhangsan"], mentioned_mobiles="13800000000", mention_all=True)
        self.send(msgtype="markdown", content="# title\n" + "x" * 3000)
        self.send(msgtype="image", content=None, attachment=image)
        self.send(msgtype="news", content=None, articles=[{"title": "A", "url": "https://a"}])
        self.send(msgtype="file", content=None, attachment=document)
        self.send(msgtype="template_card", content=None, title="Alert", description="disk full")
        self.drain()
        payloads = self.robot_payloads()
        self.assertEqual(
            payloads[0],
            {
                "msgtype": "text",
                "text": {
                    "content": "hi",
                    "mentioned_list": ["zhangsan", "@all"],
                    "mentioned_mobile_list": ["13800000000"],
                },
            },
        )
        self.assertEqual(payloads[1]["markdown"]["content"], "# title\n" + "x" * 3000)
        self.assertEqual(
            payloads[2],
            {
                "msgtype": "image",
                "image": {"base64": base64.b64encode(raw).decode(), "md5": hashlib.md5(raw).hexdigest()},
            },
        )
        self.assertEqual(payloads[3], {"msgtype": "news", "news": {"articles": [{"title": "A", "url": "https://a"}]}})
        self.assertEqual(payloads[4]["msgtype"], "file")
        self.assertTrue(payloads[4]["file"]["media_id"])
        self.assertEqual(payloads[5]["template_card"]["main_title"], {"title": "Alert", "desc": "disk full"})
        self.assertEqual(self.mock.count("/cgi-bin/gettoken"), 0, "robots need no access token")
        self.assertEqual(set(self.Message.search([("robot_id", "=", self.robot.id)]).mapped("state")), {"sent"})

    def test_validation(self):
        with self.assertRaisesRegex(ValidationError, "Content: at most 4096"):
            self.send(msgtype="markdown", content="x" * 4097)
        with self.assertRaisesRegex(ValidationError, "Argument msgtype"):
            self.send(msgtype="textcard")
        big = self.env["ir.attachment"].create(
            {
                "name": "big.png",
                "datas": base64.b64encode(b"\x89PNG" + b"0" * (2 * 1024 * 1024)),
                "mimetype": "image/png",
            }
        )
        with self.assertRaisesRegex(ValidationError, "2 MB"):
            self.send(msgtype="image", content=None, attachment=big)
        with self.assertRaisesRegex(ValidationError, "Argument robot"):
            self.Message.wecom_send_robot(424242, content="x")

    def test_throttled_to_twenty_a_minute(self):
        messages = self.Message.browse([self.send(content=f"r{i}").id for i in range(25)])
        self.drain()
        sent = messages.filtered(lambda m: m.state == "sent")
        waiting = messages - sent
        self.assertEqual(len(sent), const.ROBOT_MESSAGES_PER_MINUTE)
        self.assertEqual(len(waiting), 5)
        self.assertEqual(set(waiting.mapped("state")), {"outgoing"})
        self.assertEqual(set(waiting.mapped("try_count")), {0}, "deferring is not a failed try")
        self.assertTrue(all(m.next_try_date > datetime.utcnow() for m in waiting))
        self.assertEqual(len(self.mock.robot_messages()), 20)
        # a minute later (for Odoo and for the mock WeCom)
        self.mock.travel(61)
        sent.write({"sent_date": datetime.utcnow() - timedelta(seconds=61)})
        waiting.write({"next_try_date": datetime.utcnow() - timedelta(seconds=1)})
        self.drain()
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertEqual(len(self.mock.robot_messages()), 25)

    def test_invalid_key_fails_at_once(self):
        self.robot.webhook_key = "00000000-dead-beef-0000-000000000000"
        message = self.send()
        self.drain()
        self.assertEqual(message.state, "exception")
        self.assertEqual(message.failure_type, "config")
        self.assertEqual(message.try_count, 1)
        self.assertIn("93000", message.failure_reason)
        self.assertIn("webhook URL again", message.failure_reason)
        self.assertNotIn("00000000-dead-beef-0000-000000000000", message.failure_reason)

    def test_send_test_message(self):
        action = self.robot.action_send_test_message()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Test message from Odoo", self.robot_payloads()[-1]["text"]["content"])
        self.robot.webhook_key = "00000000-dead-beef-0000-000000000000"
        with self.assertRaisesRegex(UserError, "93000"):
            self.robot.action_send_test_message()
