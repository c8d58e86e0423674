from urllib.parse import parse_qs, urlencode, urlsplit

from markupsafe import Markup

from odoo import Command
from odoo.tests import new_test_user, tagged

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, MOCK_CORP_ID, WeComCase

from ..models.wecom_mail_notification import cut

BODY = Markup("Please check the <b>delivery</b> date")


class WeComMailCase(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"wecom_notify_application_id": cls.app.id, "wecom_mail_replies": True})
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://odoo.example.com")

        def user(login, userid, groups="base.group_user,base.group_partner_manager", **vals):
            new = new_test_user(cls.env, login=login, groups=groups, name=login.title(), **vals)
            new.write({"wecom_userid": userid, "wecom_notify": vals.get("wecom_notify", True)})
            return new

        cls.poster = user("wm_poster", "poster")
        cls.follower = user("wm_follower", "follower")
        cls.optout = user("wm_optout", "optout", wecom_notify=False)
        cls.archived = user("wm_archived", "archived")
        cls.portal = user("wm_portal", "portal", groups="base.group_portal")
        cls.no_userid = new_test_user(cls.env, login="wm_nouserid", groups="base.group_user")
        cls.archived.active = False
        cls.record = cls.env["res.partner"].create({"name": "Acme Corporation"})
        cls.everyone = cls.poster | cls.follower | cls.optout | cls.archived | cls.portal | cls.no_userid
        cls.record.message_subscribe(partner_ids=cls.everyone.partner_id.ids)
        cls.callback = cls.env["wecom.callback"].create(
            {
                "application_id": cls.app.id,
                "callback_token": "MailTok1",
                "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            }
        )

    # helpers ---------------------------------------------------------------------------------
    def post(self, record=None, author=None, body=BODY, **kwargs):
        record = (record or self.record).with_user(author or self.poster)
        return record.message_post(body=body, message_type="comment", subtype_xmlid="mail.mt_comment", **kwargs)

    def link(self, path):
        """The URL a card opens for ``path``: through wecom_auth's silent login when it is installed."""
        if hasattr(self.company, "_wecom_auth_application"):
            query = urlencode({"redirect": path, "company_id": self.company.id})
            return f"http://odoo.example.com/wecom/auth/login?{query}"
        return f"http://odoo.example.com{path}"

    def cards_to(self, userid):
        return self.env["wecom.message"].sudo().search([("user_ids.wecom_userid", "=", userid)], order="id")

    def notifications(self, user, **domain):
        extra = [(key, "=", value) for key, value in domain.items()]
        return self.env["wecom.mail.notification"].sudo().search([("user_id", "=", user.id), *extra], order="id")

    def drain(self):
        self.env["wecom.message"].sudo()._cron_process_queue()

    def event(self, xml):
        Event = self.env["wecom.callback.event"]
        event_id, _reply = Event._wecom_store(self.callback, xml.encode())
        self.assertTrue(event_id)
        event = Event.browse(event_id)
        event.action_process_now()
        self.assertEqual(event.state, "done", event.error_reason)
        return event

    def click(self, task_id, member, key="done"):
        code = self.mock.card_click(task_id, member, key)
        return self.event(
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[{member}]]>"
            f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )

    def text_from(self, member, content, msg_id="1"):
        return self.event(
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[{member}]]>"
            f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )

    def texts_to(self, userid):
        return self.env["wecom.message"].sudo().search([("to_userids", "=", userid), ("msgtype", "=", "text")])


@tagged("post_install", "-at_install")
class TestWeComMailNotify(WeComMailCase):
    def test_comment_reaches_an_opted_in_follower_once(self):
        with self.assertMockCalls(message_send=0, gettoken=0):  # nothing leaves the poster's transaction
            message = self.post()
        cards = self.cards_to("follower")
        self.assertEqual(len(cards), 1)
        self.assertEqual(cards.msgtype, "template_card")
        self.assertEqual(cards.state, "outgoing")
        self.assertEqual(cards.title, "Acme Corporation")
        self.assertIn("delivery", cards.content)
        self.assertNotIn("<b>", cards.content)
        self.assertEqual(cards.url, self.link(f"/odoo/res.partner/{self.record.id}"))
        row = self.notifications(self.follower)
        self.assertEqual((row.model, row.res_id, row.mail_message_id), ("res.partner", self.record.id, message))
        with self.assertMockCalls(message_send=1):
            self.drain()
        [sent] = self.mock.messages()
        payload = sent["payload"]
        self.assertEqual(payload["touser"], "follower")
        self.assertEqual(payload["template_card"]["main_title"]["title"], "Acme Corporation")
        self.assertEqual(payload["template_card"]["card_action"]["url"], cards.url)
        self.assertEqual(payload["template_card"]["horizontal_content_list"][0]["value"], "Wm_Poster")

    def test_author_optout_archived_portal_get_nothing(self):
        self.post()
        for userid in ("poster", "optout", "archived", "portal"):
            self.assertFalse(self.cards_to(userid), userid)
        self.assertFalse(self.notifications(self.no_userid))
        self.assertEqual(len(self.env["wecom.mail.notification"].sudo().search([("res_id", "=", self.record.id)])), 1)

    def test_note_reaches_only_mentioned(self):
        self.record.with_user(self.poster).message_post(
            body="internal", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        self.assertFalse(self.cards_to("follower"))
        self.record.with_user(self.poster).message_post(
            body="for you",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=self.follower.partner_id.ids,
        )
        self.assertEqual(len(self.cards_to("follower")), 1)

    def test_no_application_no_card(self):
        self.company.wecom_notify_application_id = False
        self.post()
        self.assertFalse(self.env["wecom.mail.notification"].sudo().search([("res_id", "=", self.record.id)]))

    def test_silent_login_link_with_wecom_auth(self):
        if not hasattr(self.company, "_wecom_auth_application"):
            self.skipTest("wecom_auth is not installed")
        from odoo.addons.wecom_auth.controllers.main import local_path  # noqa: PLC0415 - optional addon

        self.post()
        url = urlsplit(self.cards_to("follower").url)
        self.assertEqual(url.path, "/wecom/auth/login")
        redirect = parse_qs(url.query)["redirect"][0]
        self.assertEqual(redirect, f"/odoo/res.partner/{self.record.id}")
        self.assertEqual(local_path(redirect), redirect, "wecom_auth accepts the redirect after the login")

    def test_direct_chat(self):
        Channel = self.env["discuss.channel"].with_user(self.poster)
        get_chat = getattr(Channel, "_get_or_create_chat", None) or Channel.channel_get
        chat = get_chat(self.follower.partner_id.ids)
        self.post(record=chat, body="Lunch?")
        card = self.cards_to("follower")
        self.assertEqual(len(card), 1)
        self.assertEqual(card.title, "Wm_Poster")
        self.assertEqual(card.description, "Direct message")
        self.assertEqual(card.url, self.link(f"/odoo/discuss?active_id=discuss.channel_{chat.id}"))
        self.assertFalse(self.cards_to("poster"))

    def test_text_is_cut_between_characters(self):
        text = "订单" * 300
        self.assertEqual(cut(text, 112), "订单" * 55 + "订…")
        self.assertLessEqual(len(cut(text, 1000).encode()), 512)
        self.assertTrue(cut(text, 1000).endswith("…"))
        self.post(body="<p>" + "😀" * 500 + "</p>")
        content = self.cards_to("follower").content
        self.assertEqual(len(content), 112)
        self.assertEqual(content.encode().decode(), content)

    def test_translated_to_recipient_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["base", "mail", "wecom_mail"], ["zh_CN"], overwrite=True)
        self.follower.lang = "zh_CN"
        self.post()
        card = self.cards_to("follower")
        self.assertEqual(
            card.description, self.env["ir.model"].with_context(lang="zh_CN")._get("res.partner").display_name
        )
        self.assertNotEqual(card.description, "Contact")
        self.assertEqual(card.card["horizontal_content_list"][0]["keyname"], "来自")

    def test_digest_beyond_three_waiting(self):
        for number in range(7):
            self.post(body=f"message {number}")
        cards = self.cards_to("follower")
        self.assertEqual(len(cards), 4, "three cards, then one digest")
        digest = cards[-1]
        self.assertEqual(digest.title, "4 new messages")
        self.assertEqual(len(self.notifications(self.follower)), 7)
        self.assertEqual(len(self.notifications(self.follower, digest=True)), 4)
        other = self.env["res.partner"].create({"name": "Beta Ltd"})
        other.message_subscribe(partner_ids=self.follower.partner_id.ids)
        self.post(record=other)
        self.assertEqual(len(self.cards_to("follower")), 4)
        self.assertEqual(digest.title, "5 new messages on 2 documents")
        self.assertIn("Beta Ltd", digest.content)
        self.drain()
        self.assertEqual(len(self.mock.messages()), 4)
        self.post()
        self.assertEqual(len(self.cards_to("follower")), 5, "the first after a drain never waits")
        self.assertEqual(self.cards_to("follower")[-1].title, "Acme Corporation")

    def test_forty_in_a_minute_never_over_thirty_none_lost(self):
        for number in range(40):
            self.post(body=f"update {number}")
            self.drain()
        sent = [m for m in self.mock.messages() if m["payload"]["touser"] == "follower"]
        self.assertLessEqual(len(sent), 30)
        rows = self.notifications(self.follower)
        self.assertEqual(len(rows), 40)
        self.assertTrue(all(row.wecom_message_id.state in ("sent", "outgoing") for row in rows))
        waiting = rows.wecom_message_id.filtered(lambda m: m.state == "outgoing")
        self.assertTrue(waiting, "the rest waits for the pacing")
        self.assertEqual(len(rows.filtered(lambda r: r.wecom_message_id.state == "sent")), len(sent))

    def test_many_recipients_fan_out_after_the_post(self):
        many = self.env["res.users"].create(
            [
                {"name": f"Many {number}", "login": f"wm_many_{number}", "wecom_userid": f"many{number}"}
                for number in range(25)
            ]
        )
        many.write({"wecom_notify": True})
        self.record.message_subscribe(partner_ids=many.partner_id.ids)
        Message = self.env["wecom.message"].sudo()
        before = Message.search_count([])
        with self.assertMockCalls(message_send=0):
            self.post()
        self.assertEqual(Message.search_count([]), before, "no card in the poster's transaction")
        self.assertEqual(self.env["wecom.mail.fanout"].sudo().search_count([]), 1)
        self.env["wecom.mail.fanout"]._cron_fanout()
        self.assertEqual(Message.search_count([]) - before, 26, "25 new followers and the first one, once each")
        self.assertEqual(len(self.cards_to("many7")), 1)
        self.assertFalse(self.cards_to("poster"))
        self.assertFalse(self.env["wecom.mail.fanout"].sudo().search_count([]))

    def test_preference_on_own_profile(self):
        self.follower.with_user(self.follower).write({"wecom_notify": False})
        self.assertFalse(self.follower.wecom_notify)
        self.assertIn("wecom_notify", self.follower.with_user(self.follower).read(["wecom_notify"])[0])
        self.post()
        self.assertFalse(self.cards_to("follower"))

    def test_company_default_for_new_users(self):
        self.company.wecom_notify_default = False
        self.assertFalse(new_test_user(self.env, login="wm_new_off", company_id=self.company.id).wecom_notify)
        self.company.wecom_notify_default = True
        self.assertTrue(new_test_user(self.env, login="wm_new_on", company_id=self.company.id).wecom_notify)


@tagged("post_install", "-at_install")
class TestWeComMailActivity(WeComMailCase):
    def schedule(self, user=None, author=None):
        return self.record.with_user(author or self.poster).activity_schedule(
            "mail.mail_activity_data_todo", summary="Call Acme", user_id=(user or self.follower).id
        )

    def test_activity_card_done_by_assignee(self):
        activity = self.schedule()
        cards = self.cards_to("follower")
        self.assertEqual(len(cards), 1, "one activity card, not also the 'assigned to you' card")
        self.assertEqual(cards.card["card_type"], "button_interaction")
        self.assertEqual([b["key"] for b in cards.card["button_list"]], ["done", "open"])
        row = self.notifications(self.follower, kind="activity")
        self.assertEqual(row.activity_id, activity)
        self.drain()
        self.assertEqual(list(self.mock.cards()["cards"]), [row.task_id])
        self.assertTrue(self.mock.messages()[0]["payload"]["template_card"]["task_id"] == row.task_id)
        self.click(row.task_id, "follower")
        self.assertEqual(self.mock.count("/cgi-bin/message/update_template_card"), 1)
        self.assertFalse(activity.exists() and activity.active)
        done = self.record.message_ids.filtered(
            lambda m: m.mail_activity_type_id and m.author_id == self.follower.partner_id
        )
        self.assertTrue(done, "marked done as the assignee")
        update = self.mock.cards()["updates"][-1]
        self.assertEqual((update["button"]["replace_name"], update["userids"]), ("Done", ["follower"]))
        self.click(row.task_id, "follower")
        self.assertEqual(self.mock.cards()["updates"][-1]["button"]["replace_name"], "Already done")

    def test_click_by_someone_else_changes_nothing(self):
        activity = self.schedule()
        row = self.notifications(self.follower, kind="activity")
        self.drain()
        self.click(row.task_id, "poster")
        self.assertTrue(activity.exists() and activity.active)
        self.assertEqual(self.mock.cards()["updates"][-1]["button"]["replace_name"], "Not yours")
        self.click(row.task_id, "stranger")
        self.assertTrue(activity.exists())
        self.assertEqual(self.mock.cards()["updates"][-1]["button"]["replace_name"], "Not linked to Odoo")

    def test_activity_deleted_meanwhile(self):
        activity = self.schedule()
        row = self.notifications(self.follower, kind="activity")
        self.drain()
        activity.unlink()
        self.click(row.task_id, "follower")
        self.assertEqual(self.mock.cards()["updates"][-1]["button"]["replace_name"], "No longer exists")

    def test_not_opted_in_assignee_gets_no_card(self):
        self.schedule(user=self.optout)
        self.assertFalse(self.cards_to("optout"))
        self.schedule(user=self.poster, author=self.poster)  # Odoo tells nobody of their own activity
        self.assertFalse(self.cards_to("poster"))


@tagged("post_install", "-at_install")
class TestWeComMailReply(WeComMailCase):
    def test_reply_lands_on_the_record(self):
        self.post()
        self.drain()
        count = len(self.record.message_ids)
        event = self.text_from("follower", "On it, tomorrow 9:00")
        self.assertIn("posted", event.result)
        reply = self.record.message_ids[0]
        self.assertEqual(len(self.record.message_ids), count + 1)
        self.assertEqual(reply.author_id, self.follower.partner_id)
        self.assertIn("On it, tomorrow 9:00", str(reply.body))
        confirmation = self.texts_to("follower")
        self.assertEqual(len(confirmation), 1)
        self.assertIn("Acme Corporation", confirmation.content)
        # the reply notifies the other followers, never its own author
        self.assertEqual(len(self.cards_to("follower")), 1)
        self.assertEqual(len(self.cards_to("poster")), 1)

    def test_reply_without_recent_notification(self):
        count = len(self.record.message_ids)
        self.text_from("follower", "hello?")
        self.assertEqual(len(self.record.message_ids), count)
        self.assertIn("24 hours", self.texts_to("follower").content)

    def test_reply_from_member_without_user(self):
        self.text_from("stranger", "hello")
        self.assertIn("not linked", self.texts_to("stranger").content)
        self.assertFalse(self.env["wecom.mail.notification"].sudo().search([("member", "=", "stranger")]))

    def test_replies_turned_off(self):
        self.post()
        self.company.wecom_mail_replies = False
        count = len(self.record.message_ids)
        self.text_from("follower", "ignored")
        self.assertEqual(len(self.record.message_ids), count)
        self.assertFalse(self.texts_to("follower"))

    def test_reply_refused_without_rights(self):
        self.post()
        # a follower may post on what they follow (Odoo's rule); without following, posting needs write access
        self.record.message_unsubscribe(partner_ids=self.follower.partner_id.ids)
        self.follower.write(
            {
                "group_ids" if "group_ids" in self.follower._fields else "groups_id": [
                    Command.unlink(self.env.ref("base.group_partner_manager").id)
                ]
            }
        )
        count = len(self.record.message_ids)
        event = self.text_from("follower", "may I?")
        self.assertEqual(len(self.record.message_ids), count, (event.result, self.record.message_ids[0].body))
        self.assertIn("could not be posted", self.texts_to("follower").content)
