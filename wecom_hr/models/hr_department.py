from odoo import fields, models

from odoo.addons.wecom_base import compat


class HrDepartment(models.Model):
    _inherit = "hr.department"

    wecom_department_id = fields.Many2one(
        "wecom.department",
        string="WeCom Department",
        index=True,
        copy=False,
        ondelete="set null",
        help="The WeCom department this department follows (name, parent, archived).",
    )

    def init(self):
        # one department per WeCom department: unique where set (most departments follow nothing)
        compat.create_unique_index(
            self.env.cr,
            "hr_department_wecom_department_uniq",
            self._table,
            ["wecom_department_id"],
            where="wecom_department_id IS NOT NULL",
        )
