"""WeCom approval templates, requests and decisions, without a document model of their own (see
wecom_approval_purchase for a whole flow)."""

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.wecom_base.tests.common import WeComCase
from odoo.addons.wecom_base.tests.mock_wecom.approval import SAMPLE_APPROVAL_TEMPLATE, approval_change_xml

TEMPLATE_ID = SAMPLE_APPROVAL_TEMPLATE["template_id"]
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


@tagged("post_install", "-at_install")
class TestWeComApproval(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = cls.env["wecom.approval.template"].create(
            {
                "name": "Partner approval",
                "application_id": cls.app.id,
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "template_id": TEMPLATE_ID,
            }
        )
        cls.callback = cls.env["wecom.callback"].create(
            {"application_id": cls.app.id, "callback_token": "ApprTok3", "encoding_aes_key": AES_KEY}
        )
        cls.Request = cls.env["wecom.approval.request"]
        cls.partner = cls.env["res.partner"].create({"name": "Approved Partner"})

    def setUp(self):
        super().setUp()
        self.mock.set_approval_templates()

    def field(self, model, name):
        return self.env["ir.model.fields"]._get(model, name)

    def make_request(self, user, sp_no="202612040000001", **vals):
        return self.Request.create(
            {
                "sp_no": sp_no,
                "template_id": self.template.id,
                "application_id": self.app.id,
                "company_id": self.company.id,
                "res_model": "res.partner",
                "res_id": self.partner.id,
                "submitter_id": user.id,
                **vals,
            }
        )

    def deliver_event(self, xml):
        Event = self.env["wecom.callback.event"]
        event_id, _reply = Event._wecom_store(self.callback, xml.encode())
        event = Event.browse(event_id)
        event.action_process_now()
        return event

    # ------------------------------------------------------------------ templates
    def test_load_controls_keeps_the_fields_chosen(self):
        with self.assertMockCalls(oa_gettemplatedetail=1):
            self.template.action_wecom_load_controls()
        lines = self.template.line_ids
        self.assertEqual(
            lines.filtered(lambda ln: not ln.parent_id).mapped("control"),
            ["Text", "Textarea", "Number", "Money", "Date", "File", "Table"],
        )
        self.assertEqual(len(lines.filtered("parent_id")), 3)
        text = lines.filtered(lambda ln: ln.control_id == "Text-1001")
        self.assertEqual(text.title, "Reference")
        self.assertTrue(text.required)
        self.assertTrue(text.missing, "required and filled by nothing")
        self.assertEqual(self.template.missing_count, 2, "Reference and Amount; the file needs no field")
        text.field_id = self.field("res.partner", "name")
        self.assertFalse(text.missing)
        self.template.action_wecom_load_controls()
        self.assertEqual(self.template.line_ids, lines, "the same lines, updated")
        self.assertEqual(text.field_name, "name")

    def test_field_must_fit_the_control(self):
        self.template.action_wecom_load_controls()
        by_id = {line.control_id: line for line in self.template.line_ids}
        with self.assertRaises(ValidationError):
            by_id["Text-1001"].field_id = self.field("res.users", "login")
        with self.assertRaises(ValidationError):
            by_id["File-1006"].field_id = self.field("res.partner", "name")
        with self.assertRaises(ValidationError):
            by_id["Table-1007"].field_id = self.field("res.partner", "name")
        by_id["Table-1007"].field_id = self.field("res.partner", "child_ids")
        self.assertEqual(by_id["Text-1008"].field_model, "res.partner")

    def test_unknown_template_is_a_clear_error(self):
        self.template.template_id = "nope"
        with self.assertRaisesRegex(UserError, "301002"):
            self.template.action_wecom_load_controls()
        self.assertFalse(self.template.line_ids)

    def test_approvers_needed_without_wecom_flow(self):
        with self.assertRaises(ValidationError):
            self.template.use_template_approver = False
        self.template.write({"use_template_approver": False, "approver_user_ids": [(6, 0, self.user_manager.ids)]})
        self.assertFalse(self.template.use_template_approver)

    def test_templates_for_managers_only(self):
        with self.assertRaises(AccessError):
            self.template.with_user(self.user_wecom).write({"name": "x"})
        self.template.with_user(self.user_manager).write({"name": "Renamed"})
        self.assertEqual(self.template.name, "Renamed")

    # ------------------------------------------------------------------ requests
    def test_users_see_their_own_requests_managers_all(self):
        own = self.make_request(self.user_wecom, sp_no="1")
        other = self.make_request(self.user_plain, sp_no="2")
        self.assertEqual(self.Request.with_user(self.user_wecom).search([]), own)
        self.assertEqual(self.Request.with_user(self.user_plain).search([]), other)
        self.assertEqual(self.Request.with_user(self.user_manager).search([]), own | other)
        with self.assertRaises(AccessError):
            own.with_user(self.user_wecom).write({"comment": "x"})
        with self.assertRaises(AccessError):
            other.with_user(self.user_wecom).action_cancel()
        own.with_user(self.user_wecom).action_cancel()
        self.assertEqual(own.state, "cancelled")
        with self.assertRaisesRegex(UserError, "Only a pending"):
            own.with_user(self.user_manager).action_cancel()

    def test_decision_applied_once_without_hooks(self):
        request = self.make_request(self.user_wecom, sp_no="202612040000009")
        info = {
            "sp_no": request.sp_no,
            "sp_status": 3,
            "sp_record": [
                {
                    "sp_status": 3,
                    "details": [
                        {"approver": {"userid": "lisi"}, "speech": "Not now", "sp_status": 3, "sptime": 1764800000}
                    ],
                }
            ],
        }
        event = self.deliver_event(approval_change_xml(info))
        self.assertEqual(event.state, "done", event.error_reason)
        self.assertEqual(request.state, "rejected")
        self.assertEqual(request.decided_by, "lisi")
        self.assertEqual(request.comment, "lisi: Not now")
        self.assertEqual(str(request.decision_date), "2025-12-03 22:13:20")
        self.assertIn("Not now", "\n".join(self.partner.message_ids.mapped("body")))
        info["sp_status"] = 2
        event = self.deliver_event(approval_change_xml(info, event_time=1764800100))
        self.assertIn("nothing to apply", event.result)
        self.assertEqual(request.state, "rejected")

    def test_pending_status_and_unknown_approvals_change_nothing(self):
        request = self.make_request(self.user_wecom, sp_no="202612040000010")
        event = self.deliver_event(approval_change_xml({"sp_no": request.sp_no, "sp_status": 1}))
        self.assertIn("nothing to apply", event.result)
        self.assertEqual(request.state, "pending")
        event = self.deliver_event(approval_change_xml({"sp_no": "404", "sp_status": 2}))
        self.assertIn("was not sent from Odoo", event.result)
        self.assertEqual(request.state, "pending")

    def test_cron_asks_nothing_without_pending_requests(self):
        self.make_request(self.user_wecom, state="approved")
        with self.assertMockCalls(oa_getapprovaldetail=0):
            self.Request._cron_poll_pending()

    def test_a_document_deleted_meanwhile(self):
        partner = self.env["res.partner"].create({"name": "Gone"})
        request = self.make_request(self.user_wecom, sp_no="202612040000011", res_id=partner.id)
        partner.unlink()
        self.assertFalse(request.res_name)
        state = request._wecom_apply_decision(2, [], "poll")
        self.assertEqual(state, "approved")
        self.assertEqual(request.state, "approved")
