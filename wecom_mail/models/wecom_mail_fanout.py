"""Notifications to many WeCom recipients at once, queued after the poster's transaction.

A message whose recipients include more than :data:`~odoo.addons.wecom_mail.const.INLINE_RECIPIENTS` reachable
users (a document with 200 followers) adds one row here and a trigger of the fan-out cron, instead of a card per
recipient: the poster's ``message_post`` costs about what it costs without WeCom. The cron, a moment later, queues
the cards exactly as a small post does (same recipients, same digests), each in the outbox.
"""

from odoo import api, fields, models


class WeComMailFanout(models.Model):
    _name = "wecom.mail.fanout"
    _description = "WeCom Notifications to Queue"
    _order = "id"

    mail_message_id = fields.Many2one("mail.message", required=True, ondelete="cascade")
    model = fields.Char(required=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="model", required=True)
    user_ids = fields.Json(required=True, help="The ids of the users to notify (computed at posting time).")

    @api.model
    def _wecom_queue(self, message, record, users):
        self.sudo().create(
            {"mail_message_id": message.id, "model": record._name, "res_id": record.id, "user_ids": users.ids}
        )
        self.env.ref("wecom_mail.ir_cron_wecom_mail_fanout")._trigger()

    @api.model
    def _cron_fanout(self, limit=50):
        """Queue the cards of up to ``limit`` waiting posts; re-trigger while more wait."""
        rows = self.sudo().search([], limit=limit)
        for row in rows:
            record = self.env[row.model].browse(row.res_id).exists() if row.model in self.env else None
            message = row.mail_message_id.exists()
            if record and message:
                users = self.env["res.users"].browse(row.user_ids or [])._wecom_mail_reachable()
                record._wecom_mail_deliver(message, users)
        rows.unlink()
        if self.sudo().search_count([], limit=1):
            self.env.ref("wecom_mail.ir_cron_wecom_mail_fanout")._trigger()
        return len(rows)
