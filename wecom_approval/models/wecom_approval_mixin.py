import base64
from datetime import datetime, time, timezone

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.wecom_base import compat
from odoo.addons.wecom_base.const import PATH_MEDIA_UPLOAD
from odoo.addons.wecom_base.lib import WeComError

from .. import const


class WeComApprovalMixin(models.AbstractModel):
    """Inherit it (with ``mail.thread``) to let a model's documents be approved in WeCom's approval app::

        class HrExpenseSheet(models.Model):
            _name = "hr.expense.sheet"
            _inherit = ["hr.expense.sheet", "wecom.approval.mixin"]

            def _wecom_approval_approved(self, request):
                self.with_user(request.submitter_id).action_approve_expense_sheets()

    and put a button calling ``action_wecom_approval_submit`` on its form. A template for the model
    (*WeCom > Configuration > Approval Templates*) says which field fills each control.
    """

    _name = "wecom.approval.mixin"
    _description = "WeCom Approval Mixin"

    wecom_approval_ids = fields.One2many(
        "wecom.approval.request", compute="_compute_wecom_approval", string="WeCom Approvals"
    )
    wecom_approval_count = fields.Integer(compute="_compute_wecom_approval", string="WeCom Approval Count")
    wecom_approval_state = fields.Selection(
        lambda self: self.env["wecom.approval.request"]._fields["state"].selection,
        compute="_compute_wecom_approval",
        string="WeCom Approval",
    )
    wecom_approval_available = fields.Boolean(compute="_compute_wecom_approval")

    def _compute_wecom_approval(self):
        # all requests, whoever submitted them: a pending one blocks the document for everybody
        requests = (
            self.env["wecom.approval.request"]
            .sudo()
            .search([("res_model", "=", self._name), ("res_id", "in", self.ids)], order="id desc")
        )
        templates = self._wecom_approval_templates()
        by_record = {}
        for request in requests:
            by_record.setdefault(request.res_id, []).append(request.id)
        for record in self:
            mine = requests.browse(by_record.get(record.id, []))
            record.wecom_approval_ids = mine.with_env(self.env)
            record.wecom_approval_count = len(mine)
            record.wecom_approval_state = mine[:1].state
            record.wecom_approval_available = bool(templates) and mine[:1].state != "pending"

    @api.model
    def _wecom_approval_templates(self):
        """The templates of this model in the user's companies: configuration, read for whoever may submit (the
        user needs no WeCom rights to ask for an approval of a document they may change)."""
        return (
            self.env["wecom.approval.template"]
            .sudo()
            .search([("model", "=", self._name), ("company_id", "in", self.env.companies.ids)])
        )

    def _wecom_approval_template(self):
        """The template this document goes to WeCom with: its company's for the model."""
        self.ensure_one()
        company = self["company_id"] if "company_id" in self._fields and self["company_id"] else self.env.company
        template = self._wecom_approval_templates().filtered(lambda t: t.company_id == company)[:1]
        if not template:
            raise UserError(
                _(
                    "No WeCom approval template for %(model)s in %(company)s: add one in WeCom > Configuration.",
                    model=self._description,
                    company=company.name,
                )
            )
        return template

    def _wecom_approval_pending(self):
        self.ensure_one()
        return self.wecom_approval_ids.filtered(lambda request: request.state == "pending")[:1]

    # ------------------------------------------------------------------ submit
    def action_wecom_approval_submit(self):
        """Button: send the document to WeCom's approval app as the current user (their WeCom User ID is the
        applicant). Everything is checked before WeCom is called: nothing is sent when a check fails.

        :raise UserError: no WeCom User ID, no template, a required control without a field, a value that
            cannot fill its control, already awaiting approval, or WeCom refused
        """
        self.ensure_one()
        self.check_access("write")
        user = self.env.user
        if not user.wecom_userid:
            raise UserError(
                _("%(user)s has no WeCom User ID: WeCom needs one to know who asks for the approval.", user=user.name)
            )
        if self._wecom_approval_pending():
            raise UserError(_("%(document)s already awaits approval in WeCom.", document=self.display_name))
        template = self._wecom_approval_template()
        payload = {
            "creator_userid": user.wecom_userid,
            "template_id": template.template_id,
            "use_template_approver": 1 if template.use_template_approver else 0,
            "apply_data": {"contents": self._wecom_approval_contents(template)},
            "summary_list": [
                {"summary_info": [{"text": line[:64], "lang": "zh_CN"}]}
                for line in self._wecom_approval_summary()[: const.SUMMARY_LINES]
            ],
        }
        if not template.use_template_approver:
            missing = template.approver_user_ids.filtered(lambda u: not u.wecom_userid)
            if missing:
                raise UserError(
                    _("These approvers have no WeCom User ID: %(users)s.", users=", ".join(missing.mapped("name")))
                )
            payload["approver"] = [
                {
                    "attr": 2 if template.approver_mode == "all" else 1,
                    "userid": template.approver_user_ids.mapped("wecom_userid"),
                }
            ]
        try:
            answer = template.application_id.sudo()._wecom_call(const.PATH_APPLY, payload)
        except WeComError as exc:
            template.application_id.sudo().handle_wecom_error(exc)
        request = (
            self.env["wecom.approval.request"]
            .sudo()
            .create(
                {
                    "sp_no": answer["sp_no"],
                    "template_id": template.id,
                    "company_id": template.company_id.id,
                    "res_model": self._name,
                    "res_id": self.id,
                    "res_name": self.display_name,
                    "submitter_id": user.id,
                }
            )
        )
        self.message_post(
            body=_(
                "Sent to WeCom for approval (%(template)s, number %(number)s).",
                template=template.name,
                number=request.sp_no,
            )
        )
        self.invalidate_recordset(["wecom_approval_ids", "wecom_approval_count", "wecom_approval_state"])
        return True

    def _wecom_approval_summary(self):
        """Up to three lines WeCom shows in its approval list; override to say more."""
        self.ensure_one()
        return [self.display_name]

    def _wecom_approval_contents(self, template):
        """``apply_data.contents``: one value per control that has a field (converted to the control's type).

        :raise UserError: a required control has no field, or a value cannot fill its control
        """
        self.ensure_one()
        contents = []
        for line in template.line_ids:
            if not line.field_name:
                if line.required:
                    raise UserError(
                        _(
                            "The WeCom control %(control)s (%(title)s) is required, but no field of %(model)s fills "
                            "it: choose one on the template %(template)s.",
                            control=line.control_id,
                            title=line.title,
                            model=self._description,
                            template=template.name,
                        )
                    )
                continue
            if not line.fillable:
                raise UserError(
                    _(
                        "The WeCom control %(title)s is a %(type)s: Odoo cannot fill it.",
                        title=line.title,
                        type=line.control_type,
                    )
                )
            value = self._wecom_approval_value(line)
            if value is None:
                if line.required:
                    raise UserError(
                        _(
                            "%(title)s is required in WeCom, but %(document)s has no value for it.",
                            title=line.title,
                            document=self.display_name,
                        )
                    )
                continue
            contents.append({"control": line.control_type, "id": line.control_id, "value": value})
        return contents

    def _wecom_approval_value(self, line):
        """The WeCom value of one control (``{"text": ...}``, ``{"new_money": ...}``...), or None when empty."""
        if line.field_name == const.PDF_FIELD:
            return {"files": [{"file_id": self._wecom_approval_upload(*self._wecom_approval_pdf(), line)}]}
        field = self._fields[line.field_name]
        value = self[line.field_name]
        kind = line.control_type
        if kind in ("Text", "Textarea"):
            text = self._wecom_approval_text(field, value)
            return {"text": text} if text else None
        if kind in ("Number", "Money"):
            if value in (False, None) and field.type not in ("integer", "float", "monetary"):
                return None
            number = float(value or 0)
            return {"new_number": f"{number:g}"} if kind == "Number" else {"new_money": f"{number:.2f}"}
        if kind == "Date":
            if not value:
                return None
            moment = value if isinstance(value, datetime) else datetime.combine(value, time.min)
            return {"date": {"type": "day", "s_timestamp": str(int(moment.replace(tzinfo=timezone.utc).timestamp()))}}
        if kind == "Contact":
            users = (
                value if field.type in ("many2one", "many2many", "one2many") and value._name == "res.users" else None
            )
            members = [{"userid": u.wecom_userid, "name": u.name} for u in (users or []) if u.wecom_userid]
            return {"members": members} if members else None
        if kind == "File":
            attachments = value if field.type in ("many2one", "many2many") and value._name == "ir.attachment" else None
            if not attachments:
                return None
            return {
                "files": [
                    {"file_id": self._wecom_approval_upload(a.name, base64.b64decode(a.datas or b""), line)}
                    for a in attachments
                ]
            }
        if kind == "Table":
            if field.type not in ("one2many", "many2many") or not value or not line.table_column_id:
                return None
            return {
                "children": [
                    {"list": [{"control": "Text", "id": line.table_column_id, "value": {"text": child.display_name}}]}
                    for child in value
                ]
            }
        return None

    def _wecom_approval_text(self, field, value):
        if field.type in ("many2one", "many2many", "one2many"):
            return ", ".join(value.mapped("display_name"))
        if field.type == "selection":
            return dict(field._description_selection(self.env)).get(value) or ""
        if field.type == "monetary" and "currency_id" in self._fields:
            return f"{value:.2f} {self.currency_id.name or ''}".strip()
        if value in (False, None):
            return ""
        return str(value)

    def _wecom_approval_pdf(self):
        """``(filename, bytes)``: the document's PDF, from the first PDF report of its model."""
        report = self.env["ir.actions.report"].search(
            [("model", "=", self._name), ("report_type", "=", "qweb-pdf")], limit=1
        )
        if not report:
            raise UserError(_("%(model)s has no PDF report to attach.", model=self._description))
        content = compat.render_pdf(report, self.ids)
        return f"{self.display_name}.pdf".replace("/", "_"), content

    def _wecom_approval_upload(self, filename, content, line):
        application = line.template_id.application_id.sudo()
        try:
            answer = application._wecom_call(
                PATH_MEDIA_UPLOAD,
                params={"type": "file"},
                files={"media": (filename, content, "application/octet-stream")},
            )
        except WeComError as exc:
            application.handle_wecom_error(exc)
        return answer["media_id"]

    # ------------------------------------------------------------------ decisions (hooks)
    def _wecom_approval_note(self, request):
        """Note WeCom's decision on the document: who decided and what they wrote."""
        labels = dict(request._fields["state"]._description_selection(self.env))
        body = _(
            "WeCom approval %(number)s: %(state)s by %(who)s.",
            number=request.sp_no,
            state=labels.get(request.state, request.state),
            who=request.decided_by or "-",
        )
        if request.comment:
            body = Markup("%s<br/>%s") % (body, request.comment)
        self.message_post(body=body)

    def _wecom_approval_may_cancel(self):
        """Hook: whether the current user may cancel this document's pending request in Odoo (beside WeCom
        managers, who always may)."""
        return False

    def _wecom_approval_approved(self, request):
        """Hook: WeCom approved the document (the request is already updated)."""

    def _wecom_approval_rejected(self, request):
        """Hook: WeCom rejected the document."""

    def _wecom_approval_revoked(self, request):
        """Hook: the applicant revoked the approval in WeCom."""

    def action_view_wecom_approvals(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("WeCom Approvals"),
            "res_model": "wecom.approval.request",
            "view_mode": "list,form",
            "domain": [("res_model", "=", self._name), ("res_id", "=", self.id)],
        }
