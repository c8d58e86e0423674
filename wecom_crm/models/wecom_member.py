from odoo import fields, models


class WeComMember(models.Model):
    _inherit = "wecom.member"

    external_follow_ids = fields.One2many("wecom.external.follow", "member_id", string="Customers Followed")
    external_contact_count = fields.Integer(compute="_compute_external_contact_count", string="Customers")

    def _compute_external_contact_count(self):
        counts = dict(
            self.env["wecom.external.follow"]._read_group([("member_id", "in", self.ids)], ["member_id"], ["__count"])
        )
        for member in self:
            member.external_contact_count = counts.get(member, 0)

    def action_view_external_contacts(self):
        """Smart button: the customers this member follows."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_crm.wecom_external_contact_action")
        action["domain"] = [("follow_ids.member_id", "=", self.id)]
        return action
