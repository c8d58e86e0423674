from odoo import api, fields, models

from odoo.addons.wecom_base.compat import create_unique_index

# externalcontact add_way codes (path/92114)
ADD_WAYS = [
    ("0", "Unknown"),
    ("1", "Scanned a QR Code"),
    ("2", "Searched a Mobile Number"),
    ("3", "Shared Business Card"),
    ("4", "Group Chat"),
    ("5", "Phone Address Book"),
    ("6", "WeChat Contacts"),
    ("8", "Third-Party Application"),
    ("9", "Searched an E-mail"),
    ("10", "Video Channel"),
    ("11", "Schedule Participants"),
    ("12", "Meeting Participants"),
    ("13", "Added a WeChat Friend"),
    ("14", "Smart Hardware"),
    ("15", "Customer Service"),
    ("16", "Shared Link"),
    ("201", "Shared by a Member"),
    ("202", "Assigned by an Administrator"),
]
ADD_WAY_CODES = {code for code, _label in ADD_WAYS}


class WeComExternalFollow(models.Model):
    """A member of the company who follows a customer in WeCom (the customer is in their WeCom contacts), with
    the member's remark, description, remark mobiles and tags. Deleted when they stop following."""

    _name = "wecom.external.follow"
    _description = "WeCom Customer Follower"
    _order = "add_date, id"
    _rec_name = "userid"

    contact_id = fields.Many2one(
        "wecom.external.contact", string="Customer", required=True, readonly=True, index=True, ondelete="cascade"
    )
    userid = fields.Char(string="Member UserID", required=True, readonly=True, index=True)
    member_id = fields.Many2one("wecom.member", string="Member", readonly=True, index=True, ondelete="set null")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True, index=True, ondelete="set null")
    remark = fields.Char(readonly=True)
    description = fields.Char(readonly=True)
    remark_mobiles = fields.Char(string="Remark Mobiles", readonly=True)
    remark_corp_name = fields.Char(string="Remark Company", readonly=True)
    tag_ids = fields.Many2many(
        "wecom.external.tag",
        "wecom_external_follow_tag_rel",
        "follow_id",
        "tag_id",
        string="Tags",
        readonly=True,
    )
    add_date = fields.Datetime(string="Added On", readonly=True)
    add_way = fields.Selection(ADD_WAYS, string="Added By", readonly=True, default="0")
    oper_userid = fields.Char(
        string="Added By UserID",
        readonly=True,
        help="Who added the contact (for add_way 201/202: the sharer or the administrator).",
    )
    add_state = fields.Char(string="Channel", readonly=True, help="The state parameter of the QR code or link used.")
    partner_id = fields.Many2one(related="contact_id.partner_id", string="Partner")
    company_id = fields.Many2one(related="contact_id.company_id", store=True, index=True)

    def init(self):
        create_unique_index(
            self.env.cr, "wecom_external_follow_contact_userid_uniq", self._table, ["contact_id", "userid"]
        )

    @api.depends("userid", "member_id.name", "contact_id.name")
    def _compute_display_name(self):
        for follow in self:
            who = follow.member_id.name or follow.userid
            follow.display_name = f"{follow.contact_id.name} ← {who}" if follow.contact_id else who

    def _wecom_followed_new(self):
        """Hook: a salesperson just added these customers in WeCom (``add_external_contact`` callbacks);
        ``wecom_crm_lead`` makes leads of them. Called after the mirror and the partners are written.

        :return: what was done, for the event's result (a string, may be empty)
        """
        return ""
