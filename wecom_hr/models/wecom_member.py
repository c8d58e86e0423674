from odoo import fields, models

from odoo.addons.wecom_base.tools import changed_values


class WeComMember(models.Model):
    _inherit = "wecom.member"

    employee_ids = fields.One2many("hr.employee", "wecom_member_id", string="Employee")

    def _wecom_mirror_changed(self):
        result = super()._wecom_mirror_changed()
        self._wecom_sync_hr_employees()
        return result

    def write(self, vals):
        result = super().write(vals)
        if "user_id" in vals:
            # Create Odoo Users, Link by E-mail, a WeCom User ID set on a user: the employee follows at once
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
        self._wecom_follow_users(Employee, members, employees)
        to_create = []
        for member in members:
            desired = member._wecom_employee_values(hr_departments)
            employee = employees.get(member.id)
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
            Employee.create(to_create)._wecom_job_title_as_text()
            stats["created"] += len(to_create)
        return stats

    def _wecom_follow_users(self, Employee, members, employees):
        """The employee of a user follows the user to the member now linked to it (the user's WeCom User ID
        changed, or the member was just linked): an employee of a linked user is never duplicated, and a user is
        never linked to two employees of a company (hr's constraint).

        :param dict employees: ``{member id: employee}``, updated in place
        """
        linked = members.filtered("user_id")
        if not linked:
            return
        by_user = {
            (e.user_id.id, e.company_id.id): e
            for e in Employee.search(
                [("user_id", "in", linked.user_id.ids), ("company_id", "in", linked.company_id.ids)]
            )
        }
        for member in linked:
            user_employee = by_user.get((member.user_id.id, member.company_id.id))
            own = employees.get(member.id)
            if not user_employee or user_employee == own:
                continue
            previous = user_employee.wecom_member_id
            if own:
                user_employee.write({"user_id": False})  # the member's own employee takes the user
            else:
                user_employee.write({"wecom_member_id": member.id})  # adopt the user's employee
                employees[member.id] = user_employee
                if previous.id in employees and employees[previous.id] == user_employee:
                    del employees[previous.id]
