"""What the chatter of applications shows: refreshes and failures (once per new failure)."""

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WeComCase


@tagged("post_install", "-at_install")
class TestApplicationChatter(WeComCase):
    def notes(self, app=None):
        app = app or self.app
        app.invalidate_recordset(["message_ids"])
        return [str(body) for body in app.message_ids.mapped("body")]

    def test_refresh_is_noted(self):
        before = len(self.notes())
        self.app.refresh_app_info()
        notes = self.notes()
        self.assertEqual(len(notes), before + 1)
        self.assertIn("Refreshed from WeCom", notes[0])

    def test_test_connection_posts_one_note(self):
        before = len(self.notes())
        self.app.action_test_connection()
        notes = self.notes()
        self.assertEqual(len(notes), before + 1)
        self.assertIn("Connected to WeCom", notes[0])

    def test_new_failure_is_noted_once(self):
        self.app.secret = "wrong-secret"
        before = len(self.notes())
        for _attempt in range(3):
            # unittest's assertRaisesRegex: no savepoint, as the real error path keeps its own transaction
            with self.assertRaisesRegex(UserError, "secret"):
                self.app.get_access_token()
        notes = self.notes()
        self.assertEqual(len(notes), before + 1, "the same failure again must not flood the chatter")
        self.assertIn("WeCom failure", notes[0])
        self.assertIn("40001", notes[0])
        self.assertNotIn("wrong-secret", notes[0])
