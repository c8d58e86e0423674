from odoo import _, api, fields, models

from .. import compat
from ..const import MANAGER_GROUP
from ..tools import check_wecom_group, notification, sort_names_in_pinyin


class WeComMember(models.Model):
    """A member of a company's WeCom directory (a mirror written by the directory sync and ``change_contact``
    callbacks), linked to the Odoo user whose WeCom User ID is the member's userid."""

    _name = "wecom.member"
    _description = "WeCom Member"
    _order = "name, userid"  # the name sorts in pinyin order where PostgreSQL has ICU (see init)
    _check_company_auto = True

    userid = fields.Char(string="UserID", required=True, readonly=True, index=True)
    name = fields.Char(required=True, readonly=True)
    department_ids = fields.Many2many(
        "wecom.department",
        "wecom_department_member_rel",
        "member_id",
        "department_id",
        string="Departments",
        readonly=True,
        check_company=True,
    )
    main_department_id = fields.Many2one(
        "wecom.department", string="Main Department", readonly=True, ondelete="set null", check_company=True
    )
    position = fields.Char(readonly=True)
    status = fields.Selection(
        [("active", "Active"), ("disabled", "Disabled"), ("not_activated", "Not Activated"), ("exited", "Exited")],
        default="active",
        required=True,
        readonly=True,
        index=True,
    )
    # WeCom sends these only to applications created before 2022-06-20 (or through OAuth): kept when sent.
    mobile = fields.Char(readonly=True)
    email = fields.Char(readonly=True)
    avatar = fields.Char(string="Avatar URL", readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Odoo User", readonly=True, index=True, ondelete="set null", check_company=False
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    application_id = fields.Many2one(
        "wecom.application", string="Synced By", readonly=True, ondelete="set null", check_company=True
    )
    active = fields.Boolean(default=True, readonly=True)

    def init(self):
        compat.create_unique_index(
            self.env.cr, "wecom_member_company_userid_uniq", self._table, ["company_id", "userid"]
        )
        sort_names_in_pinyin(self.env.cr, self._table, "name")

    def _wecom_mirror_changed(self):
        """Hook: these members were created, changed or archived by a sync or a callback (``wecom_hr`` follows
        them with ``hr.employee``). Called once per sync or event, after the mirror is written."""
        return True

    # ------------------------------------------------------------------ linking
    @api.model
    def _wecom_user_map(self, companies):
        """``{(company id, lower-case userid): user id}`` of the Odoo users with a WeCom User ID."""
        users = (
            self.env["res.users"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                [("wecom_userid", "!=", False), ("company_ids", "in", companies.ids)], ["wecom_userid", "company_ids"]
            )
        )
        mapping = {}
        for user in users:
            for company_id in set(user.company_ids.ids) & set(companies.ids):
                mapping[(company_id, user.wecom_userid.lower())] = user.id
        return mapping

    @api.model
    def _wecom_relink_users(self, users):
        """Link the members whose userid is the WeCom User ID of ``users`` (and unlink the members these users
        no longer match), after their ``wecom_userid`` changed."""
        Member = self.sudo().with_context(active_test=False)
        stale = Member.search([("user_id", "in", users.ids)])
        userids = {user.wecom_userid.lower() for user in users if user.wecom_userid}
        candidates = Member.browse()
        if userids:
            Member.flush_model(["userid"])
            # WeCom userids are case-insensitive; =ilike would read "_" and "%" as wildcards
            self.env.cr.execute("SELECT id FROM wecom_member WHERE lower(userid) IN %s", [tuple(userids)])
            candidates = Member.browse([row[0] for row in self.env.cr.fetchall()])
        mapping = self._wecom_user_map(users.company_ids)
        for member in stale | candidates:
            user_id = False
            if member.status != "exited":
                user_id = mapping.get((member.company_id.id, member.userid.lower()), False)
            if member.user_id.id != user_id:
                member.user_id = user_id

    def action_link_by_email(self):
        """Action: link unlinked members to the Odoo user of their company with the same e-mail (login or
        e-mail address), when WeCom gave an e-mail and that user has no WeCom User ID yet. Called on no member
        (the list's button with nothing selected): every unlinked member of the current companies."""
        self._wecom_check_manager()
        linked = self.env["wecom.member"]
        for member in (self or self._wecom_unlinked_members()).filtered(
            lambda m: not m.user_id and m.email and m.status != "exited"
        ):
            users = self.env["res.users"]._wecom_find_by_email(member.email, member.company_id)
            users = users.filtered(lambda user: not user.wecom_userid)
            # an administrator is never linked by e-mail: a WeCom login as them stays a manager's manual act
            users = users.filtered(lambda user: not user._wecom_is_administrator())
            if len(users) == 1:
                users.wecom_userid = member.userid  # res.users relinks the member
                linked |= member
        return notification(
            _("%(count)s member(s) linked to Odoo users by e-mail.", count=len(linked)),
            _("Link by e-mail"),
            "success" if linked else "info",
        )

    def action_create_users(self):
        """Action: open the wizard that creates Odoo users for the selected members (none selected: for every
        unlinked member of the current companies)."""
        self._wecom_check_manager()
        members = self or self._wecom_unlinked_members()
        return {
            "type": "ir.actions.act_window",
            "name": _("Create Odoo Users"),
            "res_model": "wecom.member.user.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_member_ids": [(6, 0, members.ids)]},
        }

    @api.model
    def _wecom_unlinked_members(self):
        """The members of the current companies (the company switcher) without an Odoo user, exited ones left out."""
        return self.search(
            [("user_id", "=", False), ("status", "!=", "exited"), ("company_id", "in", self.env.companies.ids)]
        )

    def _wecom_check_manager(self):
        check_wecom_group(self.env, MANAGER_GROUP, _("Only WeCom managers can link WeCom members to Odoo users."))
