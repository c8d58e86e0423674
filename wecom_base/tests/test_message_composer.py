"""The "Send WeCom message" composer (issue 27, item 6): text cards, news, images and files (an attachment of the
record it was opened from, or a new upload), and its preview. The composer gathers values only: the rules are
``wecom.message``'s (``wecom_send``), so a bad value is refused there and leaves nothing behind."""

import base64

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from .common import WeComCase
from .test_wecom_message import PNG


@tagged("post_install", "-at_install")
class TestMessageComposer(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        cls.Attachment = cls.env["ir.attachment"]
        cls.user_plain.wecom_userid = "plainuser"
        # files of the recipient's user record (its attachments), put there by an administrator
        cls.user_image = cls.Attachment.create(
            {"name": "badge.png", "datas": PNG, "res_model": "res.users", "res_id": cls.user_plain.id}
        )
        cls.user_document = cls.Attachment.create(
            {
                "name": "contract.txt",
                "datas": base64.b64encode(b"contract"),
                "mimetype": "text/plain",
                "res_model": "res.users",
                "res_id": cls.user_plain.id,
            }
        )
        cls.other_user_document = cls.Attachment.create(
            {
                "name": "other.txt",
                "datas": base64.b64encode(b"other"),
                "mimetype": "text/plain",
                "res_model": "res.users",
                "res_id": cls.user_manager.id,
            }
        )
        # a file attached to no record, created by the superuser: only its creator and administrators read it
        cls.private_file = cls.Attachment.create(
            {"name": "private.txt", "datas": base64.b64encode(b"private"), "mimetype": "text/plain"}
        )

    def composer(self, user=None, **values):
        """A composer opened from the user form of ``user_plain``, as ``user`` (the WeCom user by default)."""
        Composer = (
            self.env["wecom.message.composer"]
            .with_user(user or self.user_wecom)
            .with_context(active_model="res.users", active_id=self.user_plain.id, active_ids=[self.user_plain.id])
        )
        return Composer.create({"application_id": self.app.id, **values})

    def send(self, composer):
        action = composer.action_send()
        return self.Message.browse(action["res_id"])

    def drain(self):
        return self.Message._cron_process_queue()

    def last_payload(self):
        return self.mock.messages()[-1]["payload"]

    def assertNothingWritten(self, composer, error, regex):
        """Sending ``composer`` raises ``error`` (matching ``regex``) and leaves no message nor attachment."""
        messages, attachments = self.Message.search_count([]), self.Attachment.sudo().search_count([])
        with self.assertRaisesRegex(error, regex):
            composer.action_send()
        self.assertEqual(self.Message.search_count([]), messages, "no message was written")
        self.assertEqual(self.Attachment.sudo().search_count([]), attachments, "no attachment was written")

    # ------------------------------------------------------------------ text card
    def test_textcard(self):
        composer = self.composer(
            msgtype="textcard",
            content="typed before choosing the card",  # not the card's: it does not go to the message
            title="Leave approved",
            description="From 1 to 3 May",
            url="https://example.com/leave/7",
            btntxt="Open",
        )
        self.assertEqual(composer.user_ids, self.user_plain)
        message = self.send(composer)
        self.assertEqual(message.state, "outgoing")
        self.assertEqual(message.create_uid, self.user_wecom)
        self.assertFalse(message.content)
        with self.assertMockCalls(message_send=1):
            self.drain()
        self.assertEqual(message.state, "sent", message.failure_reason)
        payload = self.last_payload()
        self.assertEqual(payload["msgtype"], "textcard")
        self.assertEqual(payload["touser"], "plainuser")
        self.assertEqual(
            payload["textcard"],
            {
                "title": "Leave approved",
                "description": "From 1 to 3 May",
                "url": "https://example.com/leave/7",
                "btntxt": "Open",
            },
        )

    def test_textcard_refused_by_the_message_rules(self):
        card = {"msgtype": "textcard", "title": "T", "description": "D", "url": "https://example.com"}
        self.assertNothingWritten(self.composer(**card, btntxt="Too long"), ValidationError, "Button Text")
        self.assertNothingWritten(self.composer(**{**card, "url": False}), ValidationError, "Title, Description, URL")
        self.assertNothingWritten(self.composer(**{**card, "title": "标" * 50}), ValidationError, "Title: at most 128")

    # ------------------------------------------------------------------ news
    def test_news_in_the_order_of_the_articles(self):
        composer = self.composer(
            msgtype="news",
            article_ids=[
                (0, 0, {"sequence": 2, "title": "Second", "url": "https://example.com/2"}),
                (
                    0,
                    0,
                    {
                        "sequence": 1,
                        "title": "First",
                        "description": "Read me",
                        "url": "https://example.com/1",
                        "picurl": "https://example.com/1.png",
                    },
                ),
            ],
        )
        message = self.send(composer)
        self.assertEqual(message.article_ids.mapped("title"), ["First", "Second"])
        with self.assertMockCalls(message_send=1):
            self.drain()
        self.assertEqual(message.state, "sent", message.failure_reason)
        self.assertEqual(
            self.last_payload()["news"],
            {
                "articles": [
                    {
                        "title": "First",
                        "description": "Read me",
                        "url": "https://example.com/1",
                        "picurl": "https://example.com/1.png",
                    },
                    {"title": "Second", "url": "https://example.com/2"},
                ]
            },
        )

    def test_news_refused_by_the_message_rules(self):
        self.assertNothingWritten(self.composer(msgtype="news"), ValidationError, "Articles: a news message has 1 to 8")
        no_url = [(0, 0, {"title": "No link"})]
        self.assertNothingWritten(
            self.composer(msgtype="news", article_ids=no_url), ValidationError, "every article needs a title and a URL"
        )
        nine = [(0, 0, {"title": f"A{i}", "url": f"https://example.com/{i}"}) for i in range(9)]
        self.assertNothingWritten(self.composer(msgtype="news", article_ids=nine), ValidationError, "got 9")

    def test_news_through_the_form(self):
        """The form view: the fields of the chosen type, the articles' list, the preview as it is typed."""
        form = Form(
            self.env["wecom.message.composer"]
            .with_user(self.user_wecom)
            .with_context(active_model="res.users", active_id=self.user_plain.id, active_ids=[self.user_plain.id])
        )
        form.application_id = self.app
        form.msgtype = "news"
        with form.article_ids.new() as article:
            article.title = "Quarterly <results>"
            article.url = "https://example.com/q"
        self.assertIn("Quarterly &lt;results&gt;", form.preview)
        composer = form.save()
        message = self.send(composer)
        self.assertEqual((message.msgtype, message.article_ids.title), ("news", "Quarterly <results>"))

    # ------------------------------------------------------------------ image and file
    def test_attachment_choices_are_the_records(self):
        composer = self.composer(msgtype="file")
        self.assertEqual(composer.res_model, "res.users")
        self.assertEqual(composer.attachment_choice_ids, self.user_image | self.user_document)
        composer.msgtype = "image"
        self.assertEqual(composer.attachment_choice_ids, self.user_image, "images only for an image message")
        composer.msgtype = "text"
        self.assertFalse(composer.attachment_choice_ids)

    def test_image_from_the_records_attachments(self):
        message = self.send(self.composer(msgtype="image", attachment_id=self.user_image.id))
        self.assertEqual(message.attachment_id, self.user_image)
        with self.assertMockCalls(media_upload=1, message_send=1):
            self.drain()
        self.assertEqual(message.state, "sent", message.failure_reason)
        self.assertEqual(self.mock.stats()["uploads"][-1]["filename"], "badge.png")
        self.assertEqual(self.last_payload()["image"], {"media_id": message.media_id})

    def test_file_from_the_records_attachments(self):
        message = self.send(self.composer(msgtype="file", attachment_id=self.user_document.id))
        with self.assertMockCalls(media_upload=1, message_send=1):
            self.drain()
        self.assertEqual(message.state, "sent", message.failure_reason)
        self.assertEqual(self.mock.stats()["uploads"][-1]["type"], "file")
        self.assertEqual(self.last_payload()["file"], {"media_id": message.media_id})

    def test_image_must_be_an_image(self):
        self.assertNothingWritten(
            self.composer(msgtype="image", attachment_id=self.user_document.id), ValidationError, "not an image"
        )
        self.assertNothingWritten(self.composer(msgtype="file"), ValidationError, "a file message needs a file")

    def test_uploaded_file_is_attached_to_the_message(self):
        composer = self.composer(
            msgtype="file", upload_file=base64.b64encode(b"minutes"), upload_filename="minutes.txt"
        )
        message = self.send(composer)
        attachment = message.attachment_id
        self.assertEqual(attachment.name, "minutes.txt")
        self.assertEqual((attachment.res_model, attachment.res_id), ("wecom.message", message.id))
        self.assertEqual(attachment.create_uid, self.user_wecom)
        with self.assertMockCalls(media_upload=1, message_send=1):
            self.drain()
        self.assertEqual(message.state, "sent", message.failure_reason)
        self.assertEqual(self.mock.stats()["uploads"][-1]["filename"], "minutes.txt")

    def test_uploaded_image_refused_leaves_no_attachment(self):
        composer = self.composer(
            msgtype="image", upload_file=base64.b64encode(b"not a picture"), upload_filename="notes.txt"
        )
        self.assertNothingWritten(composer, ValidationError, "not an image")

    def test_unreadable_attachment_cannot_be_sent(self):
        """The composer takes any attachment id (RPC): the message's own check refuses one its author may not
        read, and nothing is written."""
        other_company = self.env["res.company"].create({"name": "Other Co", "wecom_corp_id": "ww0000000000other"})
        other_app = self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000009, "secret": "s-other", "company_id": other_company.id}
        )
        # a file of another company's application: the WeCom user may not read that application
        foreign = self.Attachment.create(
            {
                "name": "payroll.txt",
                "datas": base64.b64encode(b"payroll"),
                "mimetype": "text/plain",
                "res_model": "wecom.application",
                "res_id": other_app.id,
            }
        )
        for attachment in (self.private_file, foreign):
            with self.subTest(attachment=attachment.name):
                composer = self.composer(msgtype="file", attachment_id=attachment.id)
                self.assertNotIn(attachment, composer.attachment_choice_ids)
                self.assertNotIn(attachment.name, composer.preview, "the preview does not show its name")
                self.assertNothingWritten(composer, AccessError, "may not read")
        # the same file is sent by a user who may read it
        admin = self.env.ref("base.user_admin")
        message = self.send(self.composer(user=admin, msgtype="file", attachment_id=self.private_file.id))
        self.assertEqual(message.attachment_id, self.private_file)

    # ------------------------------------------------------------------ preview
    def test_preview_escapes_what_the_user_typed(self):
        composer = self.composer(content="<b>bold</b> & <script>alert(1)</script>")
        preview = str(composer.preview)
        self.assertIn("Odoo Notifications", preview, "the sending application")
        self.assertIn("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;", preview)
        self.assertNotIn("<b>", preview)
        self.assertNotIn("<script", preview)

        composer.write(
            {
                "msgtype": "textcard",
                "title": "<img src=x onerror=alert(1)>",
                "description": "<i>line</i>",
                "url": "https://example.com/?a=1&b=2",
            }
        )
        preview = str(composer.preview)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", preview)
        self.assertIn("&lt;i&gt;line&lt;/i&gt;", preview)
        self.assertNotIn("<img", preview)
        self.assertNotIn("<i>", preview)
        self.assertIn("Details", preview, "WeCom's own button text when none is given")

    def test_preview_news_loads_web_pictures_only(self):
        composer = self.composer(
            msgtype="news",
            article_ids=[
                (0, 0, {"title": "Safe", "url": "https://example.com/1", "picurl": "https://example.com/a.png"}),
                (0, 0, {"title": "Unsafe", "url": "https://example.com/2", "picurl": "javascript:alert(1)"}),
            ],
        )
        preview = str(composer.preview)
        self.assertIn('src="https://example.com/a.png"', preview)
        self.assertNotIn("javascript:", preview)
        self.assertIn("Unsafe", preview)

    def test_preview_of_attachments(self):
        composer = self.composer(msgtype="image", attachment_id=self.user_image.id)
        self.assertIn(f'src="/web/image/{self.user_image.id}"', str(composer.preview))
        composer.write({"msgtype": "file", "attachment_id": self.user_document.id})
        self.assertIn("contract.txt", str(composer.preview))
        composer.write({"attachment_id": False, "upload_file": base64.b64encode(b"x"), "upload_filename": "<new>.txt"})
        self.assertIn("&lt;new&gt;.txt", str(composer.preview))
        composer.write({"upload_file": False, "msgtype": "text", "content": False})
        self.assertIn("Nothing to preview yet.", str(composer.preview))
