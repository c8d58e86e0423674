from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.wecom_base.lib import WeComError

from .. import const


class WeComApprovalTemplate(models.Model):
    """A template of WeCom's approval app, bound to an Odoo model: which document field fills each control."""

    _name = "wecom.approval.template"
    _description = "WeCom Approval Template"
    _inherit = ["mail.thread"]
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        required=True,
        check_company=True,
        ondelete="restrict",
        help="The application whose secret may call the approval API (approval app > API > callable applications); "
        "WeCom sends the decisions to its callback.",
    )
    company_id = fields.Many2one(related="application_id.company_id", store=True, index=True)
    model_id = fields.Many2one(
        "ir.model", string="Document Model", required=True, ondelete="cascade", domain=[("transient", "=", False)]
    )
    model = fields.Char(related="model_id.model", store=True, index=True)
    template_id = fields.Char(
        string="WeCom Template ID", required=True, help="From the WeCom admin console: the approval template's ID."
    )
    use_template_approver = fields.Boolean(
        string="WeCom's Approval Flow",
        default=True,
        help="Approvers come from the template's own flow in WeCom; otherwise the users chosen here approve.",
    )
    approver_user_ids = fields.Many2many(
        "res.users", string="Approvers", help="Used when WeCom's approval flow is not: each needs a WeCom User ID."
    )
    approver_mode = fields.Selection(
        [("any", "Any of them"), ("all", "All of them")], string="Approved By", default="any", required=True
    )
    line_ids = fields.One2many("wecom.approval.template.line", "template_id", string="Controls", copy=True)
    missing_count = fields.Integer(compute="_compute_missing_count", string="Required Controls Without a Field")

    @api.depends("line_ids.required", "line_ids.field_name")
    def _compute_missing_count(self):
        for template in self:
            template.missing_count = len(template.line_ids.filtered(lambda line: line.required and not line.field_name))

    @api.constrains("use_template_approver", "approver_user_ids")
    def _check_approvers(self):
        for template in self:
            if not template.use_template_approver and not template.approver_user_ids:
                raise ValidationError(
                    _("%(template)s: choose the approvers, or use WeCom's approval flow.", template=template.name)
                )

    def action_wecom_load_controls(self):
        """Button: read the template's controls from WeCom (``oa/gettemplatedetail``); one line per control,
        keeping the fields already chosen."""
        self.ensure_one()
        try:
            answer = self.application_id._wecom_call(const.PATH_TEMPLATE_DETAIL, {"template_id": self.template_id})
        except WeComError as exc:
            self.application_id.handle_wecom_error(exc)
        chosen = {line.control_id: line.field_name for line in self.line_ids}
        commands = [(5, 0, 0)]
        for sequence, control in enumerate((answer.get("template_content") or {}).get("controls") or ()):
            prop = control.get("property") or {}
            titles = prop.get("title") or [{}]
            children = ((control.get("config") or {}).get("table") or {}).get("children") or ()
            commands.append(
                (
                    0,
                    0,
                    {
                        "sequence": sequence,
                        "control_id": prop.get("id") or "",
                        "title": titles[0].get("text") or prop.get("id") or "",
                        "control_type": prop.get("control") or "",
                        "required": bool(prop.get("require")),
                        "table_column_id": ((children[0].get("property") or {}).get("id") if children else False),
                        "field_name": chosen.get(prop.get("id")) or False,
                    },
                )
            )
        names = answer.get("template_names") or [{}]
        self.write({"line_ids": commands, "name": self.name or names[0].get("text")})
        return True


class WeComApprovalTemplateLine(models.Model):
    _name = "wecom.approval.template.line"
    _description = "WeCom Approval Template Control"
    _order = "template_id, sequence, id"

    template_id = fields.Many2one("wecom.approval.template", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(string="Sequence", default=10)
    control_id = fields.Char(string="Control ID", required=True, readonly=True)
    title = fields.Char(readonly=True)
    control_type = fields.Char(string="Type", readonly=True)
    required = fields.Boolean(readonly=True)
    table_column_id = fields.Char(readonly=True, help="A table's first column, filled with each line's name.")
    field_name = fields.Char(
        string="Document Field",
        help=f"The field of the document that fills this control ({const.PDF_FIELD}: the document's PDF, for a "
        "File control).",
    )
    fillable = fields.Boolean(compute="_compute_fillable")

    @api.depends("control_type")
    def _compute_fillable(self):
        for line in self:
            line.fillable = line.control_type in const.FILLABLE

    @api.constrains("field_name")
    def _check_field_name(self):
        for line in self.filtered("field_name"):
            model = line.template_id.model
            if line.field_name == const.PDF_FIELD:
                if line.control_type != "File":
                    raise ValidationError(_("Only a File control can hold the document's PDF."))
            elif line.field_name not in self.env[model]._fields:
                raise ValidationError(
                    _(
                        "%(field)s is not a field of %(model)s.",
                        field=line.field_name,
                        model=line.template_id.model_id.name,
                    )
                )
            if not line.fillable:
                raise UserError(
                    _("A %(type)s control cannot be filled from Odoo.", type=line.control_type or _("unknown"))
                )
