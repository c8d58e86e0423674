from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    wecom_notify_application_id = fields.Many2one(
        related="company_id.wecom_notify_application_id",
        readonly=False,
        domain="[('company_id', '=', company_id), ('is_active', '=', True)]",
    )
    wecom_notify_default = fields.Boolean(related="company_id.wecom_notify_default", readonly=False)
    wecom_mail_replies = fields.Boolean(related="company_id.wecom_mail_replies", readonly=False)
