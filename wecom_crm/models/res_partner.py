from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    wecom_external_userid = fields.Char(
        string="WeCom External UserID",
        copy=False,
        index=True,
        readonly=True,
        groups="base.group_user",
        help="The WeCom customer (external contact) this partner follows.",
    )
    wecom_external_contact_ids = fields.One2many(
        "wecom.external.contact", "partner_id", string="WeCom Customers", readonly=True
    )
    wecom_external_contact_count = fields.Integer(
        compute="_compute_wecom_external_contact_count", string="WeCom Customer Records"
    )

    def _compute_wecom_external_contact_count(self):
        counts = dict(
            self.env["wecom.external.contact"]
            .with_context(active_test=False)
            ._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.wecom_external_contact_count = counts.get(partner, 0)

    def action_view_wecom_external_contacts(self):
        """Smart button: the WeCom customers of this partner."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_crm.wecom_external_contact_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"active_test": False}
        return action
