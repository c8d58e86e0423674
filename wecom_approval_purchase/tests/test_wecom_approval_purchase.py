"""Purchase orders approved in WeCom, against the mock WeCom: submission, decisions by callback and by polling."""

import time

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import float_repr

from odoo.addons.wecom_base.lib import WeComCallbackCrypto
from odoo.addons.wecom_base.tests.common import (
    MOCK_AGENT_ID,
    MOCK_CORP_ID,
    WeComCallbackMixin,
    WeComCase,
    WeComMockMixin,
)
from odoo.addons.wecom_base.tests.mock_wecom.approval import SAMPLE_APPROVAL_TEMPLATE, approval_change_xml

TEMPLATE_ID = SAMPLE_APPROVAL_TEMPLATE["template_id"]
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
MAPPING = {
    "Text-1001": "name",
    "Money-1004": "amount_total",
    "Date-1005": "date_order",
    "Table-1007": "order_line",
    "Text-1008": "product_id",
    "Number-1009": "product_qty",
    "Money-1010": "price_subtotal",
}


class ApprovalPurchaseMixin:
    """A purchase template mapped to purchase-order fields, a buyer with a WeCom userid, an RFQ."""

    @classmethod
    def setup_purchase(cls):
        cls.buyer = new_test_user(
            cls.env, login="appr_buyer", groups="purchase.group_purchase_user", wecom_userid="zhangsan"
        )
        cls.buyer_no_wecom = new_test_user(cls.env, login="appr_buyer2", groups="purchase.group_purchase_user")
        cls.purchase_manager = new_test_user(cls.env, login="appr_pmanager", groups="purchase.group_purchase_manager")
        cls.approver = new_test_user(cls.env, login="appr_lisi", groups="base.group_user", wecom_userid="lisi")
        cls.vendor = cls.env["res.partner"].create({"name": "Vendor Ltd"})
        cls.product = cls.env["product.product"].create({"name": "Desk", "standard_price": 40.0})
        cls.template = cls.env["wecom.approval.template"].create(
            {
                "name": "Purchase approval",
                "application_id": cls.app.id,
                "model_id": cls.env["ir.model"]._get_id("purchase.order"),
                "template_id": TEMPLATE_ID,
            }
        )

    def load_and_map(self):
        self.mock.set_approval_templates()
        self.template.action_wecom_load_controls()
        fields_ = self.env["ir.model.fields"]
        for line in self.template.line_ids.sorted(lambda ln: bool(ln.parent_id)):
            name = MAPPING.get(line.control_id)
            if name:
                line.field_id = fields_._get(line.field_model, name)

    def make_order(self, user=None, qty=3, price=40.0):
        return (
            self.env["purchase.order"]
            .with_user(user or self.buyer)
            .create(
                {
                    "partner_id": self.vendor.id,
                    "order_line": [
                        (0, 0, {"product_id": self.product.id, "product_qty": qty, "price_unit": price}),
                    ],
                }
            )
        )

    def submit(self, order, user=None):
        return order.with_user(user or self.buyer).action_wecom_approval_submit()

    def bodies(self, order):
        return "\n".join(order.message_ids.mapped("body"))


@tagged("post_install", "-at_install")
class TestWeComApprovalPurchase(ApprovalPurchaseMixin, WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_purchase()
        cls.callback = cls.env["wecom.callback"].create(
            {"application_id": cls.app.id, "callback_token": "ApprTok1", "encoding_aes_key": AES_KEY}
        )
        cls.Event = cls.env["wecom.callback.event"]

    def setUp(self):
        super().setUp()
        self.load_and_map()

    def deliver_event(self, xml):
        """Store a callback as the controller does and process it; the event."""
        event_id, _reply = self.Event._wecom_store(self.callback, xml.encode())
        event = self.Event.browse(event_id)
        event.action_process_now()
        return event

    def decide(self, request, sp_status, userid="lisi", speech=""):
        return self.mock.decide_approval(request.sp_no, sp_status, userid=userid, speech=speech)["callback_xml"]

    # ------------------------------------------------------------------ template
    def test_template_controls_map_to_purchase_fields(self):
        lines = self.template.line_ids
        self.assertEqual(len(lines), 10, "seven controls and the table's three columns")
        by_id = {line.control_id: line for line in lines}
        self.assertEqual(by_id["Money-1004"].control, "Money")
        self.assertTrue(by_id["Money-1004"].required)
        self.assertEqual(by_id["Text-1008"].parent_id, by_id["Table-1007"])
        self.assertEqual(by_id["Text-1008"].field_model, "purchase.order.line")
        self.assertEqual(by_id["Money-1004"].field_name, "amount_total")
        self.assertEqual(self.template.missing_count, 0)
        # a second load keeps the fields chosen; a control gone from WeCom goes
        controls = [c for c in SAMPLE_APPROVAL_TEMPLATE["controls"] if c["property"]["id"] != "Number-1003"]
        self.mock.set_approval_templates([{**SAMPLE_APPROVAL_TEMPLATE, "controls": controls}])
        self.template.action_wecom_load_controls()
        by_id = {line.control_id: line for line in self.template.line_ids}
        self.assertNotIn("Number-1003", by_id)
        self.assertEqual(by_id["Money-1004"].field_name, "amount_total")
        self.assertEqual(by_id["Number-1009"].field_name, "product_qty")
        by_id["Money-1004"].field_id = False
        self.assertTrue(by_id["Money-1004"].missing)
        self.assertEqual(self.template.missing_count, 1)

    def test_button_only_with_a_template(self):
        order = self.make_order()
        self.assertTrue(order.wecom_approval_template_available)
        self.template.active = False
        order.invalidate_recordset()
        self.assertFalse(order.wecom_approval_template_available)
        with self.assertRaisesRegex(UserError, "No WeCom approval template"):
            self.submit(order)

    # ------------------------------------------------------------------ submission
    def test_submit_sends_creator_template_and_values(self):
        order = self.make_order(qty=3, price=40.0)
        with self.assertMockCalls(oa_applyevent=1, media_upload=1):
            request = self.submit(order)
        posted = self.mock.approvals()["applications"][0]["request"]
        self.assertEqual(posted["creator_userid"], "zhangsan")
        self.assertEqual(posted["template_id"], TEMPLATE_ID)
        self.assertEqual(posted["use_template_approver"], 1)
        contents = {c["id"]: c for c in posted["apply_data"]["contents"]}
        self.assertEqual(contents["Text-1001"]["value"], {"text": order.name})
        self.assertEqual(contents["Money-1004"]["value"], {"new_money": float_repr(order.amount_total, 2)})
        self.assertEqual(contents["Date-1005"]["value"]["date"]["type"], "day")
        self.assertEqual(int(contents["Date-1005"]["value"]["date"]["s_timestamp"]), int(order.date_order.timestamp()))
        self.assertTrue(contents["File-1006"]["value"]["files"][0]["file_id"], "the RFQ's PDF uploaded")
        self.assertNotIn("Number-1003", contents, "an unmapped optional control is not sent")
        row = {c["id"]: c["value"] for c in contents["Table-1007"]["value"]["children"][0]["list"]}
        self.assertEqual(row["Text-1008"], {"text": order.order_line.product_id.display_name})
        self.assertEqual(row["Number-1009"], {"new_number": "3"})
        self.assertEqual(row["Money-1010"], {"new_money": "120.00"})
        self.assertEqual(len(posted["summary_list"]), 3)
        self.assertIn(order.name, posted["summary_list"][0]["summary_info"][0]["text"])
        # the request, in Odoo
        self.assertEqual(request.state, "pending")
        self.assertEqual(request.sp_no, self.mock.approvals()["applications"][0]["sp_no"])
        self.assertEqual((request.res_model, request.res_id), ("purchase.order", order.id))
        self.assertEqual(request.submitter_id, self.buyer)
        self.assertEqual(order.wecom_approval_count, 1)
        self.assertEqual(order.wecom_approval_state, "pending")
        self.assertIn(request.sp_no, self.bodies(order))
        # the buyer sees their request, another buyer does not
        self.assertEqual(self.env["wecom.approval.request"].with_user(self.buyer).search([]), request)
        self.assertFalse(self.env["wecom.approval.request"].with_user(self.buyer_no_wecom).search([]))
        with self.assertRaisesRegex(UserError, "already awaits approval"):
            self.submit(order)

    def test_approvers_chosen_in_odoo(self):
        self.template.write({"use_template_approver": False, "approver_user_ids": [(6, 0, self.approver.ids)]})
        self.submit(self.make_order())
        posted = self.mock.approvals()["applications"][0]["request"]
        self.assertEqual(posted["use_template_approver"], 0)
        self.assertEqual(posted["approver"], [{"attr": 1, "userid": ["lisi"]}])
        self.template.approver_user_ids = self.buyer_no_wecom
        with self.assertMockCalls(oa_applyevent=0), self.assertRaisesRegex(UserError, "approvers have no WeCom"):
            self.submit(self.make_order())

    def test_template_given_by_id_must_serve_the_document(self):
        other = self.env["wecom.approval.template"].create(
            {
                "name": "Partners",
                "application_id": self.app.id,
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "template_id": TEMPLATE_ID,
            }
        )
        order = self.make_order()
        with self.assertMockCalls(oa_applyevent=0), self.assertRaisesRegex(UserError, "does not serve"):
            order.with_user(self.buyer).action_wecom_approval_submit(other.id)
        request = order.with_user(self.buyer).action_wecom_approval_submit(self.template.id)
        self.assertEqual(request.template_id, self.template)

    def test_user_without_wecom_userid_sends_nothing(self):
        order = self.make_order(user=self.buyer_no_wecom)
        with self.assertMockCalls(oa_applyevent=0, media_upload=0), self.assertRaisesRegex(UserError, "WeCom User ID"):
            self.submit(order, user=self.buyer_no_wecom)
        self.assertFalse(self.env["wecom.approval.request"].search([("res_id", "=", order.id)]))
        self.assertFalse(self.mock.approvals()["applications"])

    def test_required_control_unmapped_sends_nothing(self):
        self.template.line_ids.filtered(lambda ln: ln.control_id == "Money-1004").field_id = False
        order = self.make_order()
        with (
            self.assertMockCalls(oa_applyevent=0, media_upload=0),
            self.assertRaisesRegex(UserError, r"required controls.*\n- Amount \(no field chosen\)"),
        ):
            self.submit(order)
        self.assertFalse(order.wecom_approval_count)

    def test_wecom_refusal_is_a_user_error(self):
        # WeCom refuses a required control Odoo thinks optional (the template changed in WeCom meanwhile)
        controls = [dict(c) for c in SAMPLE_APPROVAL_TEMPLATE["controls"]]
        controls[1] = {"property": {**controls[1]["property"], "require": 1}}
        self.mock.set_approval_templates([{**SAMPLE_APPROVAL_TEMPLATE, "controls": controls}])
        order = self.make_order()
        with self.assertRaisesRegex(UserError, "301025"):
            self.submit(order)
        self.assertFalse(order.wecom_approval_count)

    def test_only_rfqs_are_submitted(self):
        order = self.make_order()
        order.button_confirm()
        with self.assertRaisesRegex(UserError, "request for quotation"):
            self.submit(order)

    # ------------------------------------------------------------------ pending
    def test_order_cannot_be_confirmed_while_pending(self):
        order = self.make_order()
        request = self.submit(order)
        with self.assertRaisesRegex(UserError, "awaits approval in WeCom"):
            order.with_user(self.buyer).button_confirm()
        self.assertEqual(order.state, "draft")
        # the buyer's colleague cannot cancel it; a purchase administrator can
        with self.assertRaises(AccessError):
            order.with_user(self.buyer_no_wecom).action_wecom_approval_cancel()
        order.with_user(self.purchase_manager).action_wecom_approval_cancel()
        self.assertEqual(request.state, "cancelled")
        order.with_user(self.buyer).button_confirm()
        self.assertEqual(order.state, "purchase")
        # a decision arriving afterwards is ignored
        event = self.deliver_event(self.decide(request, 3, speech="No"))
        self.assertEqual(event.state, "done")
        self.assertEqual(request.state, "cancelled")
        self.assertEqual(order.state, "purchase")

    # ------------------------------------------------------------------ decisions
    def test_approval_callback_confirms_the_order_once(self):
        order = self.make_order()
        request = self.submit(order)
        xml = self.decide(request, 2, speech="同意，按计划采购")
        event = self.deliver_event(xml)
        self.assertEqual(event.state, "done", event.error_reason)
        self.assertEqual(order.state, "purchase")
        self.assertEqual(order.write_uid, self.buyer, "confirmed as the submitter")
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.decided_by, "lisi")
        self.assertEqual(request.decided_user_id, self.approver)
        self.assertEqual(request.source, "callback")
        self.assertIn("同意，按计划采购", request.comment)
        bodies = self.bodies(order)
        self.assertIn(f"{self.approver.name} (lisi)", bodies)
        self.assertIn("同意，按计划采购", bodies)
        # WeCom delivers it again (a new CreateTime), then the cron polls: nothing more happens
        count = len(order.message_ids)
        info = self.mock.approvals()["applications"][0]
        again = self.deliver_event(approval_change_xml(info, event_time=int(time.time()) + 60))
        self.assertNotEqual(again, event)
        self.assertIn("nothing to apply", again.result)
        with self.assertMockCalls(oa_getapprovaldetail=0):
            self.env["wecom.approval.request"]._cron_poll_pending()
        self.assertEqual(len(order.message_ids), count)
        self.assertEqual(order.state, "purchase")

    def test_rejection_keeps_a_draft_with_the_reason(self):
        order = self.make_order()
        request = self.submit(order)
        self.deliver_event(self.decide(request, 3, speech="Too expensive, ask for another quote"))
        self.assertEqual(request.state, "rejected")
        self.assertEqual(order.state, "draft")
        self.assertIn("Too expensive, ask for another quote", self.bodies(order))
        self.assertEqual(order.wecom_approval_state, "rejected")
        # it can be sent again
        self.assertEqual(self.submit(order).state, "pending")

    def test_revocation_goes_back_to_draft(self):
        order = self.make_order()
        order.write({"state": "sent"})
        request = self.submit(order)
        self.deliver_event(self.decide(request, 4, userid=""))
        self.assertEqual(request.state, "revoked")
        self.assertEqual(order.state, "draft")

    def test_polling_applies_a_decision_whose_callback_never_came(self):
        order = self.make_order()
        request = self.submit(order)
        other = self.submit(self.make_order())
        with self.assertMockCalls(oa_getapprovaldetail=2):
            self.env["wecom.approval.request"]._cron_poll_pending()
        self.assertEqual(request.state, "pending", "still pending in WeCom")
        self.decide(request, 2, speech="ok")  # the callback is not delivered
        with self.assertMockCalls(oa_getapprovaldetail=2):
            self.env["wecom.approval.request"]._cron_poll_pending()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.source, "poll")
        self.assertEqual(order.state, "purchase")
        self.assertEqual(other.state, "pending")
        # the callback arriving late does nothing
        info = self.mock.approvals()["applications"][0]
        self.assertEqual(info["sp_no"], request.sp_no)
        event = self.deliver_event(approval_change_xml(info))
        self.assertIn("nothing to apply", event.result)

    def test_polling_survives_a_wecom_error(self):
        first = self.submit(self.make_order())
        second_order = self.make_order()
        second = self.submit(second_order)
        self.decide(second, 2)
        self.mock.add_fault(path="/cgi-bin/oa/getapprovaldetail", errcode=301011)
        with self.assertWeComWarning("could not be polled", logger="odoo.addons.wecom_approval"):
            self.env["wecom.approval.request"]._cron_poll_pending()
        self.assertEqual(first.state, "pending")
        self.assertEqual(second.state, "approved")
        self.assertEqual(second_order.state, "purchase")

    def test_unknown_approval_is_ignored(self):
        self.submit(self.make_order())
        xml = self.decide(self.env["wecom.approval.request"].search([], limit=1), 2).replace("<SpNo>", "<SpNo>9")
        event = self.deliver_event(xml)
        self.assertEqual(event.state, "done")
        self.assertIn("was not sent from Odoo", event.result)


@tagged("post_install", "-at_install")
class TestWeComApprovalPurchaseHttp(ApprovalPurchaseMixin, WeComCallbackMixin, WeComMockMixin, HttpCase):
    """The decision posted to the callback URL, signed and encrypted as WeCom does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Approvals",
                "agent_id": MOCK_AGENT_ID,
                "secret": "approval-secret-xyz",
                "company_id": cls.company.id,
            }
        )
        cls.mock.add_app(MOCK_CORP_ID, "approval-secret-xyz", MOCK_AGENT_ID)
        cls.callback = cls.env["wecom.callback"].create(
            {"application_id": cls.app.id, "callback_token": "ApprTok2", "encoding_aes_key": AES_KEY}
        )
        cls.crypto = WeComCallbackCrypto("ApprTok2", AES_KEY, MOCK_CORP_ID)
        cls.setup_purchase()

    def setUp(self):
        super().setUp()
        self.mock.add_app(MOCK_CORP_ID, "approval-secret-xyz", MOCK_AGENT_ID)
        self.load_and_map()

    def test_callback_over_http_confirms_the_order(self):
        order = self.make_order()
        request = self.submit(order)
        xml = self.mock.decide_approval(request.sp_no, 2, userid="lisi", speech="Approved on the phone")["callback_xml"]
        response = self.deliver(xml)
        self.assertEqual(response.status_code, 200, response.text)
        event = self.env["wecom.callback.event"].search([("event", "=", "sys_approval_change")], limit=1)
        self.assertTrue(event)
        event.action_process_now()
        self.assertEqual(request.state, "approved")
        self.assertEqual(order.state, "purchase")
        self.assertIn("Approved on the phone", "\n".join(order.message_ids.mapped("body")))
