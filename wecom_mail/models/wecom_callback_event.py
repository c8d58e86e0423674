"""What members answer from WeCom: a click on an activity card's button, and a text to the notification
application (a reply to the most recent notification). Both run in the callback cron, as the member's Odoo
user: nothing is posted or done that this user could not do in Odoo."""

import logging
from datetime import timedelta

from odoo import fields, models
from odoo.exceptions import MissingError, UserError
from odoo.tools import plaintext2html

from odoo.addons.wecom_base.lib import WeComError

from .. import const
from .wecom_mail_notification import cut

_logger = logging.getLogger(__name__)


class WeComCallbackEvent(models.Model):
    _inherit = "wecom.callback.event"

    def _wecom_mail_user(self, member):
        """The active internal Odoo user of this event's company whose WeCom User ID is ``member``, or empty."""
        if not member or not self.company_id:
            return self.env["res.users"]
        users = self.env["res.users"]._wecom_find_by_userid(member, self.company_id)
        return users.filtered(lambda user: user.active and not user.share)[:1]

    def _wecom_mail_answer(self, text):
        """Send ``text`` to the member who wrote, through the outbox (their Odoo user may not exist)."""
        app = self.application_id
        if not (app and self.from_user):
            return
        Notification = self.env["wecom.mail.notification"]
        message = Notification._wecom_outbox(app.company_id).create(
            {
                "channel": "application",
                "application_id": app.id,
                "company_id": app.company_id.id,
                "msgtype": "text",
                "content": cut(text, const.TEXT_BYTES, const.TEXT_BYTES),
                "to_userids": self.from_user,
            }
        )
        Notification._wecom_send(message)

    # ------------------------------------------------------------------ activity card buttons
    def _wecom_handle_event__template_card_event(self, data):
        """A click on a card's button: ``done`` marks the activity done as the clicking member's user when the
        activity is theirs; the card then shows the outcome (``message/update_template_card``)."""
        task_id = data.get("TaskId") if isinstance(data.get("TaskId"), str) else ""
        key = data.get("EventKey") if isinstance(data.get("EventKey"), str) else ""
        response_code = data.get("ResponseCode") if isinstance(data.get("ResponseCode"), str) else ""
        notification = self.env["wecom.mail.notification"].sudo().browse()
        if task_id.startswith(const.TASK_ID_PREFIX):
            notification = notification.search(
                [("task_id", "=", task_id.strip()), ("company_id", "=", self.company_id.id)], limit=1
            )
        if not notification:
            return self.env._("Ignored: no activity card %(task)s.", task=task_id or "-")
        user = self._wecom_mail_user(self.from_user)
        outcome, button_text = notification._wecom_activity_outcome(user, key.strip())
        if button_text and response_code:
            self._wecom_mail_update_card(response_code, button_text)
        return self.env._(
            "Activity card %(task)s, button %(key)s by %(member)s: %(outcome)s",
            task=task_id,
            key=key or "-",
            member=self.from_user or "-",
            outcome=outcome,
        )

    def _wecom_mail_update_card(self, response_code, button_text):
        """Show ``button_text`` on the clicked card's button, for the member who clicked (one use of the
        click's ``response_code``, within 72 hours). A refusal is logged: the outcome itself stands."""
        app = self.application_id
        try:
            app._wecom_call(
                const.PATH_UPDATE_TEMPLATE_CARD,
                payload={
                    "userids": [self.from_user],
                    "agentid": app.agent_id,
                    "response_code": response_code,
                    "button": {"replace_name": button_text},
                },
            )
        except WeComError as error:
            self.log_error(f"WeCom activity card not updated for {self.from_user}: {error}", level="warning")

    # ------------------------------------------------------------------ replies
    def _wecom_handle_message__text(self, data):
        result = super()._wecom_handle_message__text(data)
        company = self.company_id
        app = self.application_id
        if not (company.wecom_mail_replies and app and app == company.wecom_notify_application_id):
            return result
        content = (data.get("Content") if isinstance(data.get("Content"), str) else "").strip()
        user = self._wecom_mail_user(self.from_user)
        if not user:
            self._wecom_mail_answer(
                self.env._(
                    "Your WeCom account is not linked to an Odoo user of %(company)s, so your message was not "
                    "posted. Ask your administrator to set your WeCom User ID in Odoo.",
                    company=company.name,
                )
            )
            return self.env._("Reply from %(member)s: no Odoo user.", member=self.from_user or "-")
        env = self.env(context=dict(self.env.context, lang=user.lang))
        notification = self._wecom_mail_last_notification(user)
        if not notification or not content:
            self._wecom_mail_answer(
                env._(
                    "To answer in Odoo, reply here within %(hours)s hours of a notification: your text is posted on "
                    "that document as your message.",
                    hours=const.REPLY_WINDOW_HOURS,
                )
            )
            return env._("Reply from %(member)s: no recent notification.", member=self.from_user)
        try:
            with self.env.cr.savepoint():
                record = self.env[notification.model].with_user(user).with_context(lang=user.lang)
                record = record.browse(notification.res_id)
                posted = record.message_post(
                    body=plaintext2html(content),
                    message_type="comment",
                    subtype_xmlid="mail.mt_comment",
                )
        except (UserError, MissingError) as error:  # AccessError included
            _logger.info("WeCom reply of %s not posted on %s: %s", user.login, notification.title, error)
            self._wecom_mail_answer(
                env._(
                    "Your message could not be posted on %(document)s: you may not post there.",
                    document=notification.title,
                )
            )
            return env._(
                "Reply from %(member)s refused on %(document)s.", member=self.from_user, document=notification.title
            )
        self._wecom_mail_answer(env._("Posted on %(document)s.", document=notification.title))
        return env._(
            "Reply from %(member)s posted on %(document)s (message %(id)s).",
            member=self.from_user,
            document=notification.title,
            id=posted.id,
        )

    def _wecom_mail_last_notification(self, user):
        """The most recent notification ``user`` got from this application within the reply window."""
        since = fields.Datetime.now() - timedelta(hours=const.REPLY_WINDOW_HOURS)
        return (
            self.env["wecom.mail.notification"]
            .sudo()
            .search(
                [
                    ("user_id", "=", user.id),
                    ("application_id", "=", self.application_id.id),
                    ("model", "!=", False),
                    ("res_id", "!=", 0),
                    ("create_date", ">=", since),
                ],
                order="id desc",
                limit=1,
            )
        )
