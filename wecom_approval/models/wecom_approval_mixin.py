"""``wecom.approval.mixin``: what a model inherits to be sent into WeCom's approval flow.

A model that inherits it gets the requests of each document (smart button), ``action_wecom_approval_submit`` (a
button) and three hooks to override: ``_wecom_approval_approved``, ``_wecom_approval_rejected`` and
``_wecom_approval_revoked`` (each called once with the ``wecom.approval.request``).
"""

import base64
import logging
from datetime import datetime, time

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_repr

from odoo.addons.wecom_base import compat

from .wecom_approval_template import FILLABLE_CELL_TYPES

_logger = logging.getLogger(__name__)

APPLY_EVENT_PATH = "/cgi-bin/oa/applyevent"
SUMMARY_LINES = 3
SUMMARY_LENGTH = 40  # WeCom shows a short line in its list


class WeComApprovalMixin(models.AbstractModel):
    _name = "wecom.approval.mixin"
    _description = "WeCom Approval Mixin"

    wecom_approval_request_ids = fields.One2many(
        "wecom.approval.request", compute="_compute_wecom_approval", string="WeCom Approvals"
    )
    wecom_approval_count = fields.Integer(compute="_compute_wecom_approval", string="WeCom Approval Count")
    wecom_approval_state = fields.Selection(
        [
            ("pending", "Pending"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("revoked", "Revoked"),
            ("cancelled", "Cancelled in Odoo"),
        ],
        compute="_compute_wecom_approval",
        string="WeCom Approval",
        help="The state of the document's last WeCom approval request.",
    )
    wecom_approval_template_available = fields.Boolean(compute="_compute_wecom_approval_template_available")

    def _compute_wecom_approval(self):
        requests = self.env["wecom.approval.request"].sudo()
        if self.ids:
            requests = requests.search([("res_model", "=", self._name), ("res_id", "in", self.ids)], order="id desc")
        for record in self:
            own = requests.filtered(lambda r, rid=record.id: r.res_id == rid)
            record.wecom_approval_request_ids = own.with_env(self.env)
            record.wecom_approval_count = len(own)
            record.wecom_approval_state = own[:1].state or False

    def _compute_wecom_approval_template_available(self):
        for record in self:
            record.wecom_approval_template_available = bool(record._wecom_approval_template())

    # ------------------------------------------------------------------ hooks (override)
    def _wecom_approval_approved(self, request):
        """The approval ``request`` of this document was approved in WeCom (called once)."""

    def _wecom_approval_rejected(self, request):
        """The approval ``request`` of this document was rejected in WeCom (called once)."""

    def _wecom_approval_revoked(self, request):
        """The approval ``request`` of this document was revoked (withdrawn or deleted) in WeCom (called once)."""

    def _wecom_approval_can_cancel(self, request):
        """Whether the current user may cancel the pending ``request`` of this document (its submitter by default)."""
        return request.submitter_id == self.env.user

    def _wecom_approval_report(self):
        """The PDF report sent in the template's file controls (the model's first PDF report), or None."""
        return (
            self.env["ir.actions.report"]
            .sudo()
            .search([("model", "=", self._name), ("report_type", "=", "qweb-pdf")], order="id", limit=1)
            or None
        )

    def _wecom_approval_summary(self, template):
        """Up to three short lines WeCom shows in its list: the document, then the first mapped values."""
        lines = [self.display_name or ""]
        for line in template.line_ids.filtered(lambda ln: ln.field_id and not ln.parent_id and ln.control != "Table"):
            value = self._wecom_approval_text(self, line.field_id.name)
            if value:
                lines.append(f"{line.title}: {value}")
        return lines

    # ------------------------------------------------------------------ requests
    def _wecom_approval_template(self):
        """The active template for this model in the document's company (the first by sequence), or empty."""
        company = self["company_id"] if "company_id" in self._fields and self["company_id"] else self.env.company
        return (
            self.env["wecom.approval.template"]
            .sudo()
            .search([("model", "=", self._name), ("company_id", "=", company.id)], limit=1)
        )

    def _wecom_approval_pending(self):
        """The pending requests of these documents (sudo)."""
        return (
            self.env["wecom.approval.request"]
            .sudo()
            .search([("res_model", "=", self._name), ("res_id", "in", self.ids), ("state", "=", "pending")])
        )

    def action_wecom_approval_view(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_approval.action_wecom_approval_request")
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def action_wecom_approval_submit(self, template=None):
        """Send this document into WeCom's approval flow as the current user (button).

        Everything is checked before WeCom is called: the user's WeCom userid, a template, the values of every
        mapped control and that every required control is filled. Then the document's PDF is uploaded when a file
        control takes it, the request is sent (``oa/applyevent``) and recorded.
        """
        self.ensure_one()
        self.check_access("write")
        if isinstance(template, int) and not isinstance(template, bool):  # an RPC caller gives an id
            template = self.env["wecom.approval.template"].browse(template)
        if not isinstance(template, models.BaseModel) or template._name != "wecom.approval.template":
            template = self._wecom_approval_template()
        template = template.sudo().exists()
        if not template:
            raise UserError(_("No WeCom approval template serves %(model)s.", model=self._description))
        template.ensure_one()
        company = self["company_id"] if "company_id" in self._fields and self["company_id"] else self.env.company
        if template.model != self._name or template.company_id != company or not template.active:
            raise UserError(
                _("The WeCom approval template %(template)s does not serve this document.", template=template.name)
            )
        if self._wecom_approval_pending():
            raise UserError(_("%(document)s already awaits approval in WeCom.", document=self.display_name))
        user = self.env.user
        if not user.wecom_userid:
            raise UserError(
                _(
                    "You have no WeCom User ID: set it in your preferences (or ask an administrator to link your "
                    "WeCom account) before submitting %(document)s for approval in WeCom.",
                    document=self.display_name,
                )
            )
        contents, file_lines = self._wecom_approval_contents(template)
        payload = {
            "creator_userid": user.wecom_userid,
            "template_id": template.template_id,
            "use_template_approver": 1 if template.use_template_approver else 0,
            "apply_data": {"contents": contents},
            "summary_list": [
                {"summary_info": [{"text": text[:SUMMARY_LENGTH], "lang": "zh_CN"}]}
                for text in self._wecom_approval_summary(template)[:SUMMARY_LINES]
                if text
            ],
        }
        if not template.use_template_approver:
            missing = template.approver_user_ids.filtered(lambda u: not u.wecom_userid)
            if missing:
                raise UserError(
                    _("These approvers have no WeCom User ID: %(users)s", users=", ".join(missing.mapped("name")))
                )
            payload["approver"] = [
                {"attr": int(template.approver_mode), "userid": [approver.wecom_userid]}
                for approver in template.approver_user_ids
            ]
        application = template.application_id
        with application._wecom_error_as_user_error():
            if file_lines:
                media_id = self._wecom_approval_upload_pdf(application)
                contents.extend(
                    {"control": "File", "id": line.control_id, "value": {"files": [{"file_id": media_id}]}}
                    for line in file_lines
                )
            answer = application._wecom_call(APPLY_EVENT_PATH, payload)
        sp_no = str(answer.get("sp_no") or "")
        if not sp_no:
            raise UserError(_("WeCom accepted the approval request without giving its number."))
        request = (
            self.env["wecom.approval.request"]
            .sudo()
            .create(
                {
                    "sp_no": sp_no,
                    "template_id": template.id,
                    "application_id": application.id,
                    "company_id": application.company_id.id,
                    "res_model": self._name,
                    "res_id": self.id,
                    "submitter_id": user.id,
                    "state": "pending",
                }
            )
        )
        if hasattr(self, "message_post"):
            self.message_post(
                body=_(
                    "Sent for approval in WeCom (%(template)s, approval number %(sp_no)s).",
                    template=template.name,
                    sp_no=sp_no,
                ),
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
        return request

    def _wecom_approval_contents(self, template):
        """``apply_data.contents`` for this document and the file controls still to fill with its PDF; raises a
        UserError naming every required control that cannot be filled."""
        contents, file_lines, problems = [], [], []
        report = None
        for line in template.line_ids.filtered(lambda ln: not ln.parent_id):
            if line.control == "File":
                report = report or self._wecom_approval_report()
                if report:
                    file_lines.append(line)
                elif line.required:
                    problems.append(
                        _("%(title)s (a file: %(model)s has no PDF report)", title=line.title, model=self._description)
                    )
                continue
            if not line.field_id:
                if line.required:
                    problems.append(_("%(title)s (no field chosen)", title=line.title))
                continue
            value = self._wecom_approval_value(line, self)
            if value is None:
                if line.required:
                    problems.append(
                        _("%(title)s (%(field)s is empty)", title=line.title, field=line.field_id.field_description)
                    )
                continue
            contents.append({"control": line.wecom_control or line.control, "id": line.control_id, "value": value})
        if problems:
            raise UserError(
                _(
                    "%(document)s cannot be sent for approval in WeCom: required controls of the template %(template)s "
                    "cannot be filled:\n%(controls)s",
                    document=self.display_name,
                    template=template.name,
                    controls="\n".join(f"- {problem}" for problem in problems),
                )
            )
        return contents, file_lines

    @api.model
    def _wecom_approval_text(self, record, field_name):
        """The value of ``record.field_name`` as text (names for relations, labels for selections), or ""."""
        field = record._fields.get(field_name)
        value = record[field_name] if field else False
        if field is None or value is False or value is None:
            return ""
        if field.type in ("many2one", "one2many", "many2many"):
            return ", ".join(value.mapped("display_name"))
        if field.type == "selection":
            return dict(field._description_selection(record.env)).get(value, str(value))
        if field.type == "monetary":
            currency = record[field.get_currency_field(record)] if hasattr(field, "get_currency_field") else None
            amount = float_repr(value, currency.decimal_places if currency else 2)
            return f"{amount} {currency.name}" if currency else amount
        if field.type in ("date", "datetime"):
            return fields.Date.to_string(value) if field.type == "date" else fields.Datetime.to_string(value)
        if field.type == "boolean":
            return _("Yes") if value else _("No")
        return str(value)

    def _wecom_approval_value(self, line, record):
        """The WeCom value of control ``line`` for ``record`` (``None`` when the field is empty)."""
        name = line.field_id.name
        field = record._fields.get(name)
        if field is None:
            raise UserError(_("%(model)s has no field %(field)s any more.", model=record._name, field=name))
        value = record[name]
        control = line.control
        if control in ("Text", "Textarea"):
            text = self._wecom_approval_text(record, name)
            return {"text": text} if text else None
        if control in ("Number", "Money"):
            if field.type not in ("integer", "float", "monetary"):
                raise UserError(_("%(title)s needs a number: %(field)s is not one.", title=line.title, field=name))
            if value is False:
                return None
            if control == "Number":
                return {
                    "new_number": float_repr(value, 0 if field.type == "integer" else 4).rstrip("0").rstrip(".") or "0"
                }
            return {"new_money": float_repr(value, 2)}
        if control == "Date":
            if field.type not in ("date", "datetime"):
                raise UserError(_("%(title)s needs a date: %(field)s is not one.", title=line.title, field=name))
            if not value:
                return None
            if field.type == "date":
                tz = pytz.timezone(self.env.user.tz or "UTC")
                moment = tz.localize(datetime.combine(value, time()))
            else:
                moment = pytz.utc.localize(value)
            return {"date": {"type": line.date_type or "day", "s_timestamp": str(int(moment.timestamp()))}}
        if control == "Table":
            rows = []
            children = line.template_id.line_ids.filtered(
                lambda child: child.parent_id == line and child.field_id and child.control in FILLABLE_CELL_TYPES
            )
            for row in value:
                cells = []
                for child in children:
                    cell = self._wecom_approval_value(child, row)
                    if cell is not None:
                        cells.append(
                            {"control": child.wecom_control or child.control, "id": child.control_id, "value": cell}
                        )
                rows.append({"list": cells})
            return {"children": rows} if rows else None
        raise UserError(
            _("A %(type)s control cannot be filled from a field (%(title)s).", type=control, title=line.title)
        )

    def _wecom_approval_upload_pdf(self, application):
        """Upload the document's PDF (``media/upload``, type file) and return its media id."""
        report = self._wecom_approval_report()
        content = compat.render_pdf(report.sudo(), self.ids)
        filename = f"{(self.display_name or self._name).replace('/', '_')}.pdf"
        answer = application._wecom_call(
            "/cgi-bin/media/upload",
            params={"type": "file"},
            files={
                "media": (
                    filename,
                    content if isinstance(content, bytes) else base64.b64decode(content),
                    "application/pdf",
                )
            },
        )
        media_id = answer.get("media_id")
        if not media_id:
            raise UserError(_("WeCom did not return a media id for the document's PDF."))
        return media_id
