from odoo import api, fields, models

from odoo.addons.wecom_base.compat import create_unique_index

CONTACT_FIELDS = ("name", "type", "corp_name", "corp_full_name", "position", "gender", "unionid", "avatar")
FOLLOW_FIELDS = (
    "remark",
    "description",
    "remark_mobiles",
    "remark_corp_name",
    "add_date",
    "add_way",
    "oper_userid",
    "add_state",
)
CONTACT_TYPES = [("wechat", "WeChat User"), ("wecom", "WeCom User of Another Company")]
GENDERS = [("0", "Unknown"), ("1", "Male"), ("2", "Female")]


class WeComExternalContact(models.Model):
    """A customer of the company in WeCom (an *external contact*), mirrored by the customer sync and the
    ``change_external_contact`` callbacks; edit customers in WeCom. Followed by a ``res.partner``."""

    _name = "wecom.external.contact"
    _description = "WeCom Customer"
    _order = "name, id"
    _check_company_auto = True

    external_userid = fields.Char(string="External UserID", required=True, readonly=True, index=True)
    name = fields.Char(required=True, readonly=True)
    type = fields.Selection(CONTACT_TYPES, readonly=True, default="wechat", required=True)
    corp_name = fields.Char(string="Company Short Name", readonly=True)
    corp_full_name = fields.Char(string="Company Name", readonly=True)
    position = fields.Char(readonly=True)
    gender = fields.Selection(GENDERS, readonly=True, default="0")
    unionid = fields.Char(
        string="UnionID", readonly=True, help="Given by WeCom only when a WeChat account is bound to the company."
    )
    avatar = fields.Char(string="Avatar URL", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Partner", readonly=True, index=True, ondelete="set null")
    follow_ids = fields.One2many("wecom.external.follow", "contact_id", string="Followed By", readonly=True)
    follow_count = fields.Integer(compute="_compute_follow_count", string="Followers")
    salesperson_ids = fields.Many2many(
        "res.users", compute="_compute_salesperson_ids", search="_search_salesperson_ids", string="Salespeople"
    )
    tag_ids = fields.Many2many(
        "wecom.external.tag", compute="_compute_tag_ids", search="_search_tag_ids", string="Tags"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    application_id = fields.Many2one(
        "wecom.application", string="Synced By", readonly=True, ondelete="set null", check_company=True
    )
    active = fields.Boolean(
        default=True, readonly=True, help="Archived when nobody in the company follows the customer any more."
    )

    def init(self):
        create_unique_index(
            self.env.cr, "wecom_external_contact_company_userid_uniq", self._table, ["company_id", "external_userid"]
        )

    @api.depends("follow_ids")
    def _compute_follow_count(self):
        for contact in self:
            contact.follow_count = len(contact.follow_ids)

    @api.depends("follow_ids.user_id")
    def _compute_salesperson_ids(self):
        for contact in self:
            contact.salesperson_ids = contact.follow_ids.user_id

    def _search_salesperson_ids(self, operator, value):
        return [("follow_ids.user_id", operator, value)]

    @api.depends("follow_ids.tag_ids")
    def _compute_tag_ids(self):
        for contact in self:
            contact.tag_ids = contact.follow_ids.tag_ids

    def _search_tag_ids(self, operator, value):
        return [("follow_ids.tag_ids", operator, value)]

    def action_open_partner(self):
        """Button: the partner of this customer."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
        }

    def action_refresh(self):
        """Button: read these customers again from WeCom (``externalcontact/get``) and apply them."""
        self.check_access("read")
        for app, contacts in self.grouped("application_id").items():
            app = app or self.env["wecom.application"].sudo()._wecom_customer_application(contacts.company_id[:1])
            if not app:
                continue
            with app._wecom_error_as_user_error():
                app.sudo()._wecom_refresh_customers(contacts.mapped("external_userid"))
        return True

    def _wecom_entry_from_mirror(self):
        """This customer as the mirror holds it, in the shape of a WeCom read (see
        ``wecom.application._wecom_apply_customers``)."""
        self.ensure_one()
        follows = {}
        for follow in self.follow_ids:
            values = {name: follow[name] for name in FOLLOW_FIELDS}
            values["tag_ids"] = sorted(follow.tag_ids.mapped("tag_id"))
            follows[follow.userid] = values
        return {"contact": {name: self[name] for name in CONTACT_FIELDS}, "follows": follows}
