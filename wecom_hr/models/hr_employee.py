from odoo import fields, models


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
        # one Odoo record per WeCom record (a partial index: most records follow nothing)
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS hr_employee_wecom_member_uniq ON hr_employee (wecom_member_id) "
            "WHERE wecom_member_id IS NOT NULL"
        )
