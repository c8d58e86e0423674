from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .. import const


class ResUsers(models.Model):
    _inherit = "res.users"

    wecom_userid = fields.Char(
        string="WeCom User ID",
        copy=False,
        index=True,
        help="The member's UserID in WeCom (Contacts > the member > Account), so WeCom messages can reach them.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("wecom_userid") for vals in vals_list):
            self._wecom_check_userid_write()
        for vals in vals_list:
            if isinstance(vals.get("wecom_userid"), str):
                vals["wecom_userid"] = vals["wecom_userid"].strip() or False
        return super().create(vals_list)

    def write(self, vals):
        if "wecom_userid" in vals:
            self._wecom_check_userid_write()
            if isinstance(vals["wecom_userid"], str):
                vals["wecom_userid"] = vals["wecom_userid"].strip() or False
            if set(vals) == {"wecom_userid"}:
                # WeCom managers link users to WeCom without being user administrators
                return super(ResUsers, self.sudo()).write(vals)
        return super().write(vals)

    def _wecom_check_userid_write(self):
        if not (self.env.su or self.env.user.has_group(const.MANAGER_GROUP)):
            raise AccessError(_("Only WeCom managers can change WeCom user ids."))

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
            twin = (
                self.sudo()
                .with_context(active_test=False)
                .search(
                    [
                        ("id", "!=", user.id),
                        ("wecom_userid", "=ilike", user.wecom_userid),
                        ("company_ids", "in", user.company_ids.ids),
                    ],
                    limit=1,
                )
            )
            if twin:
                raise ValidationError(
                    _(
                        "The WeCom user id %(userid)s is already used by %(other)s in the same company.",
                        userid=user.wecom_userid,
                        other=twin.name,
                    )
                )
