from odoo import _, models
from odoo.exceptions import UserError


class PurchaseOrder(models.Model):
    _name = "purchase.order"
    _inherit = ["purchase.order", "wecom.approval.mixin"]

    def button_confirm(self):
        """While WeCom decides, the order is not confirmed in Odoo (a WeCom manager can cancel the request)."""
        if not self.env.context.get("wecom_approval_decided"):
            waiting = self.filtered(lambda order: order._wecom_approval_pending())
            if waiting:
                raise UserError(
                    _(
                        "%(orders)s awaits approval in WeCom: it is confirmed when WeCom approves it (a WeCom manager "
                        "can cancel the request from its WeCom Approvals).",
                        orders=", ".join(waiting.mapped("name")),
                    )
                )
        return super().button_confirm()

    def _wecom_approval_summary(self):
        self.ensure_one()
        return [
            self.name,
            _("Vendor: %(vendor)s", vendor=self.partner_id.display_name),
            _("Total: %(amount).2f %(currency)s", amount=self.amount_total, currency=self.currency_id.name),
        ]

    def _wecom_approval_may_cancel(self):
        return self.env.user.has_group("purchase.group_purchase_manager")

    def _wecom_approval_approved(self, request):
        """Approved in WeCom: confirmed, by Odoo's own confirmation, as the user who asked for the approval."""
        if self.state in ("draft", "sent"):
            self.with_user(request.submitter_id).with_context(wecom_approval_decided=True).button_confirm()

    def _wecom_approval_rejected(self, request):
        """Rejected: the RFQ stays a draft (the approvers' reasons are in the chatter)."""
        if self.state == "sent":
            self.button_draft()

    def _wecom_approval_revoked(self, request):
        if self.state == "sent":
            self.button_draft()
