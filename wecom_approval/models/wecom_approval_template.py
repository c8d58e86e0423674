"""An approval template of WeCom's approval app bound to an Odoo model, and its controls mapped to fields."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

TEMPLATE_DETAIL_PATH = "/cgi-bin/oa/gettemplatedetail"

CONTROL_TYPES = [
    ("Text", "Text"),
    ("Textarea", "Multi-line Text"),
    ("Number", "Number"),
    ("Money", "Money"),
    ("Date", "Date"),
    ("DateRange", "Date Range"),
    ("Selector", "Selection"),
    ("Contact", "Members"),
    ("File", "File"),
    ("Table", "Table"),
    ("Tips", "Tips"),
    ("Attendance", "Attendance"),
    ("Vacation", "Leave"),
    ("Location", "Location"),
    ("RelatedApproval", "Related Approval"),
    ("Formula", "Formula"),
    ("other", "Other"),
]
# the control types a document field can fill
FILLABLE_TYPES = ("Text", "Textarea", "Number", "Money", "Date", "Table")
# the types a table's column can be filled with
FILLABLE_CELL_TYPES = ("Text", "Textarea", "Number", "Money", "Date")


def _title(titles, lang="zh_CN"):
    """The text of a WeCom ``[{text, lang}]`` title, in ``lang`` when there is one."""
    if isinstance(titles, str):
        return titles
    titles = [t for t in titles or () if isinstance(t, dict)]
    for title in titles:
        if title.get("lang") == lang and title.get("text"):
            return str(title["text"])
    return str(titles[0].get("text") or "") if titles else ""


class WeComApprovalTemplate(models.Model):
    _name = "wecom.approval.template"
    _description = "WeCom Approval Template"
    _order = "sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        required=True,
        ondelete="cascade",
        help="The WeCom application allowed to call the approval API (Approval app > API > callable applications); "
        "decisions arrive at its callback.",
    )
    company_id = fields.Many2one(related="application_id.company_id", store=True, index=True)
    model_id = fields.Many2one(
        "ir.model",
        string="Document Model",
        required=True,
        ondelete="cascade",
        domain=[("transient", "=", False)],
        help="The Odoo documents this template sends into WeCom's approval flow.",
    )
    model = fields.Char(related="model_id.model", store=True, index=True, string="Model Name")
    template_id = fields.Char(
        string="WeCom Template ID",
        required=True,
        help="The id of the approval template in WeCom's admin console (Approval app > template > API).",
    )
    use_template_approver = fields.Boolean(
        string="WeCom's Approval Flow",
        default=True,
        help="Approvers from the template's flow in WeCom; otherwise the users chosen here approve.",
    )
    approver_user_ids = fields.Many2many(
        "res.users",
        string="Approvers",
        help="Approve one after the other, in this order, when WeCom's own flow is not used (each needs a WeCom "
        "User ID).",
    )
    approver_mode = fields.Selection(
        [("1", "Any of them"), ("2", "All of them")],
        string="Approval Mode",
        default="1",
        required=True,
    )
    line_ids = fields.One2many("wecom.approval.template.line", "template_id", string="Controls", copy=True)
    missing_count = fields.Integer(string="Unmapped Required Controls", compute="_compute_missing_count")

    @api.depends("line_ids.missing")
    def _compute_missing_count(self):
        for template in self:
            template.missing_count = len(template.line_ids.filtered("missing"))

    @api.constrains("use_template_approver", "approver_user_ids")
    def _check_approvers(self):
        for template in self:
            if not template.use_template_approver and not template.approver_user_ids:
                raise ValidationError(_("Choose the approvers, or use WeCom's approval flow of the template."))

    # ------------------------------------------------------------------ controls from WeCom
    def action_wecom_load_controls(self):
        """Read the template from WeCom and make one line per control, keeping the fields already chosen."""
        for template in self:
            with template.application_id._wecom_error_as_user_error():
                answer = template.application_id._wecom_call(
                    TEMPLATE_DETAIL_PATH, {"template_id": template.template_id}
                )
            template._wecom_apply_controls(answer)
        return True

    def _wecom_apply_controls(self, answer):
        self.ensure_one()
        controls = ((answer.get("template_content") or {}).get("controls")) or []
        if not isinstance(controls, list):
            raise UserError(_("WeCom answered a template without controls."))
        old = {(line.parent_id.control_id or "", line.control_id): line for line in self.line_ids}
        kept = self.env["wecom.approval.template.line"]
        sequence = 0
        for control in controls:
            sequence += 10
            line = self._wecom_control_line(control, old, "", sequence, False)
            kept |= line
            children = ((control.get("config") or {}).get("table") or {}).get("children") or []
            for child in children if line.control == "Table" else ():
                sequence += 1
                kept |= self._wecom_control_line(child, old, line.control_id, sequence, line)
        (self.line_ids - kept).unlink()
        name = _title(answer.get("template_names"), self.env.lang or "zh_CN")
        if name and not self.name:
            self.name = name

    def _wecom_control_line(self, control, old, parent_control_id, sequence, parent):
        prop = control.get("property") or {}
        control_id = str(prop.get("id") or "")
        if not control_id:
            raise UserError(_("WeCom answered a control without an id."))
        control_type = str(prop.get("control") or "")
        if control_type not in dict(CONTROL_TYPES):
            control_type = "other"
        date_type = ((control.get("config") or {}).get("date") or {}).get("type") or "day"
        vals = {
            "sequence": sequence,
            "title": _title(prop.get("title"), self.env.lang or "zh_CN") or control_id,
            "control": control_type,
            "wecom_control": str(prop.get("control") or ""),
            "required": bool(prop.get("require")),
            "date_type": "hour" if date_type == "hour" else "day",
            "parent_id": parent.id if parent else False,
        }
        line = old.get((parent_control_id, control_id))
        if line:
            line.write(vals)
            return line
        return self.env["wecom.approval.template.line"].create(
            {**vals, "template_id": self.id, "control_id": control_id}
        )


class WeComApprovalTemplateLine(models.Model):
    _name = "wecom.approval.template.line"
    _description = "WeCom Approval Template Control"
    _order = "sequence, id"

    template_id = fields.Many2one("wecom.approval.template", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    parent_id = fields.Many2one(
        "wecom.approval.template.line",
        string="Table",
        ondelete="cascade",
        help="The table control this column belongs to.",
    )
    control_id = fields.Char(string="Control ID", required=True)
    title = fields.Char(required=True)
    control = fields.Selection(CONTROL_TYPES, string="Control Type", required=True, default="Text")
    wecom_control = fields.Char(string="WeCom Control Type", help="The control type as WeCom names it.")
    date_type = fields.Selection([("day", "Day"), ("hour", "Hour")], default="day")
    required = fields.Boolean()
    field_model = fields.Char(compute="_compute_field_model", string="Field Of")
    field_id = fields.Many2one(
        "ir.model.fields",
        string="Document Field",
        ondelete="set null",
        domain="[('model', '=', field_model)]",
        help="The field whose value fills this control (for a table, the lines; for a column, a field of a line).",
    )
    field_name = fields.Char(related="field_id.name", store=True, string="Field Name")
    missing = fields.Boolean(
        compute="_compute_missing",
        string="Unmapped",
        help="Required in WeCom and filled by nothing: the document cannot be submitted.",
    )

    @api.depends("template_id.model", "parent_id.field_id")
    def _compute_field_model(self):
        for line in self:
            line.field_model = line.parent_id.field_id.relation if line.parent_id else line.template_id.model

    @api.depends("required", "field_id", "control")
    def _compute_missing(self):
        for line in self:
            line.missing = line.required and line.control != "File" and not line.field_id

    @api.constrains("field_id", "control", "parent_id")
    def _check_field(self):
        for line in self.filtered("field_id"):
            if line.field_id.model != line.field_model:
                raise ValidationError(
                    _(
                        "The field %(field)s is not a field of %(model)s.",
                        field=line.field_id.name,
                        model=line.field_model,
                    )
                )
            fillable = FILLABLE_CELL_TYPES if line.parent_id else FILLABLE_TYPES
            if line.control not in fillable:
                raise ValidationError(
                    _(
                        "A %(type)s control cannot be filled from a field (%(title)s).",
                        type=line.control,
                        title=line.title,
                    )
                )
            if line.control == "Table" and line.field_id.ttype not in ("one2many", "many2many"):
                raise ValidationError(_("A table is filled from lines: choose a one2many or many2many field."))
