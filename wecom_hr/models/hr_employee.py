from odoo import fields, models

from .hr_department import partial_unique_index


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    wecom_member_id = fields.Many2one(
        "wecom.member",
        string="WeCom Member",
        index=True,
        copy=False,
        ondelete="set null",
        groups="hr.group_hr_user",
        help="The WeCom member this employee follows (name, job title, department, user, archived).",
    )

    def init(self):
        partial_unique_index(self.env.cr, "hr_employee_wecom_member_uniq", self._table, "wecom_member_id")
