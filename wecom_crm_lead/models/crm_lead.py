from odoo import fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    wecom_external_contact_id = fields.Many2one(
        "wecom.external.contact",
        string="WeCom Customer",
        readonly=True,
        index="btree_not_null",
        copy=False,
        ondelete="set null",
    )
