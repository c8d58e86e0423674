"""Purchase orders approved in WeCom: an RFQ is sent for approval, the decision confirms it or keeps it a draft."""

from odoo import _, models
from odoo.exceptions import UserError


class PurchaseOrder(models.Model):
    _name = "purchase.order"
    _inherit = ["purchase.order", "wecom.approval.mixin"]

    def button_confirm(self):
        if not self.env.context.get("wecom_approval_confirm"):
            pending = self._wecom_approval_pending()
            if pending:
                orders = self.browse(pending.mapped("res_id"))
                raise UserError(
                    _(
                        "%(orders)s awaits approval in WeCom (approval %(sp_no)s): it is confirmed when approved. A "
                        "purchase administrator can cancel the WeCom request.",
                        orders=", ".join(orders.mapped("display_name")),
                        sp_no=", ".join(pending.mapped("sp_no")),
                    )
                )
        return super().button_confirm()

    def action_wecom_approval_submit(self, template=None):
        for order in self:
            if order.state not in ("draft", "sent"):
                raise UserError(_("Only a request for quotation can be sent for approval in WeCom."))
        return super().action_wecom_approval_submit(template=template)

    def action_wecom_approval_cancel(self):
        """Cancel the pending WeCom approval of these orders (purchase administrators, or the submitter)."""
        self._wecom_approval_pending().action_cancel()
        return True

    def _wecom_approval_can_cancel(self, request):
        return super()._wecom_approval_can_cancel(request) or self.env.user.has_group("purchase.group_purchase_manager")

    def _wecom_approval_report(self):
        return self.env.ref("purchase.action_report_purchase_order", raise_if_not_found=False) or None

    def _wecom_approval_summary(self, template):
        self.ensure_one()
        return [
            _("%(order)s: %(vendor)s", order=self.name, vendor=self.partner_id.display_name or "-"),
            _(
                "Total: %(amount)s %(currency)s",
                amount=self._wecom_approval_text(self, "amount_total").split(" ")[0],
                currency=self.currency_id.name,
            ),
            _("Requested by %(user)s", user=self.env.user.name),
        ]

    # ------------------------------------------------------------------ decisions
    def _wecom_approval_approved(self, request):
        """Odoo's own confirmation, as the submitter would confirm the order."""
        result = super()._wecom_approval_approved(request)
        submitter = request.submitter_id or self.env.user
        for order in self.filtered(lambda order: order.state in ("draft", "sent")):
            order.with_user(submitter).with_company(order.company_id).with_context(
                wecom_approval_confirm=True
            ).button_confirm()
        return result

    def _wecom_approval_rejected(self, request):
        """The order stays a request for quotation; the approvers' reason is in the chatter (noted already)."""
        return super()._wecom_approval_rejected(request)

    def _wecom_approval_revoked(self, request):
        """Back to draft: the request was withdrawn in WeCom."""
        result = super()._wecom_approval_revoked(request)
        self.filtered(lambda order: order.state == "sent").write({"state": "draft"})
        return result
