from odoo import _, models

from odoo.addons.wecom_base.tools import notification


class WeComApplication(models.Model):
    _inherit = "wecom.application"

    def action_sync_hr(self):
        """Button: follow every mirrored department and member of this application with HR departments and
        employees (the directory sync does it for what it changes; this catches up, e.g. after installing)."""
        self.check_access("write")
        departments = self.env["wecom.department"].sudo().with_context(active_test=False)
        members = self.env["wecom.member"].sudo().with_context(active_test=False)
        department_stats = departments.search([("application_id", "in", self.ids)])._wecom_sync_hr_departments()
        member_stats = members.search([("application_id", "in", self.ids)])._wecom_sync_hr_employees()
        return notification(
            _(
                "Departments: %(dc)s created, %(du)s updated. Employees: %(ec)s created, %(eu)s updated.",
                dc=department_stats["created"],
                du=department_stats["updated"],
                ec=member_stats["created"],
                eu=member_stats["updated"],
            ),
            _("HR follows the WeCom directory"),
        )
