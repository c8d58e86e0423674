"""What the outbox sent to each member, so that it never hands WeCom more than WeCom delivers.

WeCom silently drops application messages beyond 30 a minute and 1,000 an hour to one member
(path/90236, path/90454). One row per member and message sent (a message to 1,000 users counts once for
each), kept an hour; the drain reads the rows of its batch's members once per batch
(:class:`~odoo.addons.wecom_base.lib.flow_control.MemberPacer`). Members reached through departments,
tags or @all are not known to Odoo and not paced.
"""

from datetime import timedelta, timezone

from odoo import api, fields, models

from ..lib.flow_control import MemberPacer

WINDOW = timedelta(hours=1)


class WeComMessageMemberSend(models.Model):
    _name = "wecom.message.member.send"
    _description = "WeCom Message Sent to a Member"
    _log_access = False
    _order = "sent_at desc, id desc"

    application_id = fields.Many2one("wecom.application", required=True, ondelete="cascade", index=True)
    # a WeCom user id, not a wecom.member: recipients outside the mirrored directory are paced too
    userid = fields.Char(string="WeCom User ID", required=True, index=True)
    sent_at = fields.Datetime(required=True, index=True)

    @api.model
    def _wecom_load_pacers(self, pacers, members, settings):
        """Complete ``pacers`` (``{application id: MemberPacer}``) with the last hour's sends to
        ``members`` (``{application id: {member, ...}}``) it does not know yet: one query per application
        and batch."""
        for app_id, app_members in members.items():
            pacer = pacers.setdefault(app_id, MemberPacer(settings["member_per_minute"], settings["member_per_hour"]))
            unknown = [member for member in app_members if not pacer.knows(member)]
            if not unknown:
                continue
            rows = self.sudo().search_fetch(
                [
                    ("application_id", "=", app_id),
                    ("userid", "in", unknown),
                    ("sent_at", ">", fields.Datetime.now() - WINDOW),
                ],
                ["userid", "sent_at"],
            )
            history = {member: [] for member in unknown}
            for row in rows:
                history[row.userid].append(row.sent_at.replace(tzinfo=timezone.utc).timestamp())
            pacer.learn(history)

    @api.model
    def _wecom_record(self, sends):
        """Count the messages WeCom accepted: ``[(application id, [userid, ...])]``, in one ``create()`` (the
        ORM inserts a list of rows at once; the model has no defaults, computes or constraints to run)."""
        now = fields.Datetime.now()
        rows = [
            {"application_id": app_id, "userid": userid, "sent_at": now}
            for app_id, userids in sends
            for userid in userids
        ]
        if rows:
            self.sudo().create(rows)

    @api.autovacuum
    def _gc_wecom_member_sends(self):
        """Sends older than the longest window (an hour) say nothing any more."""
        self.sudo().search([("sent_at", "<", fields.Datetime.now() - WINDOW)]).unlink()
