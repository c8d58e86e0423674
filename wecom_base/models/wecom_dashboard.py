"""The WeCom dashboard: each application's health and today's traffic (a kanban of ``wecom.application``), and
the setup checklist of the current company shown above it.

Every count is read for all the applications of the dashboard at once (``_read_group``), under the reader's
record rules: a WeCom user counts and retries their own messages, a manager those of the company.
"""

from datetime import datetime, time

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..tools import has_wecom_group, notification

SENT_STATES = ("sent", "partial")


class WeComApplication(models.Model):
    _inherit = "wecom.application"

    dashboard_sent_count = fields.Integer(
        string="Sent Today", compute="_compute_dashboard_messages", help="Messages sent (or partly sent) today."
    )
    dashboard_waiting_count = fields.Integer(
        string="Waiting", compute="_compute_dashboard_messages", help="Messages queued for the outbox."
    )
    dashboard_failed_count = fields.Integer(
        string="Failed",
        compute="_compute_dashboard_messages",
        help="Failed messages waiting for someone to retry or cancel them (of any day).",
    )
    dashboard_failed_today_count = fields.Integer(
        string="Failed Today", compute="_compute_dashboard_messages", help="Messages created today that failed."
    )
    dashboard_event_count = fields.Integer(
        string="Callbacks Today", compute="_compute_dashboard_callbacks", help="Callbacks received today."
    )
    dashboard_event_error_count = fields.Integer(
        string="Callbacks Failed Today",
        compute="_compute_dashboard_callbacks",
        help="Callbacks received today whose processing failed.",
    )
    dashboard_rejected_count = fields.Integer(
        string="Requests Refused",
        compute="_compute_dashboard_callbacks",
        help="Requests the callback URLs refused (bad signature, old timestamp, undecryptable), in total.",
    )
    dashboard_last_rejection_date = fields.Datetime(string="Last Refusal", compute="_compute_dashboard_callbacks")
    dashboard_callback_state = fields.Selection(
        [("none", "No callback"), ("incomplete", "Not configured"), ("configured", "Configured")],
        string="Callback",
        compute="_compute_dashboard_callbacks",
    )
    dashboard_token_state = fields.Selection(
        [("none", "No token yet"), ("valid", "Valid"), ("expired", "Expired"), ("error", "Error")],
        string="Token",
        compute="_compute_dashboard_token_state",
        help="No token yet: the first call to WeCom fetches one. Expired: the next call fetches a new one.",
    )

    # ------------------------------------------------------------------ computes
    @api.model
    def _wecom_dashboard_day(self):
        """Today in the user's time zone, and its start as a UTC datetime (how Odoo stores datetimes).

        :rtype: tuple(date, datetime)
        """
        try:
            tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        except pytz.UnknownTimeZoneError:
            tz = pytz.utc
        day = pytz.utc.localize(fields.Datetime.now()).astimezone(tz).date()
        return day, tz.localize(datetime.combine(day, time.min)).astimezone(pytz.utc).replace(tzinfo=None)

    @api.model
    def _wecom_dashboard_today(self):
        """The start of today in the user's time zone, as a UTC datetime."""
        return self._wecom_dashboard_day()[1]

    def _compute_dashboard_messages(self):
        counts = {app.id: dict.fromkeys(("sent", "waiting", "failed", "failed_today"), 0) for app in self}
        apps = self.filtered("id")
        if apps:
            day, today = self._wecom_dashboard_day()
            domain = [
                ("application_id", "in", apps.ids),
                "|",
                ("state", "in", ("outgoing", "exception")),
                "&",
                ("state", "in", SENT_STATES),
                ("sent_date", ">=", today),
            ]
            # read under the user's record rules: what the user may see (and retry) is what is counted
            messages = self.env["wecom.message"].with_context(tz=self.env.context.get("tz") or self.env.user.tz)
            for app, state, created_today, count in messages._read_group(
                domain, ["application_id", "state", "create_date:day"], ["__count"]
            ):
                app_counts = counts[app.id]
                if state in SENT_STATES:
                    app_counts["sent"] += count
                elif state == "outgoing":
                    app_counts["waiting"] += count
                else:
                    app_counts["failed"] += count
                    # the day of a group is a date or a datetime (per series), in the user's time zone
                    created = created_today.date() if isinstance(created_today, datetime) else created_today
                    if created and created >= day:
                        app_counts["failed_today"] += count
        for app in self:
            app_counts = counts.get(app.id) or dict.fromkeys(("sent", "waiting", "failed", "failed_today"), 0)
            app.dashboard_sent_count = app_counts["sent"]
            app.dashboard_waiting_count = app_counts["waiting"]
            app.dashboard_failed_count = app_counts["failed"]
            app.dashboard_failed_today_count = app_counts["failed_today"]

    def _compute_dashboard_callbacks(self):
        apps = self.filtered("id")
        events, rejections, callback_states = {}, {}, {}
        if apps:
            # callbacks and their events are for managers; their counts say nothing secret
            today = self._wecom_dashboard_today()
            for app, state, count in (
                self.env["wecom.callback.event"]
                .sudo()
                ._read_group(
                    [("application_id", "in", apps.ids), ("create_date", ">=", today)],
                    ["application_id", "state"],
                    ["__count"],
                )
            ):
                total, errors = events.get(app.id, (0, 0))
                events[app.id] = (total + count, errors + (count if state == "error" else 0))
            callbacks = self.env["wecom.callback"].sudo().search([("application_id", "in", apps.ids)])
            for callback in callbacks:
                app_id = callback.application_id.id
                rejected, last = rejections.get(app_id, (0, False))
                rejections[app_id] = (
                    rejected + callback.rejected_count,
                    max(filter(None, [last, callback.last_rejection_date]), default=False),
                )
                if callback.is_configured:
                    callback_states[app_id] = "configured"
                else:
                    callback_states.setdefault(app_id, "incomplete")
        for app in self:
            app.dashboard_event_count, app.dashboard_event_error_count = events.get(app.id, (0, 0))
            app.dashboard_rejected_count, app.dashboard_last_rejection_date = rejections.get(app.id, (0, False))
            app.dashboard_callback_state = callback_states.get(app.id, "none")

    def _compute_dashboard_token_state(self):
        now = fields.Datetime.now()
        for app in self:
            expires = app.token_expiration_time
            # a successful fetch clears the last error: an error here is the latest word on the token
            if app.last_error:
                app.dashboard_token_state = "error"
            elif expires and expires > now:
                app.dashboard_token_state = "valid"
            elif expires:
                app.dashboard_token_state = "expired"
            else:
                app.dashboard_token_state = "none"

    # ------------------------------------------------------------------ buttons
    def _wecom_dashboard_messages_action(self, name, domain):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_base.wecom_message_action")
        action.update(
            {
                "name": name,
                "domain": [("application_id", "=", self.id), *domain],
                "context": {"default_application_id": self.id, "default_channel": "application"},
            }
        )
        return action

    def action_wecom_dashboard_failed(self):
        """Button: the failed messages of this application (those Retry all would queue again)."""
        return self._wecom_dashboard_messages_action(
            _("Failed: %(app)s", app=self.app_name), [("state", "=", "exception")]
        )

    def action_wecom_dashboard_waiting(self):
        """Button: the messages of this application waiting in the outbox."""
        return self._wecom_dashboard_messages_action(
            _("Waiting: %(app)s", app=self.app_name), [("state", "=", "outgoing")]
        )

    def action_wecom_dashboard_sent(self):
        """Button: the messages of this application sent today."""
        return self._wecom_dashboard_messages_action(
            _("Sent today: %(app)s", app=self.app_name),
            [
                ("state", "in", SENT_STATES),
                ("sent_date", ">=", fields.Datetime.to_string(self._wecom_dashboard_today())),
            ],
        )

    def action_wecom_dashboard_retry_all(self):
        """Button: queue again every failed message of this application the user may act on (a WeCom user their
        own, a manager all of the company's; the record rules decide).

        A message that cannot be queued as it is (it fails validation, e.g. a recipient lost their WeCom user
        id) stays failed and is counted in the notification; the others are queued all the same.

        :raise UserError: there is no failed message to retry
        """
        self.ensure_one()
        failed = self.env["wecom.message"].search([("application_id", "=", self.id), ("state", "=", "exception")])
        if not failed:
            raise UserError(_("%(app)s has no failed message to retry.", app=self.app_name))
        queued = failed
        try:
            with self.env.cr.savepoint():
                failed.action_retry()
        except UserError:  # ValidationError too: one message is wrong, queue the others one by one
            queued = failed.browse()
            for message in failed:
                try:
                    with self.env.cr.savepoint():
                        message.action_retry()
                    queued |= message
                except UserError:
                    continue
        left = len(failed) - len(queued)
        message = _("%(count)s failed messages of %(app)s are queued again.", count=len(queued), app=self.app_name)
        if left:
            message = _(
                "%(queued)s %(count)s cannot be sent as they are: open the failed messages to see why.",
                queued=message,
                count=left,
            )
        return notification(
            message,
            kind="warning" if left else "success",
            next_action={"type": "ir.actions.client", "tag": "soft_reload"},
        )

    def action_wecom_dashboard_events(self):
        """Button: the callbacks this application received today."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_base.wecom_callback_event_action")
        action["domain"] = [
            ("application_id", "=", self.id),
            ("create_date", ">=", fields.Datetime.to_string(self._wecom_dashboard_today())),
        ]
        return action

    # ------------------------------------------------------------------ setup checklist
    @api.model
    def wecom_dashboard_checklist(self):
        """What the current company still misses to use WeCom, for the dashboard (WeCom managers only).

        Other addons add their items by extending this method.

        :return: one dict per step: ``key``, ``name``, ``done`` (bool), ``hint`` (what to do, or what is
            wrong), ``action`` (the xmlid of the window action that fixes it)
        :rtype: list
        """
        if not has_wecom_group(self.env, const.MANAGER_GROUP):
            return []
        company = self.env.company
        apps = self.search([("company_id", "=", company.id)])
        callbacks = self.env["wecom.callback"].sudo().search([("application_id", "in", apps.ids)])
        items = [
            {
                "key": "corp_id",
                "name": _("The company's CorpID"),
                "done": bool(company.wecom_corp_id),
                "hint": _("Copy it from the WeCom admin console (My Company > Company Information) to the Settings."),
                "action": "wecom_base.wecom_config_settings_action",
            },
            {
                "key": "application",
                "name": _("A WeCom application"),
                "done": bool(apps),
                "hint": _("Create a self-built application in WeCom, then add its AgentId and Secret here."),
                "action": "wecom_base.wecom_application_action",
            },
            {
                "key": "callback",
                "name": _("A callback"),
                "done": any(callbacks.mapped("is_configured")),
                "hint": _(
                    "Add a callback with its Token and EncodingAESKey, and paste its URL into the application's "
                    '"Receive messages" settings in WeCom.'
                ),
                "action": "wecom_base.wecom_callback_action",
            },
            {
                "key": "directory",
                "name": _("A directory source"),
                "done": bool(apps.filtered("directory_sync")),
                "hint": _('Tick "Sync the Directory" on the application that sees your contacts.'),
                "action": "wecom_base.wecom_application_action",
            },
        ]
        # WeCom login (wecom_auth), when installed: WeCom only sends users back to the trusted domain
        if "wecom_auth_application_id" in company._fields:
            login_app = company._wecom_auth_application()
            if login_app:
                problem = login_app._wecom_auth_domain_problem()
            else:
                problem = _("Choose the application members log in with (or keep only one enabled).")
            items.append(
                {
                    "key": "login_domain",
                    "name": _("The login's trusted domain"),
                    "done": not problem,
                    "hint": problem or "",
                    "action": "wecom_base.wecom_config_settings_action",
                }
            )
        return items
