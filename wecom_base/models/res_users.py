from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import escape_psql

from .. import const
from ..tools import check_wecom_group


class ResUsers(models.Model):
    _inherit = "res.users"

    wecom_userid = fields.Char(
        string="WeCom User ID",
        copy=False,
        index=True,
        help="The member's UserID in WeCom (Contacts > the member > Account), so WeCom messages can reach them.",
    )
    # WeCom users only: other users may not read the directory (and res.users is read by everyone)
    wecom_member_ids = fields.One2many("wecom.member", "user_id", string="WeCom Members", groups=const.USER_GROUP)
    wecom_member_count = fields.Integer(
        compute="_compute_wecom_member_count", string="WeCom Member Count", groups=const.USER_GROUP
    )

    def _compute_wecom_member_count(self):
        counts = dict(
            self.env["wecom.member"].sudo()._read_group([("user_id", "in", self.ids)], ["user_id"], ["__count"])
        )
        for user in self:
            user.wecom_member_count = counts.get(user._origin, 0)

    def action_view_wecom_members(self):
        """Button: the WeCom directory members linked to this user."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_base.wecom_member_action")
        action["domain"] = [("user_id", "=", self.id)]
        action["context"] = {"active_test": False}
        return action

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("wecom_userid") for vals in vals_list):
            self._wecom_check_userid_write()
        for vals in vals_list:
            if isinstance(vals.get("wecom_userid"), str):
                vals["wecom_userid"] = vals["wecom_userid"].strip() or False
        users = super().create(vals_list)
        if any(vals.get("wecom_userid") for vals in vals_list):
            self.env["wecom.member"]._wecom_relink_users(users)
        return users

    def write(self, vals):
        if "wecom_userid" in vals:
            self._wecom_check_userid_write()
            if isinstance(vals["wecom_userid"], str):
                vals["wecom_userid"] = vals["wecom_userid"].strip() or False
            if set(vals) == {"wecom_userid"}:
                # WeCom managers link users to WeCom without being user administrators
                result = super(ResUsers, self.sudo()).write(vals)
            else:
                result = super().write(vals)
            self.env["wecom.member"]._wecom_relink_users(self)  # the directory mirror follows the new ids
            return result
        return super().write(vals)

    def _wecom_check_userid_write(self):
        check_wecom_group(self.env, const.MANAGER_GROUP, _("Only WeCom managers can change WeCom user ids."))

    # ------------------------------------------------------------------ finding users (the one way)
    @api.model
    def _wecom_find_by_userid(self, userid, companies):
        """The users of ``companies`` whose WeCom User ID is ``userid``: exact and case-insensitive, as WeCom user
        ids are; ``_``, ``%`` and ``\\`` are ordinary characters, never wildcards. Archived users included.

        :rtype: res.users (sudo), ordered by id
        """
        return self._wecom_find_exact("wecom_userid", userid, companies)

    @api.model
    def _wecom_find_by_email(self, email, companies):
        """The users of ``companies`` whose login or e-mail address is ``email``, exact and case-insensitive (no
        wildcards). Active users only.

        :rtype: res.users (sudo), ordered by id
        """
        by_login = self._wecom_find_exact("login", email, companies, active_test=True)
        by_email = self._wecom_find_exact("email", email, companies, active_test=True)
        return (by_login | by_email).sorted("id")

    def _wecom_is_administrator(self):
        """Settings or Access Rights administrator: never linked to a WeCom member automatically."""
        self.ensure_one()
        return self.has_group("base.group_system") or self.has_group("base.group_erp_manager")

    @api.model
    def _wecom_find_exact(self, field, value, companies, active_test=False):
        value = (value or "").strip() if isinstance(value, str) else ""
        users = self.sudo().with_context(active_test=active_test)
        if not value:
            return users.browse()
        candidates = users.search(
            [(field, "=ilike", escape_psql(value)), ("company_ids", "in", companies.ids)], order="id"
        )
        return candidates.filtered(lambda user: (user[field] or "").lower() == value.lower())

    @api.constrains("wecom_userid", "company_id", "company_ids")
    def _check_wecom_userid(self):
        for user in self.filtered("wecom_userid"):
            if any(char.isspace() or char == "|" for char in user.wecom_userid) or len(user.wecom_userid) > 64:
                raise ValidationError(
                    _(
                        "The WeCom user id %(userid)r of %(user)s is not valid (no spaces or |, at most 64 "
                        "characters).",
                        userid=user.wecom_userid,
                        user=user.name,
                    )
                )
            twin = (self._wecom_find_by_userid(user.wecom_userid, user.company_ids) - user)[:1]
            if twin:
                raise ValidationError(
                    _(
                        "The WeCom user id %(userid)s is already used by %(other)s in the same company.",
                        userid=user.wecom_userid,
                        other=twin.name,
                    )
                )
