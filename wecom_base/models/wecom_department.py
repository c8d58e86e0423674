from odoo import _, api, fields, models

from .. import compat


class WeComDepartment(models.Model):
    """A department of a company's WeCom directory, as the directory application sees it (a mirror: the
    directory sync and ``change_contact`` callbacks write it; edit the directory in WeCom)."""

    _name = "wecom.department"
    _description = "WeCom Department"
    _parent_store = True
    _order = "sequence desc, wecom_id"  # WeCom shows larger ``order`` values first
    _rec_name = "complete_name"
    _check_company_auto = True

    wecom_id = fields.Integer(string="WeCom ID", required=True, readonly=True, index=True)
    name = fields.Char(required=True, readonly=True)
    complete_name = fields.Char(compute="_compute_complete_name", recursive=True, store=True)
    parent_id = fields.Many2one(
        "wecom.department", string="Parent Department", index=True, readonly=True, ondelete="set null"
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("wecom.department", "parent_id", string="Sub-departments", readonly=True)
    sequence = fields.Integer(readonly=True, help="WeCom's order of the department among its siblings.")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    application_id = fields.Many2one(
        "wecom.application", string="Synced By", readonly=True, ondelete="set null", check_company=True
    )
    member_ids = fields.Many2many(
        "wecom.member", "wecom_department_member_rel", "department_id", "member_id", string="Members", readonly=True
    )
    member_count = fields.Integer(
        compute="_compute_member_count",
        string="Member Count",
        help="Members of the department and its sub-departments.",
    )
    active = fields.Boolean(default=True, readonly=True)

    def init(self):
        compat.create_unique_index(
            self.env.cr, "wecom_department_company_wecom_id_uniq", self._table, ["company_id", "wecom_id"]
        )

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for department in self:
            if department.parent_id:
                department.complete_name = f"{department.parent_id.complete_name} / {department.name}"
            else:
                department.complete_name = department.name

    def _compute_member_count(self):
        """Members of the department and of its sub-departments, each once (what *Members* opens), as WeCom's
        own console counts them: the root counts the whole directory."""
        tree = self.with_context(active_test=False).search([("id", "child_of", self.ids)])
        members_by_department = {
            department.id: set(member_ids)
            for department, member_ids in self.env["wecom.member"]
            .with_context(active_test=True)
            ._read_group([("department_ids", "in", tree.ids)], ["department_ids"], ["id:array_agg"])
        }
        paths = [(department.parent_path, department.id) for department in tree]
        for department in self:
            members = set()
            for path, department_id in paths:
                if department.parent_path and path.startswith(department.parent_path):
                    members |= members_by_department.get(department_id, set())
            department.member_count = len(members)

    def action_view_members(self):
        """Button: the members of this department and of its sub-departments."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_base.wecom_member_action")
        action["domain"] = [("department_ids", "child_of", self.id)]
        action["context"] = {}
        action["name"] = _("Members of %(department)s", department=self.complete_name)
        return action

    def _wecom_mirror_changed(self):
        """Hook: these departments were created, changed or archived by a sync or a callback (``wecom_hr``
        follows them with ``hr.department``). Called once per sync or event, after the mirror is written."""
        return True
