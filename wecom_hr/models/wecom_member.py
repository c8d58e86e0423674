from odoo import fields, models

from odoo.addons.wecom_base.models.wecom_directory_sync import changed_values


class WeComMember(models.Model):
    _inherit = "wecom.member"

    employee_ids = fields.One2many("hr.employee", "wecom_member_id", string="Employee")

    def _wecom_mirror_changed(self):
        result = super()._wecom_mirror_changed()
        self._wecom_sync_hr_employees()
        return result

    def _wecom_employee_values(self, hr_departments):
        self.ensure_one()
        department = self.main_department_id or self.department_ids[:1]
        values = {
            "name": self.name,
            "job_title": self.position or False,
            "department_id": hr_departments.get(department.id, False),
            "company_id": self.company_id.id,
            "active": self.active and self.status != "exited",
        }
        if self.user_id:
            values["user_id"] = self.user_id.id  # hr sets the work contact to the user's partner
        if self.email:
            values["work_email"] = self.email
        if self.mobile:
            values["mobile_phone"] = self.mobile
        return values

    def _wecom_sync_hr_employees(self):
        """Follow these WeCom members with ``hr.employee`` records: name, job title (WeCom's position), the HR
        department of the main department, the linked user (and so the work contact), archived when the member
        is archived or exited; an existing employee of the linked user is adopted rather than duplicated.
        Compared before writing.

        :return: ``{"created", "updated"}``
        """
        Employee = self.env["hr.employee"].sudo().with_context(active_test=False, tracking_disable=True)
        stats = {"created": 0, "updated": 0}
        if not self:
            return stats
        members = self.sudo()
        hr_departments = {
            d.wecom_department_id.id: d.id
            for d in self.env["hr.department"]
            .sudo()
            .with_context(active_test=False)
            .search([("wecom_department_id", "in", (members.department_ids | members.main_department_id).ids)])
        }
        employees = {e.wecom_member_id.id: e for e in Employee.search([("wecom_member_id", "in", members.ids)])}
        to_create = []
        for member in members:
            desired = member._wecom_employee_values(hr_departments)
            employee = employees.get(member.id)
            if not employee and member.user_id:
                employee = Employee.search(
                    [
                        ("user_id", "=", member.user_id.id),
                        ("company_id", "=", member.company_id.id),
                        ("wecom_member_id", "=", False),
                    ],
                    limit=1,
                )
                if employee:
                    desired["wecom_member_id"] = member.id  # adopt the user's employee
            if not employee:
                if desired["active"]:
                    to_create.append({**desired, "wecom_member_id": member.id})
                continue
            if not desired["active"]:
                desired = {"active": False}  # an archived employee keeps what it had
            diff = changed_values(employee, desired)
            if diff:
                employee.write(diff)
                stats["updated"] += 1
        if to_create:
            Employee.create(to_create)
            stats["created"] += len(to_create)
        return stats
