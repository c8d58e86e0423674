"""WeCom > Configuration > Logs (issue 27, item 8): failed sends and failed WeCom calls of buttons are kept there,
read only, next to what the message, the application and the dashboard already say."""

from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WeComCase


@tagged("post_install", "-at_install")
class TestLogs(WeComCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_logging")
            self.last_log_id = cr.fetchone()[0]
        self.addCleanup(self.delete_new_logs)

    def delete_new_logs(self):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM ir_logging WHERE id > %s AND name = 'wecom_base'", [self.last_log_id])

    def new_logs(self):
        """The rows the Logs menu shows that the test added, read from a fresh cursor (they are committed apart)."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT level, path, func, line, message FROM ir_logging WHERE id > %s AND name = 'wecom_base' "
                "ORDER BY id",
                [self.last_log_id],
            )
            return cr.dictfetchall()

    def test_failed_sends_are_logged_once_per_reason(self):
        self.mock.add_fault(path="/cgi-bin/message/send", errcode=81013, errmsg="all invalid", times=2)
        messages = self.env["wecom.message"].with_user(self.user_wecom)
        first = messages.wecom_send(self.app, userids=["nobody"], content="a")
        second = messages.wecom_send(self.app, userids=["nobody"], content="b")
        self.env["wecom.message"]._cron_process_queue()
        self.assertEqual((first | second).mapped("state"), ["exception", "exception"])
        logs = self.new_logs()
        self.assertEqual(len(logs), 1, logs)
        self.assertEqual((logs[0]["level"], logs[0]["func"], logs[0]["path"]), ("WARNING", "send", "wecom.message"))
        self.assertIn("2 message(s) not sent", logs[0]["message"])
        self.assertIn("81013", logs[0]["message"])
        self.assertEqual(sorted(logs[0]["line"].split(",")), sorted(str(i) for i in (first | second).ids))

    def test_failed_button_is_logged(self):
        self.app.secret = "wrong-secret"
        with self.assertRaisesRegex(UserError, "40001"):
            self.app.with_user(self.user_manager).get_access_token()
        logs = self.new_logs()
        self.assertEqual([log["func"] for log in logs], ["handle_wecom_error"])
        self.assertIn("40001", logs[0]["message"])
        self.assertNotIn("wrong-secret", logs[0]["message"])

    def test_an_rpc_caller_cannot_write_in_the_logs(self):
        """handle_wecom_error is public (RPC): given an errcode or a made-up answer, it raises but logs nothing, so a
        WeCom user cannot put their own text in the log an admin trusts."""
        for error in (40001, {"errcode": 40001, "errmsg": "forged: call +86 000 now"}):
            with self.subTest(error=error), self.assertRaises(UserError):
                self.env["wecom.application"].with_user(self.user_wecom).handle_wecom_error(error)
        self.assertEqual(self.new_logs(), [])

    def test_logs_are_read_only_in_the_menu(self):
        action = self.env.ref("wecom_base.wecom_log_action")
        self.assertEqual(
            [view.view_id for view in action.view_ids],
            [self.env.ref("wecom_base.wecom_log_view_list"), self.env.ref("wecom_base.wecom_log_view_form")],
        )
        for view in action.view_ids.view_id:
            arch = etree.fromstring(view.arch)
            self.assertEqual((arch.get("create"), arch.get("edit"), arch.get("delete")), ("0", "0", "0"), view.name)
