"""Server action "Send WeCom message" (issue 27): sends a ``wecom.message.template`` for the records the action
runs on, from an automation rule or a record's Action menu, as sms's "Send SMS"."""

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import ValidationError


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    state = fields.Selection(selection_add=[("wecom", "Send WeCom message")], ondelete={"wecom": "cascade"})
    wecom_template_id = fields.Many2one(
        "wecom.message.template",
        string="WeCom Template",
        compute="_compute_wecom_template_id",
        ondelete="set null",
        readonly=False,
        store=True,
        domain="[('model_id', '=', model_id)]",
    )

    @api.depends("model_id", "state")
    def _compute_wecom_template_id(self):
        to_reset = self.filtered(
            lambda action: action.state != "wecom" or action.model_id != action.wecom_template_id.model_id
        )
        if to_reset:
            to_reset.wecom_template_id = False

    @api.constrains("state", "model_id", "wecom_template_id")
    def _check_wecom_template_model(self):
        for action in self.filtered(lambda action: action.state == "wecom"):
            if action.wecom_template_id and action.wecom_template_id.sudo().model_id != action.model_id:
                raise ValidationError(
                    self.env._(
                        "The WeCom template of %(action_name)s does not apply to the action's model.",
                        action_name=action.name,
                    )
                )

    def _run_action_wecom_multi(self, eval_context=None):
        """Queue the template's message for the records the action runs on (the outbox sends them)."""
        if not self.wecom_template_id or self._is_recompute():
            return False
        records = (eval_context or {}).get("records") or (eval_context or {}).get("record")
        if not records:
            return False
        # The template is the authorization (WeCom managers write it, administrators bind it to a rule or
        # an Action menu): whoever triggers the action, the messages are the system's (the outbox checks
        # the author's WeCom rights at send time, and the user who triggered may have none).
        template = self.wecom_template_id.with_user(SUPERUSER_ID)
        template._wecom_send_to(records.with_user(SUPERUSER_ID))
        return False
