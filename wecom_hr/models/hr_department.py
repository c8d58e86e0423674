from odoo import fields, models


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
        # one Odoo record per WeCom record (a partial index: most records follow nothing)
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS hr_department_wecom_department_uniq "
            "ON hr_department (wecom_department_id) "
            "WHERE wecom_department_id IS NOT NULL"
        )
