"""The message form as an admin meets it (issue 27): the only enabled application is chosen for them, a markdown
title reads as text, and a robot message has no application."""

from odoo.tests import Form, tagged

from .common import MOCK_ROBOT_KEY, WeComCase


@tagged("post_install", "-at_install")
class TestMessageForm(WeComCase):
    def test_the_only_enabled_application_is_the_default(self):
        form = Form(self.env["wecom.message"])
        self.assertEqual(form.application_id, self.app)
        form.content = "Hello"
        form.to_userids = "zhangsan"
        message = form.save()
        self.assertEqual(message.application_id, self.app, "the first save works without choosing")

    def test_no_default_when_there_is_a_choice(self):
        self.env["wecom.application"].create({"app_name": "Second", "agent_id": 4343, "secret": "second-secret"})
        self.assertFalse(Form(self.env["wecom.message"]).application_id)

    def test_markdown_title_reads_as_text(self):
        message = self.env["wecom.message"].create(
            {"application_id": self.app.id, "msgtype": "markdown", "content": "## **Order** [SO042](https://x.y)\nbody"}
        )
        self.assertEqual(message.name, "Order SO042")
        text = self.env["wecom.message"].create(
            {"application_id": self.app.id, "msgtype": "text", "content": "# not a title, order_ref_1"}
        )
        self.assertEqual(text.name, "# not a title, order_ref_1", "plain text is shown as written")

    def test_robot_message_has_no_application(self):
        robot = self.env["wecom.robot"].create(
            {"name": "Ops", "webhook_key": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={MOCK_ROBOT_KEY}"}
        )
        message = self.env["wecom.message"].wecom_send_robot(robot, content="hi")
        self.assertEqual(message.channel, "robot")
        self.assertFalse(message.application_id)
