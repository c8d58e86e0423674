"""A new notification channel, the way ``sms`` adds one: Odoo computes the recipients of a message
(followers by subtype, mentions, chat members, minus the author, the muted and the archived), wecom_mail
only delivers to those of them who are reachable in WeCom, through the outbox."""

from odoo import models

from .. import const
from .wecom_mail_notification import cut, plain_text


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _notify_thread(self, message, msg_vals=False, **kwargs):
        # read before super(), which pops it; a notification scheduled for later comes back here when it is sent
        scheduled = self._is_notification_scheduled(kwargs.get("scheduled_date"))
        recipients_data = super()._notify_thread(message, msg_vals=msg_vals, **kwargs)
        if recipients_data and not scheduled and not self.env.context.get("wecom_mail_skip"):
            self._wecom_mail_notify(message, recipients_data, msg_vals or {})
        return recipients_data

    def _wecom_mail_notify(self, message, recipients_data, msg_vals):
        """Queue a WeCom card for each recipient Odoo notified who is an internal, active user, opted in, with a
        WeCom User ID (never the author, nor a partner an activity card already told).

        :param message: the ``mail.message`` being notified
        :param list recipients_data: what ``_notify_get_recipients`` computed (dicts with the partner ``id``)
        """
        if self._name.startswith("wecom.") or len(self) > 1:
            return  # the outbox's own chatter never echoes into WeCom
        partner_ids = {data["id"] for data in recipients_data if data.get("id")}
        partner_ids -= set(self.env.context.get("wecom_mail_skip_partner_ids") or ())
        if not partner_ids:
            return
        message_sudo = message.sudo()
        author = message_sudo.author_id
        users = (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", list(partner_ids - set(author.ids))),
                    ("share", "=", False),
                    ("wecom_notify", "=", True),
                    ("wecom_userid", "!=", False),
                    ("company_id.wecom_notify_application_id", "!=", False),
                ]
            )
        )
        users = (users - self.env.user - author.user_ids)._wecom_mail_reachable()
        if not users:
            return
        if len(users) > const.INLINE_RECIPIENTS and self:
            # many cards: queued a moment later by the fan-out cron, not in the poster's transaction
            self.env["wecom.mail.fanout"]._wecom_queue(message, self, users)
            return
        self._wecom_mail_deliver(message, users)

    def _wecom_mail_deliver(self, message, users):
        """Queue the card telling ``users`` (reachable, sudo) of ``message`` on this document."""
        message_sudo = message.sudo()
        Notification = self.env["wecom.mail.notification"]
        record = self.sudo()
        model, res_id = (record._name, record.id) if record else (message_sudo.model, message_sudo.res_id)
        body = plain_text(message_sudo.body)
        if not body and message_sudo.attachment_ids:
            body = ", ".join(message_sudo.attachment_ids.mapped("name"))
        path = Notification._wecom_document_path(model, res_id)
        entries = []
        for lang, lang_users in users.grouped("lang").items():
            card = self.with_context(lang=lang or "en_US")._wecom_mail_card(message_sudo, record, body)
            for user in lang_users:
                entries.append(
                    {
                        "user": user,
                        "kind": "message",
                        "model": model,
                        "res_id": res_id,
                        "title": card["title"],
                        "mail_message_id": message_sudo.id,
                        "card": {**card, "url": Notification._wecom_link(user.company_id, path)},
                        "digest_card": Notification._wecom_digest_card,
                    }
                )
        Notification._wecom_deliver(entries)

    def _wecom_mail_card(self, message, record, body):
        """The ``wecom.message`` values of the card telling of ``message`` on this document, in the context's
        language (no URL: it depends on the recipient's company)."""
        env = self.env
        author = message.author_id.name or message.email_from or env._("Someone")
        if record._name == "discuss.channel" and record.channel_type == "chat":
            title, where = author, env._("Direct message")
        elif record._name == "discuss.channel":
            title, where = record.name or message.record_name, env._("Discuss")
        else:
            title = message.record_name or (record.display_name if record else "") or message.subject
            where = env["ir.model"]._get(record._name).display_name if record else env._("Message")
        subject = message.subject if message.subject and message.subject != title else ""
        text = "\n".join(filter(None, [subject, body])) or env._("(no text)")
        return {
            "msgtype": "template_card",
            "title": cut(title or where, const.CARD_TITLE_CHARS, const.CARD_TITLE_BYTES, one_line=True),
            "description": cut(where, const.CARD_DESC_CHARS, one_line=True),
            "content": cut(text, const.CARD_TEXT_CHARS),
            "card": {
                "horizontal_content_list": [
                    {
                        "keyname": cut(env._("From"), const.CARD_KEYNAME_CHARS, one_line=True),
                        "value": cut(author, const.CARD_VALUE_CHARS, one_line=True),
                    }
                ],
            },
        }
