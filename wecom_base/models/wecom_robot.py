import re
from urllib.parse import parse_qs, urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const
from ..tools import notification
from .wecom_message import SENT_STATES

ROBOT_KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,128}$")


def normalize_robot_key(value):
    """Keep only the key of a pasted group robot webhook URL (``…/cgi-bin/webhook/send?key=KEY``).

    :raise ValueError: when the value is neither a key nor a webhook URL with a key
    """
    value = (value or "").strip()
    if not value:
        return False
    if "://" in value or "?" in value:
        keys = parse_qs(urlsplit(value).query).get("key") or []
        if len(keys) != 1:
            raise ValueError("no key in the webhook URL")
        value = keys[0].strip()
    if not ROBOT_KEY_RE.match(value):
        raise ValueError("not a webhook key")
    return value


class WeComRobot(models.Model):
    """A group chat robot: outbound messages through its webhook key (no access token)."""

    _name = "wecom.robot"
    _inherit = ["wecom.base", "mail.thread"]
    _wecom_company_field = "company_id"
    _wecom_application_field = "application_id"
    _description = "WeCom Group Robot"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        check_company=True,
        help="Optional: the application this robot belongs to.",
    )
    webhook_key = fields.Char(
        string="Webhook Key",
        groups=const.MANAGER_GROUP,
        copy=False,
        help="Paste the robot's webhook URL or its key; only the key is kept. It is a secret.",
    )
    webhook_key_hint = fields.Char(string="Key", compute="_compute_webhook_key_hint")
    note = fields.Text()

    def _compute_webhook_key_hint(self):
        for robot in self:
            key = robot.sudo().webhook_key
            robot.webhook_key_hint = f"…{key[-4:]}" if key else False

    def _wecom_known_secrets(self):
        return tuple(filter(None, self.sudo().mapped("webhook_key")))

    @api.model
    def _wecom_clean_vals(self, vals):
        if "webhook_key" in vals and vals["webhook_key"] is not False:
            try:
                vals["webhook_key"] = normalize_robot_key(vals["webhook_key"])
            except (ValueError, TypeError):
                raise ValidationError(
                    _(
                        "Webhook Key: paste the robot's webhook URL (…/cgi-bin/webhook/send?key=…) or its key, from "
                        "the group chat's robot settings."
                    )
                ) from None
        return super()._wecom_clean_vals(vals)

    def _wecom_robot_key(self):
        self.ensure_one()
        key = self.sudo().webhook_key
        if not key:
            raise ValidationError(_("Robot %(robot)s has no webhook key.", robot=self.name))
        return key

    def action_send_test_message(self):
        """Button: send a short text message through the robot, at once."""
        self.ensure_one()
        message = self.env["wecom.message"].create(
            {
                "channel": "robot",
                "robot_id": self.id,
                "company_id": self.company_id.id,
                "msgtype": "text",
                "content": _("Test message from Odoo: the robot %(robot)s works.", robot=self.name),
            }
        )
        message.action_send_now()
        if message.state not in SENT_STATES:
            raise UserError(message.failure_reason or _("The test message could not be sent."))
        return notification(_("The test message was sent."), _("WeCom robot works"))
