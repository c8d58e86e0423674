"""Purchase orders approved in WeCom (issue 25): a template loaded from WeCom maps its controls to order fields, a
purchase user with a WeCom User ID submits an RFQ, the order waits, and WeCom's decision (callback or polling)
confirms it or leaves it a draft, once."""

import time

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.wecom_base.tests.common import MOCK_AGENT_ID, MOCK_CORP_ID, WeComCase

TEMPLATE = "tpl-po-001"
CONTROLS = [
    {"control": "Text", "id": "Text-ref", "title": "Order", "require": 1},
    {"control": "Money", "id": "Money-total", "title": "Total", "require": 1},
    {"control": "Date", "id": "Date-order", "title": "Order Date", "require": 0},
    {"control": "Table", "id": "Table-lines", "title": "Lines", "require": 0, "children": ["Text-line"]},
    {"control": "Selector", "id": "Selector-kind", "title": "Kind", "require": 0},
]


@tagged("post_install", "-at_install")
class TestWeComApprovalPurchase(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.buyer = new_test_user(
            cls.env, login="wecom_buyer", name="Buyer Zhang", groups="base.group_user,purchase.group_purchase_user"
        )
        cls.buyer.sudo().wecom_userid = "zhangsan"
        cls.approver = new_test_user(cls.env, login="wecom_approver", name="Approver Li", groups="base.group_user")
        cls.approver.sudo().wecom_userid = "lisi"
        cls.template = cls.env["wecom.approval.template"].create(
            {
                "name": "Purchase",
                "application_id": cls.app.id,
                "model_id": cls.env["ir.model"]._get_id("purchase.order"),
                "template_id": TEMPLATE,
            }
        )
        cls.callback = cls.env["wecom.callback"].create({"application_id": cls.app.id})
        cls.vendor = cls.env["res.partner"].create({"name": "Vendor Wang"})
        cls.product = cls.env["product.product"].create({"name": "Paper", "standard_price": 5.0})

    def setUp(self):
        super().setUp()
        self.mock.set_approval_template(TEMPLATE, "采购审批", CONTROLS)

    def mapped_template(self):
        self.template.action_wecom_load_controls()
        fields = {
            "Text-ref": "name",
            "Money-total": "amount_total",
            "Date-order": "date_order",
            "Table-lines": "order_line",
        }
        for line in self.template.line_ids:
            line.field_name = fields.get(line.control_id, False)
        return self.template

    def rfq(self):
        return (
            self.env["purchase.order"]
            .with_user(self.buyer)
            .create(
                {
                    "partner_id": self.vendor.id,
                    "order_line": [(0, 0, {"product_id": self.product.id, "product_qty": 10, "price_unit": 12.5})],
                }
            )
        )

    def deliver_decision(self, sp_no, status, approver="lisi", speech=""):
        """The sys_approval_change callback, stored as the controller stores it, and processed."""
        xml = (
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time() * 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[sys_approval_change]]></Event>"
            f"<AgentID>{MOCK_AGENT_ID}</AgentID><ApprovalInfo><SpNo>{sp_no}</SpNo><SpName><![CDATA[采购审批]]></SpName>"
            f"<SpStatus>{status}</SpStatus><TemplateId><![CDATA[{TEMPLATE}]]></TemplateId>"
            "<Applyer><UserId><![CDATA[zhangsan]]></UserId></Applyer>"
            f"<SpRecord><SpStatus>{status}</SpStatus><ApproverAttr>1</ApproverAttr><Details><Approver><UserId>"
            f"<![CDATA[{approver}]]></UserId></Approver><Speech><![CDATA[{speech}]]></Speech><SpStatus>{status}</SpStatus>"
            "<SpTime>1700000000</SpTime></Details></SpRecord></ApprovalInfo></xml>"
        ).encode()
        Event = self.env["wecom.callback.event"]
        event_id, _reply = Event._wecom_store(self.callback, xml)
        event = Event.browse(event_id)
        event._wecom_process()
        return event

    # ------------------------------------------------------------------ template
    def test_load_controls_keeps_the_chosen_fields(self):
        template = self.mapped_template()
        self.assertEqual(template.line_ids.mapped("control_id"), [c["id"] for c in CONTROLS])
        self.assertEqual(template.missing_count, 0)
        template.line_ids.filtered(lambda line: line.control_id == "Money-total").field_name = False
        self.assertEqual(template.missing_count, 1, "a required control without a field is shown as such")
        template.action_wecom_load_controls()
        self.assertEqual(
            template.line_ids.filtered(lambda line: line.control_id == "Text-ref").field_name, "name", "kept"
        )
        self.assertFalse(template.line_ids.filtered(lambda line: line.control_id == "Selector-kind").fillable)

    # ------------------------------------------------------------------ submit
    def test_submit_sends_the_order_as_the_buyer(self):
        self.mapped_template()
        order = self.rfq()
        self.assertTrue(order.wecom_approval_available)
        order.action_wecom_approval_submit()
        approvals = self.mock.approvals()
        self.assertEqual(len(approvals), 1)
        sent = next(iter(approvals.values()))
        self.assertEqual((sent["creator_userid"], sent["template_id"]), ("zhangsan", TEMPLATE))
        values = {item["id"]: item["value"] for item in sent["contents"]}
        self.assertEqual(values["Text-ref"], {"text": order.name})
        self.assertEqual(values["Money-total"], {"new_money": f"{order.amount_total:.2f}"})
        self.assertEqual(
            values["Table-lines"]["children"][0]["list"][0]["value"]["text"], order.order_line.display_name
        )
        self.assertIn("s_timestamp", values["Date-order"]["date"])
        self.assertEqual(sent["summary_list"][0]["summary_info"][0]["text"], order.name)
        request = order.wecom_approval_ids
        self.assertEqual((request.state, request.sp_no, request.submitter_id), ("pending", sent["sp_no"], self.buyer))
        self.assertIn("Sent to WeCom for approval", order.message_ids[0].body)
        with self.assertRaisesRegex(UserError, "awaits approval in WeCom"):
            order.button_confirm()
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.wecom_approval_available, "no second request while one is pending")

    def test_no_wecom_userid_or_unmapped_required_control_sends_nothing(self):
        self.mapped_template()
        self.buyer.sudo().wecom_userid = False
        with self.assertRaisesRegex(UserError, "no WeCom User ID"):
            self.rfq().action_wecom_approval_submit()
        self.buyer.sudo().wecom_userid = "zhangsan"
        self.template.line_ids.filtered(lambda line: line.control_id == "Money-total").field_name = False
        with self.assertRaisesRegex(UserError, "Money-total .*required"):
            self.rfq().action_wecom_approval_submit()
        self.assertEqual(self.mock.approvals(), {}, "WeCom received nothing")
        self.assertFalse(self.env["wecom.approval.request"].sudo().search([]))

    # ------------------------------------------------------------------ decisions
    def test_approval_callback_confirms_once_and_notes_the_approver(self):
        self.mapped_template()
        order = self.rfq()
        order.action_wecom_approval_submit()
        request = order.wecom_approval_ids
        self.mock.decide_approval(request.sp_no, 2, approver="lisi", speech="OK, go")
        event = self.deliver_decision(request.sp_no, 2, speech="OK, go")
        self.assertEqual(event.state, "done", event.error_reason)
        self.assertEqual(order.state, "purchase", "confirmed by Odoo's own confirmation")
        self.assertEqual(request.state, "approved")
        self.assertIn("Approver Li (lisi)", request.decided_by)
        self.assertTrue(any("OK, go" in (body or "") for body in order.message_ids.mapped("body")))
        again = self.deliver_decision(request.sp_no, 3)
        self.assertIn("already", again.result, "a decision is applied once")
        self.assertEqual((request.state, order.state), ("approved", "purchase"))

    def test_rejection_leaves_a_draft_with_the_reason(self):
        self.mapped_template()
        order = self.rfq()
        order.action_wecom_approval_submit()
        request = order.wecom_approval_ids
        self.deliver_decision(request.sp_no, 3, speech="Too expensive")
        self.assertEqual((request.state, order.state), ("rejected", "draft"))
        self.assertTrue(any("Too expensive" in (body or "") for body in order.message_ids.mapped("body")))
        self.assertTrue(order.wecom_approval_available, "it may be sent again")

    def test_decision_without_callback_is_applied_by_the_poll(self):
        self.mapped_template()
        order = self.rfq()
        order.action_wecom_approval_submit()
        request = order.wecom_approval_ids
        self.assertEqual(self.env["wecom.approval.request"]._cron_poll_pending(), 0, "still pending in WeCom")
        self.mock.decide_approval(request.sp_no, 2, approver="lisi")
        self.assertEqual(self.env["wecom.approval.request"]._cron_poll_pending(), 1)
        self.assertEqual((request.state, order.state), ("approved", "purchase"))
        self.assertEqual(self.env["wecom.approval.request"]._cron_poll_pending(), 0, "nothing pending any more")

    def test_manager_cancels_the_request_and_the_order_can_be_confirmed(self):
        self.mapped_template()
        order = self.rfq()
        order.action_wecom_approval_submit()
        request = order.wecom_approval_ids
        with self.assertRaises(UserError):
            request.with_user(self.buyer).action_cancel()
        purchase_manager = new_test_user(
            self.env, login="wecom_po_manager", groups="base.group_user,purchase.group_purchase_manager"
        )
        request.with_user(purchase_manager).action_cancel()
        self.assertEqual(request.state, "cancel", "a purchase administrator may cancel it")
        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        event = self.deliver_decision(request.sp_no, 3)
        self.assertIn("already", event.result)
        self.assertEqual(order.state, "purchase")

    def test_unknown_approval_is_ignored(self):
        event = self.deliver_decision("999999", 2)
        self.assertIn("was not sent from Odoo", event.result)

    def test_users_see_their_own_requests(self):
        self.mapped_template()
        self.rfq().action_wecom_approval_submit()
        other = new_test_user(self.env, login="wecom_buyer2", groups="base.group_user,purchase.group_purchase_user")
        self.assertFalse(self.env["wecom.approval.request"].with_user(other).search([]))
        self.assertEqual(len(self.env["wecom.approval.request"].with_user(self.buyer).search([])), 1)
        self.assertEqual(len(self.env["wecom.approval.request"].with_user(self.user_manager).search([])), 1)
