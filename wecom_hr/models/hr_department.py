from odoo import fields, models
from odoo.tools import SQL


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
        partial_unique_index(self.env.cr, "hr_department_wecom_department_uniq", self._table, "wecom_department_id")


def partial_unique_index(cr, name, table, column):
    """One Odoo record per WeCom record: unique where set (most records follow nothing)."""
    cr.execute(
        SQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (%s) WHERE %s IS NOT NULL",
            SQL.identifier(name),
            SQL.identifier(table),
            SQL.identifier(column),
            SQL.identifier(column),
        )
    )
