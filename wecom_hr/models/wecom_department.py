from odoo import fields, models

from odoo.addons.wecom_base.tools import changed_values


class WeComDepartment(models.Model):
    _inherit = "wecom.department"

    hr_department_ids = fields.One2many("hr.department", "wecom_department_id", string="HR Department")

    def _wecom_mirror_changed(self):
        result = super()._wecom_mirror_changed()
        self._wecom_sync_hr_departments()
        return result

    def _wecom_sync_hr_departments(self):
        """Follow these WeCom departments with ``hr.department`` records: name, parent (the tree is kept),
        company, archived; created when missing. Compared before writing: nothing changes, nothing is written.

        :return: ``{"created", "updated"}``
        """
        HrDepartment = self.env["hr.department"].sudo().with_context(active_test=False, tracking_disable=True)
        stats = {"created": 0, "updated": 0}
        if not self:
            return stats
        companies = self.company_id
        linked = {
            d.wecom_department_id.id: d
            for d in HrDepartment.search([("wecom_department_id.company_id", "in", companies.ids)])
        }
        # parents first (parent_path is "1/5/9/"), so that a new child finds its parent's HR department
        for department in self.sudo().sorted(lambda d: (d.parent_path or "").count("/")):
            hr_department = linked.get(department.id)
            parent = linked.get(department.parent_id.id) if department.parent_id else None
            desired = {
                "name": department.name,
                "parent_id": parent.id if parent else False,
                "company_id": department.company_id.id,
                "active": department.active,
            }
            if not hr_department:
                if not department.active:
                    continue
                linked[department.id] = HrDepartment.create({**desired, "wecom_department_id": department.id})
                stats["created"] += 1
                continue
            diff = changed_values(hr_department, desired)
            if diff:
                hr_department.write(diff)
                stats["updated"] += 1
        return stats
