from odoo import _, models


class WeComCallbackEvent(models.Model):
    _inherit = "wecom.callback.event"

    def _wecom_handle_event__sys_approval_change(self, data):
        """WeCom's decision about an approval (``ApprovalInfo``): applied to its request and document once; a
        delivery that arrives again, or a status that decides nothing, changes nothing."""
        info = data.get("ApprovalInfo") if isinstance(data.get("ApprovalInfo"), dict) else {}
        sp_no = info.get("SpNo") if isinstance(info.get("SpNo"), str) else ""
        request = self.env["wecom.approval.request"].sudo().search([("sp_no", "=", sp_no)], limit=1) if sp_no else None
        if not request:
            return _("Ignored: approval %(number)s was not sent from Odoo.", number=sp_no or "-")
        if request.company_id != self.company_id:
            return _("Ignored: approval %(number)s belongs to another company.", number=sp_no)
        if request._wecom_apply_info(info):
            return _("Approval %(number)s: %(state)s.", number=sp_no, state=request.state)
        return _("Approval %(number)s: already %(state)s, nothing to change.", number=sp_no, state=request.state)
