"""Activities in WeCom: when Odoo tells a user of an activity assigned to them (``action_notify``), a user
reachable in WeCom gets an interactive card instead of the plain notification card; its ``done`` button marks
the activity done as that user (``wecom.callback.event._wecom_handle_event__template_card_event``)."""

from odoo import models
from odoo.tools.misc import format_date

from .. import const
from .wecom_mail_notification import cut, plain_text


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def action_notify(self):
        to_card = self.filtered(lambda activity: activity.res_model and activity.res_id)
        users = to_card.user_id._wecom_mail_reachable() if to_card else self.env["res.users"]
        to_card = to_card.filtered(lambda activity: activity.user_id in users)
        # the assignee gets the activity card, not also the card of Odoo's "assigned to you" message
        result = super(
            MailActivity, self.with_context(wecom_mail_skip_partner_ids=to_card.user_id.partner_id.ids)
        ).action_notify()
        to_card._wecom_mail_send_cards()
        return result

    def _wecom_mail_send_cards(self):
        """Queue an interactive card (``button_interaction``) per activity to its assignee."""
        Notification = self.env["wecom.mail.notification"]
        entries = []
        for activity in self.sudo():
            user = activity.user_id.sudo()
            task_id = Notification._wecom_new_task_id(activity)
            path = Notification._wecom_document_path(activity.res_model, activity.res_id)
            card = activity.with_context(lang=user.lang)._wecom_mail_card(
                task_id, Notification._wecom_link(user.company_id, path)
            )
            entries.append(
                {
                    "user": user,
                    "kind": "activity",
                    "model": activity.res_model,
                    "res_id": activity.res_id,
                    "title": activity.res_name,
                    "activity_id": activity.id,
                    "task_id": task_id,
                    "activity_state": "open",
                    "card": card,
                }
            )
        return Notification._wecom_deliver(entries)

    def _wecom_mail_card(self, task_id, url):
        """The ``wecom.message`` values of this activity's card, in the context's language."""
        self.ensure_one()
        env = self.env
        type_name = self.activity_type_id.name or env._("To-Do")
        summary = self.summary or type_name
        model_name = env["ir.model"]._get(self.res_model).display_name
        return {
            "msgtype": "template_card",
            "title": cut(summary, const.CARD_TITLE_CHARS, const.CARD_TITLE_BYTES, one_line=True),
            "description": cut(type_name, const.CARD_DESC_CHARS, one_line=True),
            "content": cut(plain_text(self.note), const.CARD_TEXT_CHARS),
            "url": url,
            "card": {
                "card_type": "button_interaction",
                "task_id": task_id,
                "horizontal_content_list": [
                    {
                        "keyname": cut(env._("Due"), const.CARD_KEYNAME_CHARS, one_line=True),
                        "value": format_date(env, self.date_deadline),
                    },
                    {
                        "keyname": cut(model_name, const.CARD_KEYNAME_CHARS, one_line=True),
                        "value": cut(self.res_name, const.CARD_VALUE_CHARS, one_line=True),
                    },
                ],
                "button_list": [
                    {
                        "type": 0,
                        "text": cut(env._("Mark Done"), 10, one_line=True),
                        "style": const.BUTTON_STYLE_PRIMARY,
                        "key": const.BUTTON_DONE,
                    },
                    {
                        "type": 1,
                        "text": cut(env._("Open"), 10, one_line=True),
                        "style": const.BUTTON_STYLE_DEFAULT,
                        "key": const.BUTTON_OPEN,
                        "url": url,
                    },
                ],
            },
        }

    def _action_done(self, feedback=False, attachment_ids=None):
        # the cards of these activities answer "already done" from now on (done activities are deleted)
        self.env["wecom.mail.notification"].sudo().search(
            [("activity_id", "in", self.ids), ("activity_state", "=", "open")]
        ).write({"activity_state": "done"})
        return super()._action_done(feedback=feedback, attachment_ids=attachment_ids)

    def unlink(self):
        self.env["wecom.mail.notification"].sudo().search(
            [("activity_id", "in", self.ids), ("activity_state", "=", "open")]
        ).write({"activity_state": "gone"})
        return super().unlink()
