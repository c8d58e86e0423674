from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    wecom_notify_application_id = fields.Many2one(
        "wecom.application",
        string="WeCom Notification Application",
        domain="[('company_id', '=', id), ('is_active', '=', True)]",
        ondelete="set null",
        help="The WeCom application that sends Odoo's notifications and activities to the members of this "
        "company, and receives their replies. Empty: nothing is sent.",
    )
    wecom_notify_default = fields.Boolean(
        string="Notify New Users in WeCom",
        default=True,
        help="The WeCom notification preference of users created from now on; each user can change theirs.",
    )
    wecom_mail_replies = fields.Boolean(
        string="Replies from WeCom",
        default=True,
        help="A text a member sends to the notification application within 24 hours of a notification is posted "
        "on that document as their message.",
    )
