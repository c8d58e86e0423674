"""Application callbacks (WeCom's "receive messages" mode): the endpoint configuration.

One ``wecom.callback`` holds the callback Token and EncodingAESKey of one application and the unguessable
path token of its callback URL. The controller (``controllers/main.py``) verifies, decrypts and stores
what WeCom posts there as ``wecom.callback.event`` records, processed later by a cron.
"""

import base64
import ipaddress
import logging
import os
import secrets
import string
from collections import namedtuple
from urllib.parse import urlsplit

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from .. import compat, const
from ..controllers.main import WeComCallbackController
from ..lib import WeComCallbackCrypto, WeComCryptoError
from ..tools import short_transaction

_logger = logging.getLogger(__name__)

_TOKEN_ALPHABET = string.ascii_letters + string.digits
#: The fields of a callback that its cached target (_wecom_find_target) depends on.
TARGET_FIELDS = {"path_token", "callback_token", "encoding_aes_key", "active", "application_id"}


class _NoTarget(Exception):
    """No active callback at that path (not kept in the cache)."""


class CallbackTarget(namedtuple("CallbackTarget", "id application_id company_id corp_id")):
    """What the controller needs of a callback: ids only, read in one query."""

    __slots__ = ()

    def record(self, env):
        return env["wecom.callback"].browse(self.id)


def generate_callback_token(length=32):
    """A random callback Token as WeCom accepts it (1-32 ASCII letters and digits)."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _i in range(length))


def generate_encoding_aes_key():
    """A random EncodingAESKey: 32 random bytes, base64 without the trailing ``=`` (43 characters)."""
    return base64.b64encode(os.urandom(32)).decode("ascii").rstrip("=")


def generate_path_token():
    """The unguessable part of a callback URL (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


class WeComCallback(models.Model):
    """The callback endpoint of one WeCom application."""

    _name = "wecom.callback"
    _inherit = ["wecom.base", "mail.thread"]
    _wecom_company_field = "company_id"
    _wecom_application_field = "application_id"
    _description = "WeCom Application Callback"
    _order = "application_id, id"
    _check_company_auto = True

    name = fields.Char(required=True, default=lambda self: _("Callback"), tracking=True)
    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        required=True,
        ondelete="cascade",
        index=True,
        # the callback's company is its application's: any application of the user's companies
        domain="[('company_id', 'in', allowed_company_ids)]",
        tracking=True,
    )
    company_id = fields.Many2one(related="application_id.company_id", store=True, index=True)
    callback_token = fields.Char(
        string="Token",
        groups=const.MANAGER_GROUP,
        copy=False,
        help='The Token of the application\'s "Receive messages" settings in the WeCom admin console '
        "(1 to 32 letters or digits). It is a secret.",
    )
    encoding_aes_key = fields.Char(
        string="EncodingAESKey",
        groups=const.MANAGER_GROUP,
        copy=False,
        help='The EncodingAESKey of the application\'s "Receive messages" settings (43 characters). It is a secret.',
    )
    path_token = fields.Char(
        string="Path Token",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        groups=const.MANAGER_GROUP,
        default=lambda self: generate_path_token(),
        help="The random part of the callback URL: nobody can guess the URL of a callback.",
    )
    callback_url = fields.Char(
        string="Callback URL",
        compute="_compute_callback_url",
        groups=const.MANAGER_GROUP,
        help='Paste this URL into the application\'s "Receive messages" settings in the WeCom admin console.',
    )
    url_warning = fields.Char(compute="_compute_callback_url", groups=const.MANAGER_GROUP)
    is_configured = fields.Boolean(string="Configured", compute="_compute_is_configured")
    event_ids = fields.One2many("wecom.callback.event", "callback_id", string="Events")
    event_count = fields.Integer(string="Event Count", compute="_compute_event_count")
    error_event_count = fields.Integer(string="Failed Events", compute="_compute_event_count")
    last_event_date = fields.Datetime(string="Last Event", compute="_compute_event_count")
    # Written with plain SQL increments by the controller: rare, and never worth a record lock.
    duplicate_count = fields.Integer(string="Duplicates Dropped", readonly=True, copy=False, default=0)
    rejected_count = fields.Integer(string="Requests Rejected", readonly=True, copy=False, default=0)
    last_rejection_date = fields.Datetime(string="Last Rejection", readonly=True, copy=False)
    last_rejection_reason = fields.Char(string="Last Rejection Reason", readonly=True, copy=False)

    locals().update(
        compat.sql_constraints(
            path_token_uniq=("unique(path_token)", "The callback path token must be unique."),
        )
    )

    # ------------------------------------------------------------------ computes and checks
    @api.depends("path_token")
    def _compute_callback_url(self):
        for callback in self:
            base_url = callback.get_base_url().rstrip("/")
            callback.callback_url = (
                f"{base_url}{WeComCallbackController.ROUTE}/{callback.path_token}" if callback.path_token else False
            )
            callback.url_warning = callback._wecom_url_problem(base_url)

    @staticmethod
    def _wecom_is_local_host(host):
        """A host the internet cannot reach: empty, localhost, *.local, a private, loopback or link-local IP."""
        if host in ("localhost", "") or host.endswith((".local", ".localhost")):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a name
            return False
        return address.is_private or address.is_loopback or address.is_link_local

    @api.model
    def _wecom_url_problem(self, base_url):
        """Why WeCom cannot reach a callback under ``base_url`` (its servers post from the internet, over https),
        or False."""
        parts = urlsplit(base_url)
        host = (parts.hostname or "").lower()
        if self._wecom_is_local_host(host):
            return _(
                "WeCom cannot reach %(url)s: the callback URL must be a public https address. Set the Web Base URL "
                "(Settings > Technical > System Parameters, web.base.url) to the address your users reach Odoo at.",
                url=base_url,
            )
        if parts.scheme != "https":
            return _("The callback URL should use https: %(url)s is plain http.", url=base_url)
        return False

    @api.depends("callback_token", "encoding_aes_key", "application_id.company_id.wecom_corp_id")
    def _compute_is_configured(self):
        for callback in self:
            sudo = callback.sudo()
            callback.is_configured = bool(
                sudo.callback_token and sudo.encoding_aes_key and callback.application_id.company_id.wecom_corp_id
            )

    def _compute_event_count(self):
        counts = {callback.id: (0, 0, False) for callback in self}
        if self.ids:
            groups = (
                self.env["wecom.callback.event"]
                .sudo()
                ._read_group(
                    [("callback_id", "in", self.ids)], ["callback_id", "state"], ["__count", "create_date:max"]
                )
            )
            for callback, state, count, last in groups:
                total, errors, latest = counts[callback.id]
                counts[callback.id] = (
                    total + count,
                    errors + (count if state == "error" else 0),
                    max(filter(None, [latest, last]), default=False),
                )
        for callback in self:
            callback.event_count, callback.error_event_count, callback.last_event_date = counts.get(
                callback.id, (0, 0, False)
            )

    def _wecom_known_secrets(self):
        sudo = self.sudo()
        return tuple(filter(None, sudo.mapped("callback_token") + sudo.mapped("encoding_aes_key")))

    @api.model
    def _wecom_clean_vals(self, vals):
        for field in ("callback_token", "encoding_aes_key"):
            if isinstance(vals.get(field), str):
                vals[field] = vals[field].strip() or False
        if "path_token" in vals and not self.env.su:
            vals.pop("path_token")  # only action_regenerate_path_token() sets it
        return super()._wecom_clean_vals(vals)

    @api.constrains("callback_token", "encoding_aes_key")
    def _check_credentials(self):
        for callback in self.sudo():
            token, key = callback.callback_token, callback.encoding_aes_key
            if token and not WeComCallbackCrypto.is_valid_token(token):
                raise ValidationError(
                    _(
                        "Token of %(name)s: it must be 1 to 32 letters or digits, as set in the application's "
                        '"Receive messages" settings in WeCom.',
                        name=callback.display_name,
                    )
                )
            if key and not WeComCallbackCrypto.is_valid_aes_key(key):
                raise ValidationError(
                    _(
                        "EncodingAESKey of %(name)s: it must be the 43 characters shown in the application's "
                        '"Receive messages" settings in WeCom.',
                        name=callback.display_name,
                    )
                )

    @api.depends("name", "application_id.app_name")
    def _compute_display_name(self):
        for callback in self:
            callback.display_name = (
                f"{callback.application_id.app_name} / {callback.name}" if callback.application_id else callback.name
            )

    def write(self, vals):
        result = super().write(vals)
        if TARGET_FIELDS & set(vals):
            self._wecom_forget_targets()
        return result

    def unlink(self):
        self._wecom_forget_targets()
        return super().unlink()

    # ------------------------------------------------------------------ buttons
    def action_generate_credentials(self):
        """Button: fill in a random Token and EncodingAESKey (paste both into the WeCom console)."""
        self.check_access("write")
        for callback in self:
            callback.sudo().write(
                {
                    "callback_token": generate_callback_token(),
                    "encoding_aes_key": generate_encoding_aes_key(),
                }
            )
            callback.message_post(body=_("New callback Token and EncodingAESKey generated."))
        return True

    def action_regenerate_path_token(self):
        """Button: give the callback a new URL; the old one answers 404 from now on."""
        self.check_access("write")
        for callback in self:
            callback.sudo().write({"path_token": generate_path_token()})
            callback.message_post(body=_("New callback URL generated: update it in the WeCom admin console."))
        return True

    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("wecom_base.wecom_callback_event_action")
        action["domain"] = [("callback_id", "=", self.id)]
        action["context"] = {"default_callback_id": self.id}
        return action

    # ------------------------------------------------------------------ controller helpers
    _TARGET_QUERY = """
        SELECT w.id, w.application_id, a.company_id, w.callback_token, w.encoding_aes_key, c.wecom_corp_id
          FROM wecom_callback w
          JOIN wecom_application a ON a.id = w.application_id
          JOIN res_company c ON c.id = a.company_id
         WHERE w.path_token = %s AND w.active AND a.active
    """

    @api.model
    def _wecom_find_target(self, path_token):
        """The callback answering at ``path_token``: the hot path of every callback.

        Read in one query, then kept in the registry cache (no query at all while the configuration
        stays as it is): a change of a callback, of its application or of the company's CorpID clears
        it in every worker (:meth:`_wecom_forget_targets`). Unknown paths are not kept, so that requests
        at random URLs cannot fill the cache.

        :return: ``(target, crypto)``; ``target`` is None for an unknown path or an inactive callback or
            application, ``crypto`` is None when the callback is not configured
        :rtype: tuple(CallbackTarget or None, WeComCallbackCrypto or None)
        """
        if not isinstance(path_token, str) or not 16 <= len(path_token) <= 64:
            return None, None
        try:
            return self._wecom_read_target(path_token)
        except _NoTarget:
            return None, None

    @tools.ormcache("path_token")
    def _wecom_read_target(self, path_token):
        self.env.flush_all()  # the query reads three models; nothing is pending in a callback request
        self.env.cr.execute(self._TARGET_QUERY, [path_token])
        row = self.env.cr.fetchone()
        if not row:
            raise _NoTarget  # an exception is not cached
        callback_id, application_id, company_id, token, key, corp_id = row
        target = CallbackTarget(callback_id, application_id, company_id, corp_id)
        try:
            crypto = WeComCallbackCrypto(token, key, corp_id) if token and key and corp_id else None
        except WeComCryptoError:
            crypto = None
        return target, crypto

    @api.model
    def _wecom_forget_targets(self):
        """Clear the cached callback targets (Odoo signals the cache clear to the other workers)."""
        self.env.registry.clear_cache()

    def _wecom_target(self):
        """This callback as a :class:`CallbackTarget`."""
        self.ensure_one()
        return CallbackTarget(
            self.id,
            self.application_id.id,
            self.application_id.company_id.id,
            self.application_id.company_id.wecom_corp_id,
        )

    def _wecom_count_rejection(self, reason):
        """Count a rejected callback request, in a short transaction of its own."""
        self.ensure_one()
        self._wecom_increment(
            """
            UPDATE wecom_callback
               SET rejected_count = COALESCE(rejected_count, 0) + 1,
                   last_rejection_date = NOW() AT TIME ZONE 'UTC',
                   last_rejection_reason = %s
             WHERE id = %s
            """,
            [reason[:200], self.id],
        )
        self.invalidate_recordset(["rejected_count", "last_rejection_date", "last_rejection_reason"])

    def _wecom_count_duplicate(self):
        self.ensure_one()
        self._wecom_increment(
            "UPDATE wecom_callback SET duplicate_count = COALESCE(duplicate_count, 0) + 1 WHERE id = %s", [self.id]
        )
        self.invalidate_recordset(["duplicate_count"])

    def _wecom_increment(self, query, params):
        """Run a counter update in its own READ COMMITTED transaction.

        Concurrent callback requests would otherwise fail each other's REPEATABLE READ transaction
        (and Odoo would replay them); a lost count is better than a slow or failed request.
        """
        try:
            with short_transaction(self.env, lock_timeout="2s") as cr:
                cr.execute(query, params)
        except Exception:  # noqa: BLE001 - a counter must never fail a callback
            _logger.warning("WeCom callback %s: could not update its counters", self.id, exc_info=True)
