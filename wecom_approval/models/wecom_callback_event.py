"""``sys_approval_change``: WeCom tells the application that an approval changed (WECOM_PROTOCOL.md 2.13)."""

from odoo import _, models


class WeComCallbackEvent(models.Model):
    _inherit = "wecom.callback.event"

    def _wecom_handle_event__sys_approval_change(self, data):
        info = data.get("ApprovalInfo") if isinstance(data.get("ApprovalInfo"), dict) else {}
        sp_no = str(info.get("SpNo") or "")
        if not sp_no:
            return _("Ignored: an approval change without an approval number.")
        Request = self.env["wecom.approval.request"].sudo()
        request = Request.search([("sp_no", "=", sp_no), ("company_id", "=", self.company_id.id)], limit=1)
        if not request:
            return _("Ignored: approval %(sp_no)s was not sent from Odoo.", sp_no=sp_no)
        state = request._wecom_apply_decision(
            info.get("SpStatus"), Request._wecom_records_from_callback(info), "callback"
        )
        if not state:
            return _(
                "Approval %(sp_no)s: nothing to apply (WeCom status %(status)s, request %(state)s).",
                sp_no=sp_no,
                status=info.get("SpStatus") or "-",
                state=request.state,
            )
        return _("Approval %(sp_no)s: %(state)s.", sp_no=sp_no, state=state)
