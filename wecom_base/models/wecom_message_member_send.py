"""What the outbox sent to each member, so that it never hands WeCom more than WeCom delivers.

WeCom silently drops application messages beyond 30 a minute and 1,000 an hour to one member
(path/90236, path/90454). One row per member and message sent (a message to 1,000 users counts once for
each), kept an hour; the drain reads the rows of its batch's members once per batch
(:class:`~odoo.addons.wecom_base.lib.flow_control.MemberPacer`). Members reached through departments,
tags or @all are not known to Odoo and not paced.
"""

from datetime import timedelta, timezone

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib.flow_control import MemberPacer

WINDOW = timedelta(hours=1)


class WeComMessageMemberSend(models.Model):
    _name = "wecom.message.member.send"
    _description = "WeCom Message Sent to a Member"
    _log_access = False
    _order = "sent_at desc, id desc"

    application_id = fields.Many2one("wecom.application", required=True, ondelete="cascade", index=True)
    member = fields.Char(required=True, index=True, help="WeCom user id")
    sent_at = fields.Datetime(required=True, index=True)

    @api.model
    def _wecom_load_pacers(self, pacers, messages, settings):
        """Complete ``pacers`` (``{application id: MemberPacer}``) with the last hour's sends to the
        members of ``messages`` it does not know yet: one query per batch.

        :return: ``{message id: [member, ...]}`` the members each message counts against
        """
        per_minute, per_hour = settings["member_per_minute"], settings["member_per_hour"]
        unknown, paced = {}, {}
        for message in messages:
            pacer = pacers.setdefault(message.application_id.id, MemberPacer(per_minute, per_hour))
            if per_minute <= 0 and per_hour <= 0:
                paced[message.id] = []
                continue
            try:
                members = paced[message.id] = message._wecom_paced_members(message)
            except ValidationError:
                continue  # its send fails with that error in its turn
            unknown.setdefault(message.application_id.id, set()).update(m for m in members if not pacer.knows(m))
        for app_id, members in unknown.items():
            if not members:
                continue
            rows = self.sudo().search_fetch(
                [
                    ("application_id", "=", app_id),
                    ("member", "in", list(members)),
                    ("sent_at", ">", fields.Datetime.now() - WINDOW),
                ],
                ["member", "sent_at"],
            )
            history = {member: [] for member in members}
            for row in rows:
                history[row.member].append(row.sent_at.replace(tzinfo=timezone.utc).timestamp())
            pacers[app_id].learn(history)
        return paced

    @api.model
    def _wecom_record(self, sends):
        """Count the messages WeCom accepted: ``[(application id, [member, ...])]``."""
        now = fields.Datetime.now()
        rows = [
            {"application_id": app_id, "member": member, "sent_at": now}
            for app_id, members in sends
            for member in members
        ]
        if rows:
            self.sudo().create(rows)

    @api.autovacuum
    def _gc_wecom_member_sends(self):
        """Sends older than the longest window (an hour) say nothing any more."""
        self.sudo().search([("sent_at", "<", fields.Datetime.now() - WINDOW)]).unlink()
