import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .. import compat, const
from ..lib import WeComError, WeComTokenError
from ..tools import check_wecom_group, company_lang, has_wecom_group, notification, short_transaction, token_cache

_logger = logging.getLogger(__name__)


def _to_epoch(value):
    return value.replace(tzinfo=timezone.utc).timestamp()


class WeComApplication(models.Model):
    """One self-built WeCom application of a company, and the owner of its access token."""

    _name = "wecom.application"
    _inherit = ["wecom.base", "mail.thread"]
    _wecom_company_field = "company_id"
    _description = "WeCom Application"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True, recursive=True)
    app_name = fields.Char(string="Application Name", required=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True, tracking=True
    )
    corp_id = fields.Char(string="CorpID", related="company_id.wecom_corp_id")
    type_id = fields.Many2one("wecom.application.type", string="Type", ondelete="restrict", tracking=True)
    category_ids = fields.Many2many("wecom.application.category", string="Categories")
    agent_id = fields.Integer(
        string="AgentId",
        required=True,
        tracking=True,
        help="The AgentId shown on the application's page in the WeCom admin console.",
    )
    secret = fields.Char(
        groups=const.MANAGER_GROUP,
        copy=False,
        required=True,
        help="The application's Secret from the WeCom admin console. Only WeCom managers can see it.",
    )
    # One enabled flag: ``active`` (from wecom.base) is the truth, so a disabled application is archived and
    # an archived one disabled; ``is_active`` is the same column under the name the RPC surface knows.
    active = fields.Boolean(tracking=True, help="Disabled (archived) applications send nothing and get no token.")
    is_active = fields.Boolean(
        string="Enabled",
        related="active",
        readonly=False,
        help="Disabled applications send nothing and get no token (the same as archiving the application).",
    )
    sequence = fields.Integer(default=10)
    note = fields.Text()
    setting_ids = fields.One2many("wecom.application.setting", "application_id", string="Settings")
    webhook_ids = fields.One2many("wecom.callback", "application_id", string="Callbacks")
    callback_count = fields.Integer(string="Callback Count", compute="_compute_callback_count")

    # Token: stored in wecom.application.token (one row per application, written in short transactions
    # of its own), shown here to managers only.
    access_token = fields.Char(compute="_compute_access_token", groups=const.MANAGER_GROUP)
    token_expiration_time = fields.Datetime(compute="_compute_token_state", string="Token Expires")
    last_error = fields.Text(compute="_compute_token_state", string="Last Error")
    last_error_date = fields.Datetime(compute="_compute_token_state", string="Last Error On")
    # The outbox's circuit of this application (wecom.application.circuit): empty when WeCom answers.
    outage_since = fields.Datetime(
        compute="_compute_outage_since",
        string="WeCom Unreachable Since",
        help="Since when the outbox could not reach WeCom for this application; its queued messages wait.",
    )

    # What refresh_app_info() read from WeCom (agent/get).
    wecom_name = fields.Char(string="Name in WeCom", readonly=True, copy=False)
    square_logo_url = fields.Char(string="Logo URL", readonly=True, copy=False)
    description = fields.Text(readonly=True, copy=False)
    allow_userids = fields.Char(string="Visible Users", readonly=True, copy=False)
    allow_partyids = fields.Char(string="Visible Departments", readonly=True, copy=False)
    allow_tagids = fields.Char(string="Visible Tags", readonly=True, copy=False)
    is_closed = fields.Boolean(string="Closed in WeCom", readonly=True, copy=False)
    home_url = fields.Char(string="Home URL", readonly=True, copy=False)
    redirect_domain = fields.Char(readonly=True, copy=False)
    report_location_flag = fields.Boolean(string="Reports Location", readonly=True, copy=False)
    is_report_enter = fields.Boolean(string="Reports Entering", readonly=True, copy=False)
    last_refresh_date = fields.Datetime(string="Info Refreshed On", readonly=True, copy=False)

    locals().update(
        compat.sql_constraints(
            agent_company_uniq=("unique(company_id, agent_id)", "The AgentId must be unique per company."),
        )
    )

    # ------------------------------------------------------------------ computes and constraints
    @api.depends("webhook_ids")
    def _compute_callback_count(self):
        for app in self:
            app.callback_count = len(app.webhook_ids)

    def action_view_webhooks(self):
        """Button: the callbacks (``wecom.callback``, what WeCom posts to Odoo) of this application."""
        action = self._wecom_records_action("wecom_base.wecom_callback_action")
        action["context"] = {"default_application_id": self.id, "active_test": False}
        return action

    def _wecom_records_action(self, xmlid):
        """The window action ``xmlid`` showing only this application's records (their ``application_id``)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("application_id", "=", self.id)]
        return action

    def _wecom_company_holder(self, flag):
        """Another application of this one's company, archived ones included, whose boolean ``flag`` is set: what
        the "one application per company" rules (the directory's, the customers') look for."""
        self.ensure_one()
        return self.with_context(active_test=False).search(
            [("id", "!=", self.id), ("company_id", "=", self.company_id.id), (flag, "=", True)], limit=1
        )

    def _wecom_sync_action(self, sync, summary, title):
        """What a *Sync* button does: ``sync(app)`` for each application (its statistics), WeCom's refusal kept on
        the application and raised in plain words, and a notification made of ``summary(statistics)``.

        :raise UserError: WeCom refused a call (nothing was changed for that application)
        """
        self.check_access("write")
        results = []
        for app in self:
            try:
                results.append(sync(app))
            except WeComError as exc:
                app._wecom_record_error(exc)
                app.handle_wecom_error(exc)
        return notification("; ".join(summary(stats) for stats in results), title)

    @api.depends("company_id.name", "type_id.name", "app_name")
    def _compute_name(self):
        for app in self:
            parts = [app.company_id.name, app.type_id.name, app.app_name]
            app.name = " / ".join(part for part in parts if part)

    def _compute_token_state(self):
        states = self.env["wecom.application.token"].sudo().search([("application_id", "in", self.ids)])
        by_app = {state.application_id.id: state for state in states}
        for app in self:
            state = by_app.get(app.id)
            app.token_expiration_time = state.expires_at if state else False
            app.last_error = state.last_error if state else False
            app.last_error_date = state.last_error_date if state else False

    def _compute_outage_since(self):
        channels = self.env["wecom.application.circuit"].sudo().search([("application_id", "in", self.ids)])
        since = {channel.application_id.id: channel.outage_since for channel in channels}
        for app in self:
            app.outage_since = since.get(app.id, False)

    def _compute_access_token(self):
        states = self.env["wecom.application.token"].sudo().search([("application_id", "in", self.ids)])
        by_app = {state.application_id.id: state.token for state in states}
        for app in self:
            app.access_token = by_app.get(app.id) or False

    @api.constrains("agent_id", "company_id")
    def _check_agent_id(self):
        for app in self:
            app._wecom_check_agent(app.company_id, app.agent_id)

    def _wecom_check_agent(self, company, agent_id):
        """The AgentId rule, in one place: a positive number that no other application of ``company`` uses,
        archived ones included (the database's ``agent_company_uniq`` backs it; this says which application).

        :raise ValidationError: naming the AgentId and the application that has it
        """
        if not isinstance(agent_id, int) or agent_id <= 0:
            raise ValidationError(
                _(
                    "The AgentId of %(app)s must be a positive number, not %(agent)s.",
                    app=self.app_name or _("the application"),
                    agent=agent_id,
                )
            )
        duplicate = (
            self.sudo()
            .with_context(active_test=False)
            .search([("id", "not in", self.ids), ("company_id", "=", company.id), ("agent_id", "=", agent_id)], limit=1)
        )
        if duplicate:
            raise ValidationError(
                _(
                    "The AgentId %(agent)s is already used by %(other)s in %(company)s.",
                    agent=agent_id,
                    other=duplicate.app_name,
                    company=company.name,
                )
            )

    @api.constrains("secret")
    def _check_secret(self):
        for app in self.sudo():
            secret = app.secret or ""
            if not secret.strip():
                raise ValidationError(
                    _("The secret of %(app)s is empty. Copy it from the WeCom admin console.", app=app.app_name)
                )
            if any(char.isspace() for char in secret) or len(secret) > 256:
                raise ValidationError(
                    _("The secret of %(app)s is not valid: it must be one word without spaces.", app=app.app_name)
                )

    def _wecom_known_secrets(self):
        return tuple(filter(None, self.sudo().mapped("secret")))

    # ------------------------------------------------------------------ ORM
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # before the INSERT, which the database's unique index would refuse without naming the other one
            if isinstance(vals.get("agent_id"), int) and vals["agent_id"] > 0:
                company = self.env["res.company"].browse(vals.get("company_id") or self.env.company.id)
                self._wecom_check_agent(company, vals["agent_id"])
        return super().create(vals_list)

    @api.model
    def _wecom_clean_vals(self, vals):
        if isinstance(vals.get("secret"), str):
            vals["secret"] = vals["secret"].strip()
        return super()._wecom_clean_vals(vals)

    def write(self, vals):
        result = super().write(vals)
        if {"secret", "company_id", "agent_id"} & set(vals):
            self._wecom_forget_token()
        if {"active", "is_active", "company_id"} & set(vals):
            self.env["wecom.callback"]._wecom_forget_targets()  # the callbacks answer for active applications
        return result

    def unlink(self):
        self._wecom_forget_token(local_only=True)
        self.env["wecom.callback"]._wecom_forget_targets()
        return super().unlink()

    # ------------------------------------------------------------------ configuration
    def get_wecom_config(self):
        """See :meth:`wecom.base.get_wecom_config`; adds ``application_id``, ``agent_id`` and, for sudo or
        WeCom manager callers only, ``secret``."""
        config = super().get_wecom_config()
        if len(self) == 1:
            config.update(application_id=self.id, agent_id=self.agent_id)
            if self._wecom_is_manager():
                config["secret"] = self.sudo().secret or False
        return config

    def _wecom_is_manager(self):
        return has_wecom_group(self.env, const.MANAGER_GROUP)

    def _wecom_default_application(self):
        return self

    @compat.private
    def get_setting(self, key, default=None):
        """Value of one of the application's settings (``wecom.application.setting``), or ``default``."""
        self.ensure_one()
        setting = self.setting_ids.filtered(lambda s: s.key == key)[:1]
        return setting.value if setting else default

    # ------------------------------------------------------------------ access token
    def get_access_token(self):
        """Return a valid access token of this application (WeCom managers and sudo only).

        :rtype: str
        :raise AccessError: the caller is not a WeCom manager
        :raise UserError: WeCom refused to issue a token (the reason and what to do)
        """
        self.ensure_one()
        check_wecom_group(
            self.env, const.MANAGER_GROUP, _("Only WeCom managers can read an application's access token.")
        )
        self.check_access("read")
        try:
            return self._wecom_get_token()
        except WeComError as exc:
            self.handle_wecom_error(exc)

    def _wecom_get_token(self, failed_token=None, force=False, min_validity=const.TOKEN_REFRESH_MARGIN):
        """Return a valid token: process cache, then the stored token, then WeCom (one caller at a time).

        :param str failed_token: a token WeCom just rejected (40014/42001): it is dropped only if it is
            still the current one; a newer token stored meanwhile by another worker is reused
        :param bool force: fetch a new token from WeCom even if the stored one is valid
        :param int min_validity: seconds the returned token must still be valid
        :rtype: str
        :raise WeComError: WeCom could not issue a token
        """
        self.ensure_one()
        key = (self.env.cr.dbname, self.id)
        if not force:
            entry = token_cache.get(key, failed_token=failed_token)
            if entry and entry[1] - min_validity > time.time():
                return entry[0]
        self._wecom_check_can_fetch()
        token, expires_at = self._wecom_fetch_token_locked(
            failed_token=failed_token, force=force, min_validity=min_validity
        )
        token_cache.put(key, token, expires_at)
        return token

    def _wecom_check_can_fetch(self):
        if not self.active:
            raise WeComError(
                _("The WeCom application %(app)s is disabled: enable it before calling WeCom.", app=self.app_name)
            )

    @contextmanager
    def _wecom_state_cursor(self):
        """A cursor on which this application's token row can be locked and written.

        Normally a new, short transaction (committed on exit), so a token fetched once serves every worker
        even if the caller's transaction rolls back, and waiting workers are released at once. When the
        application is not committed yet (created in the current transaction), the current cursor is used
        inside a savepoint instead.
        """
        # READ COMMITTED: a worker that waited for the row lock must see the token just stored, not fail to
        # serialize against it; never wait long for a token row: a stuck holder must not freeze every worker
        with short_transaction(self.env, lock_timeout="20s") as cr:
            cr.execute("SELECT 1 FROM wecom_application WHERE id = %s", [self.id])
            visible = bool(cr.rowcount)
            if visible:
                yield cr
        if not visible:
            with self.env.cr.savepoint():
                yield self.env.cr

    @staticmethod
    def _wecom_lock_state_row(cr, app_id):
        cr.execute(
            """
            INSERT INTO wecom_application_token (application_id, fetch_count, create_date, write_date)
            VALUES (%s, 0, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')
            ON CONFLICT (application_id) DO NOTHING
            """,
            [app_id],
        )
        cr.execute(
            "SELECT token, expires_at FROM wecom_application_token WHERE application_id = %s FOR NO KEY UPDATE",
            [app_id],
        )
        return cr.fetchone()

    def _wecom_fetch_token_locked(self, failed_token=None, force=False, min_validity=const.TOKEN_REFRESH_MARGIN):
        """Under the token row's lock: reuse a token another worker stored meanwhile, or fetch one.

        :return: ``(token, expires_at epoch)``
        :raise WeComError: WeCom did not issue a token (the error is kept on the application)
        """
        app = self.sudo()
        corp_id = app.company_id.wecom_corp_id
        secret = app.secret
        client = self._wecom_client()
        error = result = None
        with self._wecom_state_cursor() as cr:
            stored_token, stored_expiry = self._wecom_lock_state_row(cr, self.id)
            if stored_token and stored_expiry and not force and stored_token != failed_token:
                expires_at = _to_epoch(stored_expiry)
                if expires_at - min_validity > time.time():
                    return stored_token, expires_at
            try:
                token, expires_in = client.get_token(corp_id, secret)
            except WeComError as exc:
                # Kept on the application by this short transaction; raised once the lock is released.
                self._wecom_write_error(cr, exc)
                error = exc
            else:
                fetched_at = time.time()
                result = (token, fetched_at + expires_in)
                cr.execute(
                    """
                    UPDATE wecom_application_token
                       SET token = %s, expires_at = %s, fetched_at = %s, fetch_count = fetch_count + 1,
                           last_error = NULL, last_error_date = NULL, write_date = NOW() AT TIME ZONE 'UTC'
                     WHERE application_id = %s
                    """,
                    [
                        token,
                        datetime.fromtimestamp(result[1], timezone.utc).replace(tzinfo=None),
                        datetime.fromtimestamp(fetched_at, timezone.utc).replace(tzinfo=None),
                        self.id,
                    ],
                )
        self.env["wecom.application.token"].invalidate_model()
        if error is not None:
            raise error
        _logger.info("WeCom application %s (id %s): new access token fetched", self.app_name, self.id)
        return result

    def _wecom_write_error(self, cr, error):
        # read by the company's managers (the form, the dashboard): in the company's language, not the worker's
        self = self.with_context(lang=company_lang(self.company_id))  # noqa: PLW0642 - _() reads the frame's self
        message = self._wecom_error_message(error) if isinstance(error, WeComError) else str(error)
        cr.execute("SELECT last_error FROM wecom_application_token WHERE application_id = %s", [self.id])
        row = cr.fetchone()
        cr.execute(
            """
            UPDATE wecom_application_token SET last_error = %s, last_error_date = NOW() AT TIME ZONE 'UTC'
             WHERE application_id = %s
            """,
            [message, self.id],
        )
        if not row or row[0] != message:
            # a new failure goes to the chatter too (in the same short transaction: it survives a rollback);
            # the same failure again (every cron run) does not
            self.with_env(self.env(cr=cr, su=True)).message_post(
                body=_("WeCom failure: %(error)s", error=message), subtype_xmlid="mail.mt_note"
            )

    def _wecom_record_error(self, error):
        """Store ``error`` as the application's last error, in its own transaction (survives a rollback)."""
        self.ensure_one()
        with self._wecom_state_cursor() as cr:
            self._wecom_lock_state_row(cr, self.id)
            self._wecom_write_error(cr, error)
        self.env["wecom.application.token"].invalidate_model()

    def _wecom_clear_error(self):
        self.ensure_one()
        if not self.last_error:
            return
        with self._wecom_state_cursor() as cr:
            cr.execute(
                "UPDATE wecom_application_token SET last_error = NULL, last_error_date = NULL "
                "WHERE application_id = %s",
                [self.id],
            )
        self.env["wecom.application.token"].invalidate_model()

    def _wecom_forget_token(self, local_only=False):
        """Drop the tokens of these applications (secret, company or agent changed)."""
        token_cache.pop(*((self.env.cr.dbname, app_id) for app_id in self.ids))
        if not local_only:
            # in the token's own short transaction: the caller must never hold a lock on a token row, or a
            # token refresh in that same request would wait for it forever
            for app in self:
                with app._wecom_state_cursor() as cr:
                    cr.execute(
                        "UPDATE wecom_application_token SET token = NULL, expires_at = NULL WHERE application_id = %s",
                        [app.id],
                    )
            self.env["wecom.application.token"].invalidate_model()

    def _wecom_with_token(self, func):
        """Run ``func(client, token)``; on an invalid/expired token, renew it once and replay once."""
        self.ensure_one()
        client = self._wecom_client()
        token = self._wecom_get_token()
        try:
            return func(client, token)
        except WeComTokenError as exc:
            _logger.info(
                "WeCom application %s (id %s): token rejected (%s), renewing it and replaying once",
                self.app_name,
                self.id,
                exc.errcode,
            )
            token = self._wecom_get_token(failed_token=token)
            return func(client, token)

    @api.model
    @compat.private
    def cron_refresh_tokens(self):
        """Renew the tokens of enabled applications that would expire before the next run.

        One application's failure is recorded on it (last error + log) and does not stop the others.

        :return: the number of applications whose token could not be renewed
        :rtype: int
        """
        failures = 0
        horizon = const.TOKEN_CRON_WINDOW
        for app in self.search([("active", "=", True)]):
            try:
                app._wecom_get_token(min_validity=horizon)
            except Exception as exc:  # noqa: BLE001 - one app's failure must not stop the others
                failures += 1
                if not isinstance(exc, WeComError):
                    app._wecom_record_error(exc)
                app.log_error(
                    _("Could not renew the access token: %(error)s", error=app._wecom_error_message(exc)),
                    func="cron_refresh_tokens",
                )
        return failures

    # ------------------------------------------------------------------ WeCom app info
    def _wecom_values_from_agent(self, data):
        def ids(container, list_key, item_key=None):
            items = (data.get(container) or {}).get(list_key) or []
            values = [str(item.get(item_key) if item_key else item) for item in items]
            return ",".join(v for v in values if v and v != "None") or False

        return {
            "wecom_name": data.get("name") or False,
            "square_logo_url": data.get("square_logo_url") or False,
            "description": data.get("description") or False,
            "allow_userids": ids("allow_userinfos", "user", "userid"),
            "allow_partyids": ids("allow_partys", "partyid"),
            "allow_tagids": ids("allow_tags", "tagid"),
            "is_closed": bool(data.get("close")),
            "home_url": data.get("home_url") or False,
            "redirect_domain": data.get("redirect_domain") or False,
            "report_location_flag": bool(data.get("report_location_flag")),
            "is_report_enter": bool(data.get("isreportenter")),
            "last_refresh_date": fields.Datetime.now(),
        }

    def refresh_app_info(self):
        """Read each application from WeCom (``agent/get``) and store what WeCom says.

        :return: True
        :raise UserError: WeCom refused (the reason and what to do); the error is kept on the application
        """
        self.check_access("write")
        for app in self:
            try:
                data = app._wecom_call(const.PATH_AGENT_GET, method="GET", params={"agentid": app.agent_id})
            except WeComError as exc:
                app._wecom_record_error(exc)
                app.handle_wecom_error(exc)
            values = app._wecom_values_from_agent(data)
            app.write(values)
            app._wecom_clear_error()
            if not self.env.context.get("wecom_quiet_refresh"):
                app.message_post(
                    body=_(
                        "Refreshed from WeCom: %(name)s, %(state)s.",
                        name=values.get("wecom_name") or app.app_name,
                        state=_("closed") if app.is_closed else _("open"),
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return True

    def action_refresh_app_info(self):
        """Button: :meth:`refresh_app_info`, and say what WeCom answered."""
        self.refresh_app_info()
        return self._wecom_notification(
            _("Refreshed from WeCom"),
            "; ".join(
                self.env._(
                    "%(app)s: %(name)s, %(state)s",
                    app=app.app_name,
                    name=app.wecom_name or "-",
                    state=self.env._("closed") if app.is_closed else self.env._("open"),
                )
                for app in self
            ),
            "success",
        )

    def _wecom_notification(self, title, message, kind):
        return notification(message, title, kind, next_action={"type": "ir.actions.act_window_close"})

    def action_test_connection(self):
        """Button: fetch a new token and the application's info, and say plainly how it went (in the chatter too
        when that changed something: the first connection, or one after an error or a change in WeCom)."""
        self.ensure_one()
        self.check_access("write")
        before = (self.last_error, self.wecom_name, self.is_closed)
        try:
            self._wecom_get_token(force=True)
        except WeComError as exc:
            self._wecom_record_error(exc)
            self.handle_wecom_error(exc)
        self.with_context(wecom_quiet_refresh=True).refresh_app_info()
        message = _(
            "Connected to WeCom: a token was issued for %(app)s (AgentId %(agent)s) and WeCom knows it as “%(name)s”.",
            app=self.app_name,
            agent=self.agent_id,
            name=self.wecom_name or self.app_name,
        )
        if self.is_closed:
            message += " " + _("Note: the application is closed in WeCom; enable it in the WeCom admin console.")
        if before[0] or before[1:] != (self.wecom_name, self.is_closed):
            self.message_post(body=message)
        return self._wecom_notification(
            _("WeCom connection works"), message, "warning" if self.is_closed else "success"
        )


class WeComApplicationToken(models.Model):
    """Runtime state of an application: its access token and last error.

    Kept apart from ``wecom.application`` so that the short transactions that renew the token never
    conflict with edits of the application itself. Only reachable through sudo code and by managers.
    """

    _name = "wecom.application.token"
    _description = "WeCom Application Token"
    _log_access = False

    application_id = fields.Many2one("wecom.application", required=True, ondelete="cascade", index=True)
    token = fields.Char(groups=const.MANAGER_GROUP)
    expires_at = fields.Datetime()
    fetched_at = fields.Datetime()
    fetch_count = fields.Integer(default=0)
    last_error = fields.Text()
    last_error_date = fields.Datetime()
    create_date = fields.Datetime(readonly=True)
    write_date = fields.Datetime(readonly=True)

    locals().update(
        compat.sql_constraints(
            application_uniq=("unique(application_id)", "An application has one token row."),
        )
    )
