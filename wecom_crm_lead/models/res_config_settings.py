from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    wecom_crm_create_leads = fields.Boolean(related="company_id.wecom_crm_create_leads", readonly=False)
