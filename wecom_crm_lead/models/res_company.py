from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    wecom_crm_create_leads = fields.Boolean(
        string="Leads From WeCom Customers",
        default=True,
        help="A customer a salesperson adds in WeCom becomes a lead for that salesperson (once per customer and "
        "salesperson).",
    )
