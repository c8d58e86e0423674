"""wecom_approval on its own: templates refuse what cannot work, before anything is sent to WeCom."""

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.wecom_base.tests.common import WeComCase


@tagged("post_install", "-at_install")
class TestWeComApprovalTemplate(WeComCase):
    def template(self, **values):
        return self.env["wecom.approval.template"].create(
            {
                "name": "Partners",
                "application_id": self.app.id,
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "template_id": "tpl-partner",
                **values,
            }
        )

    def test_approvers_needed_without_wecoms_flow(self):
        with self.assertRaisesRegex(ValidationError, "choose the approvers"):
            self.template(use_template_approver=False)

    def test_a_field_must_exist_and_fit_its_control(self):
        self.mock.set_approval_template(
            "tpl-partner",
            "Partner",
            [
                {"control": "Text", "id": "Text-1", "title": "Name", "require": 1},
                {"control": "Vacation", "id": "Vacation-1", "title": "Leave", "require": 1},
                {"control": "Text", "id": "Text-2", "title": "File", "require": 0},
            ],
        )
        template = self.template()
        template.action_wecom_load_controls()
        text, vacation, other = template.line_ids
        self.assertEqual((text.control_type, text.required, text.fillable), ("Text", True, True))
        self.assertFalse(vacation.fillable, "WeCom's leave control cannot be filled from Odoo")
        self.assertEqual(template.missing_count, 2)
        text.field_name = "name"
        self.assertEqual(template.missing_count, 1, "the leave control stays unfilled")
        with self.assertRaisesRegex(ValidationError, "not a field of"):
            other.field_name = "no_such_field"
        with self.assertRaisesRegex(ValidationError, "Only a File control"):
            other.field_name = "__pdf__"
        with self.assertRaisesRegex(UserError, "cannot be filled"):
            vacation.field_name = "name"

    def test_unknown_template_is_a_clear_error(self):
        template = self.template(template_id="no-such-template")
        with self.assertRaisesRegex(UserError, "301025"):
            template.action_wecom_load_controls()
