"""One Odoo document sent into WeCom's approval flow (an ``sp_no``), and the decision that came back."""

import logging
from datetime import datetime, timezone

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

APPROVAL_DETAIL_PATH = "/cgi-bin/oa/getapprovaldetail"
# WeCom's sp_status (WECOM_PROTOCOL.md 2.13): 1 pending, 2 approved, 3 rejected, 4 revoked, 6 revoked after
# approval, 7 deleted, 10 paid
SP_STATUS_STATES = {2: "approved", 3: "rejected", 4: "revoked", 6: "revoked", 7: "revoked", 10: "approved"}
DECIDING_STATUSES = (2, 3)  # an approver's own sp_status in sp_record details: approved / rejected


def _as_list(value):
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class WeComApprovalRequest(models.Model):
    _name = "wecom.approval.request"
    _description = "WeCom Approval Request"
    _order = "id desc"
    _rec_name = "sp_no"

    sp_no = fields.Char(string="Approval Number", readonly=True, index=True, copy=False)
    template_id = fields.Many2one("wecom.approval.template", string="Template", readonly=True, ondelete="restrict")
    application_id = fields.Many2one(
        "wecom.application", string="Application", readonly=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    res_model = fields.Char(string="Document Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="res_model", readonly=True, index=True)
    res_name = fields.Char(string="Document", compute="_compute_res_name")
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("revoked", "Revoked"),
            ("cancelled", "Cancelled in Odoo"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    submitter_id = fields.Many2one("res.users", string="Submitted By", readonly=True, index=True)
    submit_date = fields.Datetime(string="Submitted On", readonly=True, default=fields.Datetime.now)
    decided_by = fields.Char(string="Decided By", readonly=True, help="The WeCom userid of who decided.")
    decided_user_id = fields.Many2one("res.users", string="Decided By (User)", readonly=True)
    comment = fields.Text(readonly=True, help="What the approvers said.")
    decision_date = fields.Datetime(string="Decided On", readonly=True)
    approvers = fields.Text(readonly=True, help="Every approver's step, as WeCom reported it.")
    source = fields.Selection(
        [("callback", "Callback"), ("poll", "Polling"), ("odoo", "Odoo")],
        string="Decision From",
        readonly=True,
    )

    @api.depends("res_model", "res_id")
    def _compute_res_name(self):
        for request in self:
            document = request._wecom_document()
            request.res_name = document.sudo().display_name if document else False

    def _wecom_document(self):
        self.ensure_one()
        if not self.res_model or self.res_model not in self.env or not self.res_id:
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None

    def action_open_document(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }

    def action_cancel(self):
        """Stop waiting for WeCom: the request is cancelled in Odoo and a later decision is ignored."""
        for request in self:
            document = request._wecom_document()
            can_cancel = getattr(document, "_wecom_approval_can_cancel", None)
            allowed = can_cancel(request) if can_cancel else request.submitter_id == self.env.user
            if not (allowed or self.env.user.has_group("wecom_base.group_wecom_manager")):
                raise AccessError(_("Only a WeCom administrator or the document's manager can cancel this request."))
            request = request.sudo()  # noqa: PLW2901 - the check above is the access check
            if request.state != "pending":
                raise UserError(_("Only a pending approval request can be cancelled."))
            request.write({"state": "cancelled", "decision_date": fields.Datetime.now(), "source": "odoo"})
            if document is not None and hasattr(document, "message_post"):
                document.sudo().message_post(
                    body=_(
                        "WeCom approval %(sp_no)s cancelled in Odoo by %(user)s.",
                        sp_no=request.sp_no,
                        user=self.env.user.name,
                    ),
                )
        return True

    # ------------------------------------------------------------------ decisions
    @api.model
    def _wecom_records_from_callback(self, info):
        """``SpRecord`` of a ``sys_approval_change`` callback as ``[{userid, speech, status, time}]``."""
        steps = []
        for record in _as_list(info.get("SpRecord")):
            for detail in _as_list(record.get("Details") if isinstance(record, dict) else None):
                if not isinstance(detail, dict):
                    continue
                approver = detail.get("Approver") if isinstance(detail.get("Approver"), dict) else {}
                steps.append(
                    {
                        "userid": str(approver.get("UserId") or ""),
                        "speech": str(detail.get("Speech") or ""),
                        "status": _as_int(detail.get("SpStatus")),
                        "time": _as_int(detail.get("SpTime")),
                    }
                )
        return steps

    @api.model
    def _wecom_records_from_detail(self, info):
        """``sp_record`` of ``oa/getapprovaldetail`` as ``[{userid, speech, status, time}]``."""
        steps = []
        for record in _as_list(info.get("sp_record")):
            for detail in _as_list(record.get("details") if isinstance(record, dict) else None):
                if not isinstance(detail, dict):
                    continue
                approver = detail.get("approver") if isinstance(detail.get("approver"), dict) else {}
                steps.append(
                    {
                        "userid": str(approver.get("userid") or ""),
                        "speech": str(detail.get("speech") or ""),
                        "status": _as_int(detail.get("sp_status")),
                        "time": _as_int(detail.get("sptime")),
                    }
                )
        return steps

    def _wecom_lock_pending(self):
        """Lock this request's row and tell whether it still waits for a decision (a decision is applied once,
        whatever arrives twice: two deliveries of a callback, a callback and the cron)."""
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT state FROM wecom_approval_request WHERE id = %s FOR UPDATE", self.id))
        row = self.env.cr.fetchone()
        self.invalidate_recordset(["state"])
        return bool(row) and row[0] == "pending"

    def _wecom_apply_decision(self, sp_status, steps, source):
        """Apply WeCom's ``sp_status`` with the approvers' ``steps``; returns the new state, or False when there
        was nothing to do (still pending, unknown status, already decided)."""
        self.ensure_one()
        state = SP_STATUS_STATES.get(_as_int(sp_status))
        if not state or not self._wecom_lock_pending():
            return False
        request = self.sudo()
        deciders = [step for step in steps if step["status"] in DECIDING_STATUSES] or [
            step for step in steps if step["userid"]
        ]
        decider = deciders[-1] if deciders else {}
        users = self.env["res.users"].sudo()
        if decider.get("userid"):
            users = users._wecom_find_by_userid(decider["userid"], request.company_id)[:1]
        decided_at = (
            datetime.fromtimestamp(decider["time"], tz=timezone.utc).replace(tzinfo=None)
            if decider.get("time")
            else fields.Datetime.now()
        )
        comment = "\n".join(f"{step['userid']}: {step['speech']}" for step in steps if step["speech"])
        request.write(
            {
                "state": state,
                "decided_by": decider.get("userid") or False,
                "decided_user_id": users.id or False,
                "comment": comment or False,
                "decision_date": decided_at,
                "approvers": "\n".join(
                    f"{step['userid'] or '-'} ({step['status']}){': ' + step['speech'] if step['speech'] else ''}"
                    for step in steps
                )
                or False,
                "source": source,
            }
        )
        document = request._wecom_document()
        if document is not None:
            request._wecom_note_decision(document, steps)
            hook = getattr(document, f"_wecom_approval_{state}", None)  # a model without the mixin has none
            if hook is not None:
                hook(request)
        return state

    def _wecom_note_decision(self, document, steps):
        if not hasattr(document, "message_post"):
            return
        labels = dict(self._fields["state"]._description_selection(self.env))
        lines = Markup("").join(
            Markup("<li>%s%s</li>")
            % (
                self._wecom_userid_label(step["userid"]),
                Markup(": <i>%s</i>") % step["speech"] if step["speech"] else "",
            )
            for step in steps
            if step["userid"]
        )
        body = escape(
            _("WeCom approval %(sp_no)s: %(state)s.", sp_no=self.sp_no, state=labels.get(self.state, self.state))
        )
        if lines:
            body = Markup("%s<ul>%s</ul>") % (body, lines)
        document.sudo().message_post(body=body, message_type="comment", subtype_xmlid="mail.mt_note")

    def _wecom_userid_label(self, userid):
        user = self.env["res.users"].sudo()._wecom_find_by_userid(userid, self.company_id)[:1]
        return f"{user.name} ({userid})" if user else userid

    @api.model
    def _cron_poll_pending(self, limit=200):
        """Ask WeCom (``oa/getapprovaldetail``) about requests still pending: a decision whose callback never
        came (callback not set up, Odoo down) is applied here."""
        requests = self.sudo().search([("state", "=", "pending"), ("sp_no", "!=", False)], limit=limit, order="id")
        for request in requests:
            try:
                with self.env.cr.savepoint():
                    request._wecom_poll()
            except Exception as exc:  # noqa: BLE001 - one request must never stop the others
                _logger.warning("WeCom approval %s could not be polled: %s", request.sp_no, exc)
        return True

    def _wecom_poll(self):
        self.ensure_one()
        answer = self.application_id._wecom_call(APPROVAL_DETAIL_PATH, {"sp_no": self.sp_no})
        info = answer.get("info") or {}
        return self._wecom_apply_decision(info.get("sp_status"), self._wecom_records_from_detail(info), "poll")

    def action_poll(self):
        for request in self:
            with request.application_id._wecom_error_as_user_error():
                request.sudo()._wecom_poll()
        return True
