from markupsafe import escape

from odoo import fields, models
from odoo.tools import html2plaintext, plaintext2html

from odoo.addons.wecom_base import compat


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
        # one employee per WeCom member: unique where set
        compat.create_unique_index(
            self.env.cr,
            "hr_employee_wecom_member_uniq",
            self._table,
            ["wecom_member_id"],
            where="wecom_member_id IS NOT NULL",
        )

    def _wecom_job_title_as_text(self):
        """WeCom's position is text: where another addon copied the new employees' job title into HTML (18.0's
        ``hr_skills`` makes it the description of the first resume line), it is shown as text, never as markup."""
        if "resume_line_ids" not in self._fields:
            return
        for employee in self.filtered(lambda e: e.job_title and escape(e.job_title) != e.job_title):
            title = employee.job_title
            copies = employee.resume_line_ids.filtered(
                lambda line, title=title: line.description and html2plaintext(line.description).strip() != title
            )
            copies.write({"description": plaintext2html(employee.job_title)})
