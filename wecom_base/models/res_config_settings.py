from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .. import const
from ..lib import check_base_url


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    wecom_corp_id = fields.Char(related="company_id.wecom_corp_id", readonly=False)
    wecom_archive_exited_users = fields.Boolean(related="company_id.wecom_archive_exited_users", readonly=False)
    wecom_api_base_url = fields.Char(
        string="WeCom API Base URL",
        config_parameter=const.PARAM_API_BASE_URL,
        default=const.DEFAULT_API_BASE_URL,
        help="Where WeCom API calls go. Leave the default unless you use a proxy or a test server.",
    )
    wecom_timeout = fields.Integer(
        string="WeCom Timeout (s)",
        config_parameter=const.PARAM_TIMEOUT,
        default=const.DEFAULT_TIMEOUT,
        help="Seconds to wait for WeCom on every call.",
    )

    wecom_retention_days = fields.Integer(
        string="Keep WeCom History (days)",
        config_parameter=const.PARAM_RETENTION_DAYS,
        default=const.RETENTION_DAYS,
        help="Sent messages and processed callback events older than this are deleted every night (0: never).",
    )

    @api.constrains("wecom_retention_days")
    def _check_wecom_retention_days(self):
        for settings in self:
            if settings.wecom_retention_days < 0:
                raise ValidationError(_("Keep WeCom History: the number of days cannot be negative."))

    @api.constrains("wecom_api_base_url", "wecom_timeout")
    def _check_wecom_api(self):
        for settings in self:
            if settings.wecom_api_base_url:
                try:
                    check_base_url(settings.wecom_api_base_url)
                except ValueError:
                    raise ValidationError(
                        _(
                            "The WeCom API base URL must be an http(s) URL, such as %(url)s.",
                            url=const.DEFAULT_API_BASE_URL,
                        )
                    ) from None
            if settings.wecom_timeout is not False and settings.wecom_timeout <= 0:
                raise ValidationError(_("The WeCom timeout must be a positive number of seconds."))
