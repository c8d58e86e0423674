"""A ticket that tells its assignee on WeCom when it is opened and when it is closed.

The README's "Extend" section shows this file: keep them in sync (tests/test_rpc_e2e.py checks it).
"""

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError


class WeComExampleTicket(models.Model):
    _name = "wecom.example.ticket"
    # A new model inheriting the abstract wecom.base gets its helpers, its error-logging create/write and
    # its `active` field (archiving). It needs its own ACL rows like any model.
    _inherit = ["wecom.base"]
    _description = "WeCom Example Ticket"
    _order = "id desc"
    _check_company_auto = True
    # the fields wecom.base reads for this record's company (get_wecom_config) and application (_wecom_call)
    _wecom_company_field = "company_id"
    _wecom_application_field = "application_id"

    name = fields.Char(required=True)
    user_id = fields.Many2one("res.users", string="Assignee", required=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    application_id = fields.Many2one(
        "wecom.application",
        string="WeCom Application",
        check_company=True,
        default=lambda self: self.env["wecom.application"].search(
            [("company_id", "=", self.env.company.id), ("is_active", "=", True)], limit=1
        ),
    )
    state = fields.Selection([("open", "Open"), ("closed", "Closed")], default="open", required=True)
    wecom_message_ids = fields.Many2many("wecom.message", string="WeCom Messages", readonly=True, copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        tickets = super().create(vals_list)
        for ticket in tickets:
            ticket._wecom_notify_assignee(_("New ticket for you: %(name)s", name=ticket.name))
        return tickets

    def action_close(self):
        for ticket in self.filtered(lambda ticket: ticket.state == "open"):
            ticket.state = "closed"
            ticket._wecom_notify_assignee(_("Ticket closed: %(name)s", name=ticket.name))
        return True

    def _wecom_notify_assignee(self, text):
        """Queue a WeCom text message to the assignee; wecom_base's outbox sends it (retries included).

        Nothing is sent when WeCom is not set up for the ticket (no application, no CorpID for its company,
        an assignee without a WeCom user id). A refused message never blocks the ticket: it is logged
        (WeCom > Configuration > Logs).

        :param str text: the message
        :return: the queued ``wecom.message``, or an empty recordset
        """
        self.ensure_one()
        no_message = self.env["wecom.message"]
        if not (self.application_id and self.user_id.wecom_userid and self.get_wecom_config()["corp_id"]):
            return no_message
        try:
            message = self.env["wecom.message"].wecom_send(
                self._wecom_get_application(), users=self.user_id, content=text
            )
        except UserError as error:  # ValidationError included: wecom_send says which argument is wrong
            self.log_error(f"no WeCom message to {self.user_id.login}: {error}", level="warning")
            return no_message
        self.wecom_message_ids = [Command.link(message.id)]
        return message
