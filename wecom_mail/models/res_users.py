from odoo import api, fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    wecom_notify = fields.Boolean(
        string="Notify Me in WeCom",
        default=True,
        help="Receive in WeCom what Odoo notifies you of (messages on documents you follow, mentions, chats, "
        "activities assigned to you), and answer from WeCom. Needs a WeCom User ID.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["wecom_notify"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["wecom_notify"]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if "wecom_notify" not in vals:
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["wecom_notify"] = company.sudo().wecom_notify_default
        return super().create(vals_list)

    def _wecom_mail_reachable(self):
        """The users of ``self`` WeCom notifications go to: internal, active, opted in, with a WeCom User ID
        and a notification application in their company.

        :rtype: res.users (sudo)
        """
        return self.sudo().filtered(
            lambda user: (
                user.active
                and not user.share
                and user.wecom_notify
                and user.wecom_userid
                and user.company_id.wecom_notify_application_id.is_active
                and user.company_id.wecom_corp_id
            )
        )
