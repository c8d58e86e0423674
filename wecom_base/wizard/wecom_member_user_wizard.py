from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import compat


class WeComMemberUserWizard(models.TransientModel):
    """Create Odoo users for chosen WeCom members: no password (they log in with WeCom), linked by their
    userid."""

    _name = "wecom.member.user.wizard"
    _description = "Create Odoo Users for WeCom Members"

    member_ids = fields.Many2many("wecom.member", string="Members", required=True)
    user_type = fields.Selection(
        [("internal", "Internal User"), ("portal", "Portal User")], default="internal", required=True
    )
    skipped_names = fields.Char(compute="_compute_skipped_names", string="Already Linked or Exited")

    @api.depends("member_ids")
    def _compute_skipped_names(self):
        for wizard in self:
            skipped = wizard.member_ids.filtered(lambda m: m.user_id or m.status == "exited")
            wizard.skipped_names = ", ".join(skipped.mapped("name")) or False

    def action_create_users(self):
        """Create one user per member without an Odoo user (exited members are skipped).

        :raise UserError: a login (the member's e-mail, else its userid) is taken by another user
        """
        self.ensure_one()
        self.member_ids._wecom_check_manager()
        members = self.member_ids.filtered(lambda m: not m.user_id and m.status != "exited")
        if not members:
            raise UserError(_("Every chosen member is already linked to an Odoo user or has exited WeCom."))
        Users = self.env["res.users"].sudo().with_context(no_reset_password=True, active_test=False)
        logins = {member: (member.email or member.userid).strip().lower() for member in members}
        taken = Users.search([("login", "in", list(logins.values()))]).mapped("login")
        if taken:
            raise UserError(
                _("These logins are used by other users already: %(logins)s", logins=", ".join(sorted(taken)))
            )
        group = self.env.ref("base.group_portal" if self.user_type == "portal" else "base.group_user")
        users = Users.create(
            [
                {
                    "name": member.name,
                    "login": logins[member],
                    "email": member.email or False,
                    "wecom_userid": member.userid,
                    "company_id": member.company_id.id,
                    "company_ids": [(6, 0, member.company_id.ids)],
                    compat.USER_GROUPS: [(6, 0, group.ids)],
                }
                for member in members
            ]
        )
        # the domain stays out of the literal that holds _(): 19.0's string extractor takes "id" there for a term
        domain = [("id", "in", users.ids)]
        return {
            "type": "ir.actions.act_window",
            "name": _("Created Users"),
            "res_model": "res.users",
            "view_mode": "list,form",
            "domain": domain,
            "target": "current",
        }
