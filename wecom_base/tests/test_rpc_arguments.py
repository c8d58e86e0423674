"""wecom_send as RPC clients call it: every wrong argument is a ValidationError that names it.

Python would refuse an unknown keyword or a missing application with a bare TypeError, which an RPC
client receives as a server traceback; recipient problems must name the argument to fix.
"""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .. import compat
from .common import WeComCase


@tagged("post_install", "-at_install")
class TestRpcArguments(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"].with_user(cls.user_wecom)

    def rpc_send(self, args, kwargs):
        """``wecom_send`` dispatched the way XML-RPC / JSON-RPC ``execute_kw`` dispatches it."""
        return compat.call_kw(self.Message, "wecom_send", args, kwargs)

    def assertRefused(self, args, kwargs, *expected):
        """The call raises a ValidationError containing every ``expected`` text, and creates nothing."""
        count = self.env["wecom.message"].search_count([])
        with self.assertRaises(ValidationError) as caught:
            self.rpc_send(args, kwargs)
        for text in expected:
            self.assertIn(text, str(caught.exception))
        self.assertEqual(self.env["wecom.message"].search_count([]), count, "a refused call creates nothing")
        return str(caught.exception)

    def test_rpc_call_returns_the_message_id(self):
        message_id = self.rpc_send([self.app.id], {"userids": ["zhangsan"], "content": "Hello"})
        # 18.0: the id (@api.returns); 19.0 returns every record as its list of ids
        self.assertEqual(type(message_id), list if compat.ODOO_19 else int)
        message = self.env["wecom.message"].browse(message_id)
        self.assertEqual(
            (message.state, message.to_userids, message.create_uid), ("outgoing", "zhangsan", self.user_wecom)
        )

    def test_unknown_keyword_is_named(self):
        text = self.assertRefused(
            [self.app.id], {"userid": ["zhangsan"], "content": "x"}, "Argument userid: wecom_send has no such argument"
        )
        self.assertIn("userids", text, "the message lists the arguments wecom_send takes")
        self.assertRefused(
            [self.app.id], {"userids": ["zhangsan"], "content": "x", "zz": 1, "body": "y"}, "Argument body, zz:"
        )

    def test_missing_application(self):
        for args, kwargs in (([], {}), ([False], {}), ([], {"application": None})):
            with self.subTest(args=args, kwargs=kwargs):
                self.assertRefused(
                    args, {"userids": ["zhangsan"], "content": "x", **kwargs}, "Argument application: missing"
                )

    def test_no_recipient_names_the_arguments(self):
        for recipients in ({}, {"userids": []}, {"userids": " | "}, {"parties": [], "tags": ""}):
            with self.subTest(recipients=recipients):
                self.assertRefused(
                    [self.app.id],
                    {"content": "x", **recipients},
                    "Recipients: give at least one",
                    "arguments users, userids, parties, tags",
                    "to_all=True",
                )

    def test_at_all_is_not_a_recipient_list(self):
        self.assertRefused([self.app.id], {"userids": "@all", "content": "x"}, "Argument userids:", "to_all=True")
        message = self.Message.browse(self.rpc_send([self.app.id], {"to_all": True, "content": "x"}))
        self.assertEqual(message._wecom_recipients()["touser"], ["@all"])

    def test_recipient_limits_name_the_argument(self):
        self.assertRefused(
            [self.app.id],
            {"userids": [f"u{i}" for i in range(1001)], "content": "x"},
            "Argument userids: at most 1000 users per message, got 1001",
        )
        self.assertRefused(
            [self.app.id],
            {"parties": list(range(1, 102)), "content": "x"},
            "Argument parties: at most 100 departments per message, got 101",
        )
        self.assertRefused(
            [self.app.id],
            {"tags": [str(i) for i in range(1, 102)], "content": "x"},
            "Argument tags: at most 100 tags per message, got 101",
        )
        # the limits themselves are allowed
        message_id = self.rpc_send(
            [self.app.id], {"userids": [f"u{i}" for i in range(1000)], "parties": list(range(1, 101)), "content": "x"}
        )
        self.assertEqual(len(self.env["wecom.message"].browse(message_id)._wecom_recipients()["touser"]), 1000)

    def test_users_and_userids_count_together(self):
        self.user_manager.wecom_userid = "manager"
        self.assertRefused(
            [self.app.id],
            {"users": [self.user_manager.id], "userids": [f"u{i}" for i in range(1000)], "content": "x"},
            "Arguments users and userids: at most 1000 users per message together, got 1001",
        )
        # the same person given twice counts once
        message_id = self.rpc_send(
            [self.app.id],
            {"users": [self.user_manager.id], "userids": ["manager"] + [f"u{i}" for i in range(999)], "content": "x"},
        )
        self.assertTrue(message_id)

    def test_refused_calls_send_nothing(self):
        with self.assertMockCalls(message_send=0):
            for args, kwargs in (
                ([self.app.id], {"content": "x"}),
                ([self.app.id], {"userid": "zhangsan", "content": "x"}),
                ([], {"userids": "zhangsan", "content": "x"}),
            ):
                with self.assertRaises(ValidationError):
                    self.rpc_send(args, kwargs)
            self.env["wecom.message"]._cron_process_queue()
