import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.wecom_base import compat
from odoo.addons.wecom_base.lib import WeComError
from odoo.addons.wecom_base.tools import check_wecom_group

from .. import const

_logger = logging.getLogger(__name__)

# the mixin's fields computed from the requests
APPROVAL_FIELDS = ["wecom_approval_ids", "wecom_approval_count", "wecom_approval_state", "wecom_approval_available"]


def as_list(value):
    """A repeated XML element parses as a list, a single one as a dict: always a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def decisions_from_info(info):
    """``[(userid, speech, sp_status)]`` of the approvers who decided, from ``getapprovaldetail``'s ``info`` or the
    callback's ``ApprovalInfo`` (the same data, in snake_case JSON or CamelCase XML)."""
    decided = []
    for record in as_list(info.get("sp_record") or info.get("SpRecord")):
        for detail in as_list(record.get("details") or record.get("Details")):
            approver = detail.get("approver") or detail.get("Approver") or {}
            userid = approver.get("userid") or approver.get("UserId") or ""
            status = int(detail.get("sp_status") or detail.get("SpStatus") or 0)
            if status in (2, 3):  # approved or rejected by this approver
                decided.append((str(userid), str(detail.get("speech") or detail.get("Speech") or ""), status))
    return decided


class WeComApprovalRequest(models.Model):
    """One Odoo document sent into WeCom's approval app, and what WeCom decided."""

    _name = "wecom.approval.request"
    _description = "WeCom Approval Request"
    _order = "id desc"
    _check_company_auto = True

    sp_no = fields.Char(string="Approval Number", readonly=True, index=True, copy=False)
    template_id = fields.Many2one("wecom.approval.template", required=True, readonly=True, ondelete="restrict")
    application_id = fields.Many2one(related="template_id.application_id")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    res_model = fields.Char(string="Document Model", required=True, readonly=True, index=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="res_model", required=True, readonly=True)
    res_name = fields.Char(string="Document", readonly=True)
    state = fields.Selection(
        [
            ("pending", "Awaiting Approval"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("revoked", "Revoked"),
            ("cancel", "Cancelled in Odoo"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    submitter_id = fields.Many2one("res.users", string="Submitted By", required=True, readonly=True, index=True)
    decided_by = fields.Char(readonly=True, help="Who decided in WeCom (their WeCom User IDs, and Odoo names).")
    comment = fields.Text(readonly=True, help="What the approvers wrote in WeCom.")
    decision_date = fields.Datetime(readonly=True)

    locals().update(compat.sql_constraints(sp_no_uniq=("unique(sp_no)", "A WeCom approval number is recorded once.")))

    @api.depends("sp_no", "res_name")
    def _compute_display_name(self):
        for request in self:
            request.display_name = f"{request.sp_no or _('Draft')} · {request.res_name or ''}".strip(" ·")

    def _document(self):
        self.ensure_one()
        return self.env[self.res_model].browse(self.res_id).exists()

    # ------------------------------------------------------------------ decisions
    def _wecom_apply_info(self, info):
        """Apply WeCom's answer about this request (``getapprovaldetail``'s ``info`` or the callback's
        ``ApprovalInfo``): once; a decision that arrives again, or a still pending one, changes nothing.

        :return: True when this call applied a decision
        """
        self.ensure_one()
        self = self.sudo()  # noqa: PLW0642 - WeCom decided: applied whoever asked (the button, a callback, the cron)
        status = int(info.get("sp_status") or info.get("SpStatus") or 0)
        state = const.SP_STATES.get(status)
        if self.state != "pending" or state in (None, "pending"):
            return False
        decisions = decisions_from_info(info)
        users = self.env["res.users"].sudo().with_context(active_test=False)
        names = []
        for userid, _speech, _status in decisions:
            user = users._wecom_find_by_userid(userid, self.company_id)[:1]
            names.append(f"{user.name} ({userid})" if user else userid)
        comment = "\n".join(
            f"{name}: {speech}" for name, (_u, speech, _s) in zip(names, decisions, strict=True) if speech
        )
        self.write(
            {
                "state": state,
                "decided_by": ", ".join(dict.fromkeys(names)) or False,
                "comment": comment or False,
                "decision_date": fields.Datetime.now(),
            }
        )
        document = self._document()
        if document:
            document.invalidate_recordset(APPROVAL_FIELDS)
            document._wecom_approval_note(self)
            getattr(document, f"_wecom_approval_{state}")(self)
        return True

    def _wecom_fetch_info(self):
        self.ensure_one()
        answer = self.sudo().template_id.application_id._wecom_call(const.PATH_DETAIL, {"sp_no": self.sp_no})
        return answer.get("info") or {}

    def action_wecom_refresh(self):
        """Button: ask WeCom for the decision now."""
        for request in self.filtered(lambda r: r.state == "pending" and r.sp_no):
            try:
                request._wecom_apply_info(request._wecom_fetch_info())
            except WeComError as exc:
                request.sudo().template_id.application_id.handle_wecom_error(exc)
        return True

    @api.model
    def _cron_poll_pending(self, limit=const.POLL_BATCH):
        """Hourly: ask WeCom about pending requests (a decision whose callback never came: the callback is not
        set up, or Odoo was down). The oldest asked first; one failure stops no other.

        :return: how many decisions were applied
        """
        applied = 0
        for request in self.sudo().search(
            [("state", "=", "pending"), ("sp_no", "!=", False)], order="write_date", limit=limit
        ):
            try:
                with self.env.cr.savepoint():
                    applied += bool(request._wecom_apply_info(request._wecom_fetch_info()))
            except WeComError as exc:
                _logger.warning("WeCom approval %s: could not ask WeCom: %s", request.sp_no, exc)
            request.write({})  # asked: to the back of the queue
        return applied

    # ------------------------------------------------------------------ buttons
    def action_cancel(self):
        """Button (WeCom managers, or whom the document's model allows): stop waiting for WeCom; the document may
        then be confirmed in Odoo. WeCom's own approval is not withdrawn (WeCom has no API for that): revoke it there
        too."""
        for request in self:
            document = request.sudo()._document()
            if not (document and document.with_env(self.env)._wecom_approval_may_cancel()):
                check_wecom_group(
                    self.env, "wecom_base.group_wecom_manager", _("Only WeCom managers can cancel approval requests.")
                )
        pending = self.filtered(lambda r: r.state == "pending")
        if not pending:
            raise UserError(_("Only requests awaiting approval can be cancelled."))
        pending.sudo().write({"state": "cancel", "decision_date": fields.Datetime.now()})
        for request in pending:
            document = request.sudo()._document()
            if document:
                document.invalidate_recordset(APPROVAL_FIELDS)
                document.message_post(
                    author_id=self.env.user.partner_id.id,
                    body=_(
                        "WeCom approval %(number)s cancelled in Odoo by %(user)s.",
                        number=request.sp_no,
                        user=self.env.user.name,
                    ),
                )
        return True

    def action_open_document(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
