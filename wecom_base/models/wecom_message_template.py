"""Message templates: a WeCom message rendered from a record, for server actions and automation rules
(issue 27, "Automated messages without code"), as ``sms.template`` is for SMS."""

import logging

from odoo import api, fields, models
from odoo.exceptions import ValidationError

_logger = logging.getLogger(__name__)


class WeComMessageTemplate(models.Model):
    """What to send about a record, to whom, through which application or robot. Title, content and URL use
    Odoo's inline template syntax (``{{ object.name }}``); :meth:`_wecom_send_to` queues one message per
    record through the outbox."""

    _name = "wecom.message.template"
    _inherit = ["mail.render.mixin"]
    _description = "WeCom Message Template"
    _order = "name, id"
    _check_company_auto = True
    # Like sms.template: the template is configured by WeCom managers (ACL) and rendered for whoever triggers
    # the automation, who may not be a template editor.
    _unrestricted_rendering = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    model_id = fields.Many2one(
        "ir.model",
        string="Applies to",
        required=True,
        ondelete="cascade",
        domain=[("transient", "=", False)],
        help="The type of record this template is rendered from.",
    )
    model = fields.Char(
        string="Related Document Model", related="model_id.model", index=True, store=True, readonly=True
    )
    channel = fields.Selection(
        [("application", "Application"), ("robot", "Group Robot")],
        required=True,
        default="application",
        help="Application: to people and departments. Group robot: to a group chat.",
    )
    application_id = fields.Many2one("wecom.application", string="Application", check_company=True)
    robot_id = fields.Many2one("wecom.robot", string="Robot", check_company=True)
    msgtype = fields.Selection(
        [("text", "Text"), ("markdown", "Markdown"), ("textcard", "Text Card")],
        string="Type",
        required=True,
        default="text",
    )
    title = fields.Char(translate=True, help="Text card title, e.g. {{ object.name }}.")
    content = fields.Text(
        translate=True,
        required=True,
        help="Text, Markdown, or the text card's description, e.g. Hello {{ object.user_id.name }}.",
    )
    url = fields.Char(
        string="URL",
        help="Text card link; empty: the record in Odoo (/odoo/<model>/<id>). Rendered like the content.",
    )
    # Recipients
    user_field = fields.Char(
        string="Users from Fields",
        help="Field paths from the record to users or contacts, separated by commas (user_id, create_uid, "
        "project_id.user_id); the users need a WeCom user id.",
    )
    notify_followers = fields.Boolean(
        string="Followers", help="Also the internal users following the record (records with a chatter)."
    )
    to_userids = fields.Char(string="WeCom User IDs", help="Fixed WeCom user ids separated by | or commas.")
    to_partyids = fields.Char(string="Department IDs", help="Fixed WeCom department ids separated by | or commas.")
    server_action_id = fields.Many2one(
        "ir.actions.server",
        string="Action Menu Entry",
        readonly=True,
        copy=False,
        help="The server action that sends this template from the Action menu of the records.",
    )
    mention_users = fields.Boolean(
        string="Mention Users",
        help="Group robot, text: @mention the users found on the record (and the fixed WeCom user ids).",
    )

    # ------------------------------------------------------------------ mail.render.mixin
    @api.depends("model")
    def _compute_render_model(self):
        for template in self:
            template.render_model = template.model

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if "model_id" in fields_list and not res.get("model_id") and res.get("model"):
            res["model_id"] = self.env["ir.model"]._get(res["model"]).id
        return res

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        return [
            dict(vals, name=self.env._("%s (copy)", template.name))
            for template, vals in zip(self, vals_list, strict=True)
        ]

    def unlink(self):
        self.sudo().server_action_id.unlink()
        return super().unlink()

    # ------------------------------------------------------------------ Action menu
    def action_create_server_action(self):
        """Add "Send <template>" to the Action menu of the template's records (the action runs as the superuser:
        only who may change the template may add it)."""
        self.check_access("write")
        for template in self.filtered(lambda template: not template.server_action_id):
            action = (
                self.env["ir.actions.server"]
                .sudo()
                .create(
                    {
                        "name": self.env._("Send WeCom: %s", template.name),
                        "model_id": template.model_id.id,
                        "binding_model_id": template.model_id.id,
                        "state": "wecom",
                        "wecom_template_id": template.id,
                    }
                )
            )
            template.server_action_id = action
        return True

    def action_unlink_server_action(self):
        self.check_access("write")
        self.sudo().server_action_id.unlink()
        return True

    # ------------------------------------------------------------------ constraints
    @api.constrains("channel", "application_id", "robot_id", "msgtype")
    def _check_channel(self):
        for template in self:
            if template.channel == "application" and not template.application_id:
                raise ValidationError(self.env._("Template %s: choose the application that sends.", template.name))
            if template.channel == "robot":
                if not template.robot_id:
                    raise ValidationError(self.env._("Template %s: choose the group robot.", template.name))
                if template.msgtype == "textcard":
                    raise ValidationError(
                        self.env._("Template %s: a group robot cannot send text cards.", template.name)
                    )

    @api.constrains("msgtype", "title")
    def _check_title(self):
        for template in self:
            if template.msgtype == "textcard" and not template.title:
                raise ValidationError(self.env._("Template %s: a text card needs a title.", template.name))

    @api.constrains("model_id", "user_field")
    def _check_user_field(self):
        for template in self:
            for path in template._wecom_user_paths():
                template._wecom_check_user_path(path)

    def _wecom_user_paths(self):
        self.ensure_one()
        return [path.strip() for path in (self.user_field or "").split(",") if path.strip()]

    def _wecom_check_user_path(self, path):
        """A path of relational fields from the template's model ending on ``res.users`` or ``res.partner``.

        :raise ValidationError: naming the path and why
        """
        model = self.env[self.model]
        for name in path.split("."):
            field = model._fields.get(name)
            if field is None or field.type not in ("many2one", "one2many", "many2many"):
                raise ValidationError(
                    self.env._(
                        "Users from Fields: %(path)s is not a path of relational fields of %(model)s.",
                        path=path,
                        model=self.model,
                    )
                )
            model = self.env[field.comodel_name]
        if model._name not in ("res.users", "res.partner"):
            raise ValidationError(
                self.env._("Users from Fields: %(path)s does not lead to users or contacts.", path=path)
            )

    # ------------------------------------------------------------------ recipients
    def _wecom_record_users(self, record):
        """The internal users the template sends ``record`` to: the user fields and the followers.

        :return: ``res.users`` (may include users without a WeCom user id)
        """
        self.ensure_one()
        users = self.env["res.users"]
        for path in self._wecom_user_paths():
            targets = record.mapped(path)
            users |= targets.user_ids if targets._name == "res.partner" else targets
        if self.notify_followers and "message_partner_ids" in record._fields:
            users |= record.message_partner_ids.user_ids
        return users.filtered(lambda user: user.active and not user.share)

    # ------------------------------------------------------------------ rendering
    def _wecom_render(self, records):
        """Title, content and URL for each record.

        :return: ``{record id: {"title": …, "content": …, "url": …}}``
        """
        self.ensure_one()
        compute_lang = bool(self.lang)
        rendered = {
            name: self._render_field(name, records.ids, compute_lang=compute_lang)
            for name in ("title", "content", "url")
        }
        base_url = records[:1].get_base_url() if records else ""
        result = {}
        for record in records:
            url = (rendered["url"].get(record.id) or "").strip()
            if not url:
                url = f"{base_url}/odoo/{record._name}/{record.id}"
            result[record.id] = {
                "title": (rendered["title"].get(record.id) or "").strip(),
                "content": rendered["content"].get(record.id) or "",
                "url": url,
            }
        return result

    # ------------------------------------------------------------------ sending
    def _wecom_send_to(self, records):
        """Queue one message per record (the outbox sends them; no HTTP here).

        A record without any recipient, or whose message WeCom would refuse (too long...), is skipped with a
        note on the record and a warning in the log: it does not roll back the automation that sends.

        :param records: records of the template's model
        :return: the queued ``wecom.message`` records
        """
        self.ensure_one()
        Message = self.env["wecom.message"]
        messages = Message
        if not records:
            return messages
        if records._name != self.model:
            raise ValidationError(
                self.env._(
                    "Template %(name)s applies to %(model)s, not to %(other)s.",
                    name=self.name,
                    model=self.model,
                    other=records._name,
                )
            )
        values = self._wecom_render(records)
        for record in records:
            users = self._wecom_record_users(record)
            with_id = users.filtered("wecom_userid")
            if users - with_id:
                _logger.info(
                    "WeCom template %s: %s on %s has no WeCom user id, not notified",
                    self.id,
                    ", ".join((users - with_id).mapped("login")),
                    record,
                )
            try:
                message = self._wecom_send_one(record, with_id, values[record.id])
            except ValidationError as error:
                self._wecom_skip(record, self.env._("WeCom message not sent: %s", error.args[0]))
                continue
            if message:
                messages |= message
        return messages

    def _wecom_send_one(self, record, users, values):
        """Queue the message of one record, or skip it with a note when it has no recipient.

        :return: the ``wecom.message``, or an empty recordset when skipped
        """
        Message = self.env["wecom.message"]
        kwargs = {"msgtype": self.msgtype, "content": values["content"]}
        if self.msgtype == "textcard":
            kwargs = {
                "msgtype": "textcard",
                "title": values["title"],
                "description": values["content"],
                "url": values["url"],
            }
        if self.channel == "robot":
            if self.mention_users and self.msgtype == "text":
                kwargs["mentioned_userids"] = users.mapped("wecom_userid") + [
                    userid.strip() for userid in (self.to_userids or "").replace(",", "|").split("|") if userid.strip()
                ]
            return Message.wecom_send_robot(self.robot_id, **kwargs)
        if not users and not (self.to_userids or "").strip() and not (self.to_partyids or "").strip():
            self._wecom_skip(record, self.env._("WeCom message not sent: %s has no recipient.", self.name))
            return Message
        return Message.wecom_send(
            self.application_id,
            users=users,
            userids=self.to_userids or None,
            parties=self.to_partyids or None,
            **kwargs,
        )

    def _wecom_skip(self, record, note):
        """Say why a record was not sent: in the log, and on the record's chatter when it has one."""
        _logger.warning("WeCom template %s: %s skipped: %s", self.id, record, note)
        if hasattr(record, "_message_log"):
            record._message_log(body=note)
