from odoo import api, fields, models


class WeComMessageComposer(models.TransientModel):
    """ "Send WeCom message" from one or several users."""

    _name = "wecom.message.composer"
    _description = "Send WeCom Message"

    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        required=True,
        domain="[('is_active', '=', True), ('company_id', 'in', allowed_company_ids)]",
        default=lambda self: self.env["wecom.application"].search(
            [("is_active", "=", True), ("company_id", "=", self.env.company.id)], limit=1
        ),
    )
    user_ids = fields.Many2many("res.users", string="Recipients", required=True)
    msgtype = fields.Selection(
        [("text", "Text"), ("markdown", "Markdown")], string="Type", default="text", required=True
    )
    content = fields.Text(required=True)
    send_now = fields.Boolean(help="Send at once instead of through the queue; a failure is shown at once.")
    missing_userid_names = fields.Char(compute="_compute_missing_userid_names")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "res.users" and "user_ids" in fields_list:
            values["user_ids"] = [(6, 0, self.env.context.get("active_ids") or [])]
        return values

    @api.depends("user_ids.wecom_userid")
    def _compute_missing_userid_names(self):
        for composer in self:
            missing = composer.user_ids.filtered(lambda user: not user.wecom_userid)
            composer.missing_userid_names = ", ".join(missing.mapped("name")) or False

    def action_send(self):
        self.ensure_one()
        # the rules (recipients, sizes, who may send) are the message's: wecom_send runs them
        message = self.env["wecom.message"].wecom_send(
            self.application_id, msgtype=self.msgtype, content=self.content, users=self.user_ids
        )
        if self.send_now:
            message.action_send_now()
        return {
            "type": "ir.actions.act_window",
            "res_model": "wecom.message",
            "res_id": message.id,
            "view_mode": "form",
            "target": "current",
        }
