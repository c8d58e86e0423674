import logging
from contextlib import contextmanager

import requests
from psycopg2 import errorcodes

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.translate import LazyTranslate

from .. import compat, const
from ..lib import (
    WeComApiError,
    WeComClient,
    WeComConfigError,
    WeComDataError,
    WeComError,
    WeComNetworkError,
    WeComResponseError,
    check_base_url,
    errcode_info,
    errcodes,
    error_from_response,
    redact,
)
from ..tools import short_transaction

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

LOG_NAME = "wecom_base"

# Concurrency errors are retried by Odoo itself: they are not failures worth a persistent log entry.
_CONCURRENCY_PGCODES = frozenset(
    {errorcodes.SERIALIZATION_FAILURE, errorcodes.DEADLOCK_DETECTED, errorcodes.LOCK_NOT_AVAILABLE}
)

# What to do about each errcode, in plain words for an admin: one translated text per guidance key of the
# errcode table (lib/errcodes.py, which decides everything else about a code). ``%(ip)s`` is the server IP
# that WeCom saw, when it says one.
ERROR_MESSAGES = {
    "busy": _lt("WeCom is busy. Try again in a moment."),
    "api_freq_limit": _lt("WeCom's API frequency limit was reached. Try again in a minute."),
    "concurrency_limit": _lt("Too many concurrent calls to WeCom. Try again shortly."),
    "token_invalid": _lt("The access token is invalid. A new token will be fetched."),
    "token_missing": _lt("The access token is missing."),
    "token_expired": _lt("The access token expired. A new token will be fetched."),
    "secret_invalid": _lt(
        "The application secret is invalid. Copy the secret again from the WeCom admin console "
        "(Applications > the application > Secret) and save it on the application."
    ),
    "corpid_invalid": _lt(
        "The CorpID is invalid. Copy it from the WeCom admin console (My Company > Company Information) "
        "into the company's WeCom CorpID."
    ),
    "agentid_mismatch": _lt(
        "The agent id does not belong to the application of this secret. Check the application's AgentId."
    ),
    "secret_reset": _lt("The secret is invalid or was reset. Copy the current secret from the WeCom admin console."),
    "secret_missing": _lt("The application secret is missing. Enter it on the application."),
    "api_forbidden": _lt(
        "This API is not allowed for the application. Grant the permission in the WeCom admin console "
        "(Applications > the application > API permissions)."
    ),
    "api_forbidden_ip": _lt(
        "WeCom closed this API to calls from this server's IP address. Add the server's public IP to the trusted "
        "IPs of the application in the WeCom admin console (Applications > the application > Trusted IP)."
    ),
    "no_privilege": _lt(
        "The application may not see these members, departments or tags. Widen its visible range in the "
        "WeCom admin console."
    ),
    "ip_not_allowed": _lt(
        "WeCom refused the call from this server's IP address %(ip)s. Add %(ip)s to the trusted IPs of the "
        "application in the WeCom admin console (Applications > the application > Trusted IP)."
    ),
    "robot_key_invalid": _lt(
        "The group robot's webhook key is invalid. Copy the robot's webhook URL again from the group chat "
        "(group settings > group robots)."
    ),
    "msgtype_invalid": _lt("The message type is not valid."),
    "content_empty": _lt("The message content is empty."),
    "content_too_long": _lt("The message content is too long."),
    "recipients_invalid": _lt("None of the recipients is valid or visible to the application."),
    "recipients_missing": _lt("No recipient was given."),
}


class WeComBase(models.AbstractModel):
    """Helpers shared by every WeCom model.

    Inherit it (``_inherit = ["wecom.base"]`` for a new model) to get error logging, error-safe
    ``create``/``write``, the WeCom configuration, response normalisation, translated errors and
    :meth:`_wecom_call` — without building a client yourself.
    """

    _name = "wecom.base"
    # the fields of a subclass that hold its company and its application (hooks above read them)
    _wecom_company_field = None
    _wecom_application_field = None
    _description = "WeCom Base"

    active = fields.Boolean(default=True)

    # ------------------------------------------------------------------ logging
    # Server code only (@compat.private): over XML-RPC/JSON-RPC nobody, not even a WeCom user or a manager, may
    # write entries in the log an admin trusts; Python callers (any addon's code) keep the public name.
    @compat.private
    def log_error(self, message, level="error", func=None):
        """Log an error on the server log and keep a persistent record an admin can browse.

        The record (``ir.logging``, shown under WeCom > Technical > Logs) is written in its own
        transaction, so it survives the rollback of the failing operation. Secrets in URLs are masked.
        Callable from Python only: RPC refuses it like a private method.

        :param str message: what went wrong, in plain words
        :param str level: ``error``, ``warning`` or ``info``
        :param str func: the operation that failed (defaults to ``log_error``)
        :return: True
        """
        self.browse().check_access("read")
        message = redact(message)
        level = (level or "error").lower()
        ids = ",".join(str(record_id) for record_id in self.ids)
        _logger.log(
            logging.getLevelName(level.upper()) if level.upper() in ("ERROR", "WARNING", "INFO") else logging.ERROR,
            "%s(%s): %s",
            self._name,
            ids,
            message,
        )
        self._wecom_persist_log(message, level.upper(), func or "log_error", ids)
        return True

    def _wecom_note_failure(self, message, func):
        """Keep a failure people already see (a button's error, a failed message) in *WeCom > Configuration >
        Logs* too, as a warning: the server log gets an INFO line only, since nothing went wrong with Odoo."""
        message = redact(message)
        ids = ",".join(str(record_id) for record_id in self.ids[:100])
        _logger.info("%s(%s): %s", self._name, ids, message)
        self._wecom_persist_log(message, "WARNING", func, ids)

    def _wecom_persist_log(self, message, level, func, line):
        try:
            with short_transaction(self.env) as cr:
                cr.execute(
                    """
                    INSERT INTO ir_logging (create_date, create_uid, type, dbname, name, level, message,
                                            path, func, line)
                    VALUES (NOW() AT TIME ZONE 'UTC', %s, 'server', %s, %s, %s, %s, %s, %s, %s)
                    """,
                    (self.env.uid, self.env.cr.dbname, LOG_NAME, level, message, self._name, func, line or "-"),
                )
        except Exception:  # a failing log must never hide the original error
            _logger.exception("Could not store a WeCom log entry")

    # ------------------------------------------------------------------ error-safe create / write
    def _wecom_log_failure(self, operation, exc, field_names):
        if getattr(exc, "pgcode", None) in _CONCURRENCY_PGCODES:
            return
        level = "warning" if isinstance(exc, UserError) else "error"
        # plain English on purpose: the failed transaction may not be able to read translations
        message = "{} of {} failed (fields: {}): {}".format(
            operation,
            self._name,
            ", ".join(sorted(field_names)) or "-",
            redact(str(exc), self._wecom_known_secrets_safe()),
        )
        self.sudo().log_error(message, level=level, func=operation)

    def _wecom_known_secrets(self):
        """Literal secret values of these records, masked in log lines (override to add yours)."""
        return ()

    def _wecom_known_secrets_safe(self):
        try:
            return self._wecom_known_secrets()
        except Exception:  # noqa: BLE001 - the transaction may be aborted: URL secrets are still masked
            return ()

    @api.model
    def _wecom_clean_vals(self, vals):
        """Normalise the values of a create or write before they are stored (override and return ``vals``,
        a copy the override may change). A ValidationError raised here refuses the values."""
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._wecom_clean_vals(dict(vals)) for vals in vals_list]
        try:
            return super().create(vals_list)
        except Exception as exc:
            self._wecom_log_failure("create", exc, {name for vals in vals_list for name in vals})
            raise

    def write(self, vals):
        vals = self._wecom_clean_vals(dict(vals))
        try:
            return super().write(vals)
        except Exception as exc:
            self._wecom_log_failure("write", exc, set(vals))
            raise

    # ------------------------------------------------------------------ configuration
    @api.model
    def _wecom_api_settings(self):
        """Base URL and timeout from the system parameters, validated.

        :raise UserError: when the configured base URL or timeout is not usable
        """
        icp = self.env["ir.config_parameter"].sudo()
        base_url = icp.get_param(const.PARAM_API_BASE_URL) or const.DEFAULT_API_BASE_URL
        try:
            base_url = check_base_url(base_url)
        except ValueError:
            raise UserError(
                _(
                    "The WeCom API base URL %(url)r is not an http(s) URL. Fix it in Settings > WeCom "
                    "(system parameter %(param)s).",
                    url=base_url,
                    param=const.PARAM_API_BASE_URL,
                )
            ) from None
        raw_timeout = icp.get_param(const.PARAM_TIMEOUT) or const.DEFAULT_TIMEOUT
        try:
            timeout = float(raw_timeout)
            if timeout <= 0:
                raise ValueError
        except (TypeError, ValueError):
            raise UserError(
                _(
                    "The WeCom timeout %(value)r is not a positive number of seconds. Fix it in Settings > WeCom.",
                    value=raw_timeout,
                )
            ) from None
        return base_url, timeout

    @api.model
    def _wecom_client(self):
        """A :class:`WeComClient` configured from the system parameters (shared HTTP session)."""
        base_url, timeout = self._wecom_api_settings()
        return WeComClient(base_url=base_url, timeout=timeout)

    def _wecom_company(self):
        """Hook: the company whose WeCom configuration applies to these records: the record's
        ``_wecom_company_field``, else the environment's company."""
        if self._wecom_company_field and len(self) == 1 and self[self._wecom_company_field]:
            return self[self._wecom_company_field]
        return self.env.company

    def _wecom_default_application(self):
        """Hook: the application that calls WeCom for one record when the caller names none: the record's
        ``_wecom_application_field`` (``wecom.application`` returns itself); none by default."""
        if self._wecom_application_field:
            return self[self._wecom_application_field]
        return self.env["wecom.application"]

    def get_wecom_config(self):
        """The WeCom configuration that applies to these records.

        :return: ``corp_id``, ``base_url``, ``timeout`` and ``company_id``; a WeCom application adds
            ``application_id`` and ``agent_id``, and ``secret`` for sudo or WeCom manager callers only.
        :rtype: dict
        """
        self.browse().check_access("read")
        company = self._wecom_company()
        base_url, timeout = self._wecom_api_settings()
        return {
            "corp_id": company.sudo().wecom_corp_id or False,
            "company_id": company.id,
            "base_url": base_url,
            "timeout": timeout,
        }

    # ------------------------------------------------------------------ responses and errors
    @api.model
    @compat.private
    def format_wecom_response(self, response):
        """Normalise a WeCom answer into ``{"ok", "errcode", "errmsg", "data"}``.

        :param response: a decoded answer (dict), a ``requests.Response``, or a
            :class:`~odoo.addons.wecom_base.lib.WeComError`
        :return: ``ok`` (bool), ``errcode`` (int, -1 when WeCom gave none), ``errmsg`` (str) and ``data``
            (the other keys of the answer; an access token is never included)
        :rtype: dict
        """
        if isinstance(response, WeComApiError):
            data = response.response
        elif isinstance(response, WeComError):
            return {"ok": False, "errcode": -1, "errmsg": response.message, "data": {}}
        elif isinstance(response, requests.Response):
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return {
                    "ok": False,
                    "errcode": -1,
                    "errmsg": _("HTTP %(status)s without a WeCom answer", status=response.status_code),
                    "data": {},
                }
        elif isinstance(response, dict):
            data = response
        else:
            raise ValidationError(_("A WeCom response must be a dict, got %(type)s.", type=type(response).__name__))
        errcode = data.get("errcode", const.ERRCODE_OK)
        if not isinstance(errcode, int):
            errcode = -1
        return {
            "ok": errcode == const.ERRCODE_OK,
            "errcode": errcode,
            "errmsg": redact(data.get("errmsg") or ("ok" if errcode == const.ERRCODE_OK else "")),
            "data": {k: v for k, v in data.items() if k not in ("errcode", "errmsg", "access_token")},
        }

    @api.model
    def _wecom_error_message(self, error):
        """A translated, secret-free sentence explaining ``error`` to an admin, with what to do."""
        if isinstance(error, WeComApiError):
            guidance = ERROR_MESSAGES.get(errcode_info(error.errcode).guidance)
            if guidance:
                ip = (error.caller_ip if isinstance(error, WeComConfigError) else None) or _("unknown")
                return _(
                    "WeCom error %(code)s: %(guidance)s (WeCom said: %(errmsg)s)",
                    code=error.errcode,
                    guidance=str(guidance) % {"ip": ip},
                    errmsg=error.errmsg,
                )
            return _(
                "WeCom refused the request with error %(code)s: %(errmsg)s", code=error.errcode, errmsg=error.errmsg
            )
        if isinstance(error, WeComNetworkError):
            return _(
                "WeCom could not be reached or failed (%(detail)s). Check this server's network access and the "
                "WeCom API base URL in Settings > WeCom, then try again.",
                detail=error.message,
            )
        if isinstance(error, WeComDataError):
            return _("WeCom sent data that cannot be used: %(detail)s", detail=error.message)
        if isinstance(error, WeComResponseError):
            return _(
                "The WeCom API base URL does not point at WeCom: %(detail)s Fix it in Settings > WeCom.",
                detail=error.message,
            )
        return redact(str(error))

    @api.model
    @compat.private
    def handle_wecom_error(self, error):
        """Raise the translated Odoo error that matches a WeCom error.

        Errcodes of kind ``validation`` in the errcode table (content or recipients: 40008, 44004, 45002,
        81013, 82001) raise ``ValidationError``: the user must change the request. Everything else raises
        ``UserError`` with the meaning and guidance.

        :param error: a :class:`WeComError`, an errcode (int) or a WeCom answer (dict)
        :raise ValidationError: the request content must change
        :raise UserError: anything else
        """
        if isinstance(error, bool) or not isinstance(error, (int, dict, WeComError)):
            raise UserError(redact(str(error)))
        # Only what WeCom answered is kept in the Logs: an RPC caller can pass an errcode or a made-up answer (JSON
        # gives no WeComError), and must not write what an admin reads there (log_error is not callable by RPC).
        met_by_a_call = isinstance(error, WeComError)
        if isinstance(error, int):
            error = error_from_response({"errcode": error, "errmsg": ""})
        elif isinstance(error, dict):
            errcode = error.get("errcode", const.ERRCODE_OK)
            if errcode == const.ERRCODE_OK or not isinstance(errcode, int):
                raise ValidationError(_("This WeCom answer is not an error."))
            error = error_from_response(error)
        message = self._wecom_error_message(error)
        if met_by_a_call:
            self._wecom_note_failure(message, "handle_wecom_error")
        if isinstance(error, WeComApiError) and errcode_info(error.errcode).kind == errcodes.VALIDATION:
            raise ValidationError(message)
        raise UserError(message)

    # ------------------------------------------------------------------ calling WeCom
    def _wecom_get_application(self, application=None):
        """The application whose token authenticates calls made for these records.

        :param application: a ``wecom.application`` record or id; defaults to the record's
            ``application_id`` (or the record itself for an application)
        :raise UserError: when no single application can be found
        """
        if application is None and len(self) == 1:
            application = self._wecom_default_application()
        application = self._wecom_record("wecom.application", application)
        if not application:
            raise UserError(_("Choose one WeCom application to call WeCom with."))
        return application

    @api.model
    def _wecom_record(self, model_name, value):
        """``value`` as one record of ``model_name``: the one place that accepts "a record or its id".

        :param str model_name: e.g. ``wecom.application``, ``wecom.robot``
        :param value: a record of ``model_name`` or its id
        :return: the record (an id is browsed in this environment), or an empty recordset of ``model_name``
            when ``value`` is neither: False or None, a bool, a record of another model, several records, or
            an id that does not exist
        """
        if isinstance(value, int) and not isinstance(value, bool):
            return self.env[model_name].browse(value).exists()
        if isinstance(value, models.BaseModel) and value._name == model_name and len(value) == 1:
            return value
        return self.env[model_name]

    def _wecom_call(self, path, payload=None, method="POST", params=None, files=None, application=None):
        """Call a WeCom API with an application's access token; no client setup needed.

        The token comes from the application's cache; when WeCom answers that it is invalid or expired
        (40014, 42001, 41001) the token is renewed once and the call replayed once.

        :param str path: API path, e.g. ``/cgi-bin/message/send``
        :param dict payload: JSON body (POST)
        :param str method: ``POST`` or ``GET``
        :param dict params: extra query parameters (``access_token`` is added)
        :param dict files: multipart files
        :param application: ``wecom.application`` record or id (see :meth:`_wecom_get_application`)
        :return: WeCom's decoded answer (errcode 0)
        :rtype: dict
        :raise WeComError: the call failed; interactive callers pass it to :meth:`handle_wecom_error`
        """
        app = self._wecom_get_application(application)
        return app._wecom_with_token(
            lambda client, token: client.call(path, token, payload=payload, method=method, params=params, files=files)
        )

    @contextmanager
    def _wecom_error_as_user_error(self):
        """Turn a WeCom error raised inside the block into a translated user error."""
        try:
            yield
        except WeComError as exc:
            self.handle_wecom_error(exc)
