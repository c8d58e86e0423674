from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.wecom_base.lib import WeComError
from odoo.addons.wecom_base.tools import notification

from .. import const

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    wecom_auth_application_id = fields.Many2one(
        related="company_id.wecom_auth_application_id",
        readonly=False,
        domain="[('company_id', '=', company_id), ('is_active', '=', True)]",
    )
    wecom_auth_auto_login = fields.Boolean(related="company_id.wecom_auth_auto_login", readonly=False)
    wecom_auth_effective_application_id = fields.Many2one(
        "wecom.application", string="WeCom Login Uses", compute="_compute_wecom_auth_status"
    )
    wecom_auth_redirect_uri = fields.Char(string="WeCom Login Redirect URL", compute="_compute_wecom_auth_status")
    wecom_auth_status = fields.Char(string="WeCom Login Status", compute="_compute_wecom_auth_status")
    wecom_auth_ready = fields.Boolean(string="WeCom Login Ready", compute="_compute_wecom_auth_status")
    # WeCom's two login pages, for a private WeCom deployment or a proxy in front of WeCom; empty: WeCom's own
    wecom_auth_web_login_url = fields.Char(
        string="Web Login Page",
        config_parameter=const.PARAM_WEB_LOGIN_URL,
        help="The page that shows the QR code to scan with the WeCom app. Empty: WeCom's own page. Change it only "
        "for a private WeCom deployment or a proxy in front of WeCom.",
    )
    wecom_auth_oauth_authorize_url = fields.Char(
        string="In-Client Login Page",
        config_parameter=const.PARAM_OAUTH_AUTHORIZE_URL,
        help="The page that logs members in silently inside the WeCom client. Empty: WeCom's own page. Change it "
        "only for a private WeCom deployment or a proxy in front of WeCom.",
    )

    @api.depends("company_id", "wecom_corp_id", "wecom_auth_application_id")
    def _compute_wecom_auth_status(self):
        for settings in self:
            app, problem = settings._wecom_auth_check()
            settings.wecom_auth_effective_application_id = app
            settings.wecom_auth_redirect_uri = self.env["wecom.application"]._wecom_auth_redirect_uri()
            settings.wecom_auth_status = problem or _(
                "Ready: members log in with %(app)s; WeCom sends them back to this database's trusted domain.",
                app=app.app_name,
            )
            settings.wecom_auth_ready = not problem

    def set_values(self):
        for field_name in ("wecom_auth_web_login_url", "wecom_auth_oauth_authorize_url"):
            value = (self[field_name] or "").strip()
            if value:
                self._wecom_auth_check_page_url(field_name, value)
            if value != self[field_name]:
                self[field_name] = value or False
        return super().set_values()

    def _wecom_auth_check_page_url(self, field_name, url):
        """Refuse a login page address the login could not use: it must be absolute, https (plain http only on
        this machine, for a local mock), and carry no query or fragment (the login adds its own)."""
        parts = urlsplit(url)
        label = self._fields[field_name].get_description(self.env)["string"]
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValidationError(
                _(
                    "%(field)s must be a full address such as %(example)s, without ? or #: %(url)r",
                    field=label,
                    example=const.DEFAULT_WEB_LOGIN_URL,
                    url=url,
                )
            )
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            raise ValidationError(
                _("%(field)s must use https (WeCom's pages are only served over https): %(url)r", field=label, url=url)
            )

    def _wecom_auth_check(self):
        """The application a WeCom login of this company would use, and what stops it (a sentence) or False."""
        self.ensure_one()
        company = self.company_id.sudo()
        applications = self.env["wecom.application"].sudo()
        if not (self.wecom_corp_id or company.wecom_corp_id):
            return applications, _("Enter the company's CorpID first.")
        chosen = self.wecom_auth_application_id.sudo()
        if chosen and not chosen.is_active:
            return applications, _("%(app)s is disabled: enable it or choose another application.", app=chosen.app_name)
        app = chosen or company._wecom_auth_application()
        if not app:
            count = applications.search_count([("company_id", "=", company.id), ("is_active", "=", True)])
            if not count:
                return applications, _(
                    "Create and enable a WeCom application of %(company)s first.", company=company.name
                )
            return applications, _(
                "%(company)s has %(count)s enabled applications: choose the one members log in with.",
                company=company.name,
                count=count,
            )
        return app, app._wecom_auth_domain_problem()

    def action_wecom_auth_test(self):
        """Button: read the application from WeCom (its trusted domain) and say in one sentence whether WeCom
        will send members back here, or what stops it."""
        self.ensure_one()
        app = self._wecom_auth_check()[0]
        if not app:
            raise UserError(self._wecom_auth_check()[1])
        try:
            app.with_context(wecom_quiet_refresh=True).refresh_app_info()
        except (UserError, WeComError) as exc:
            raise UserError(_("WeCom login cannot be tested: %(error)s", error=str(exc))) from None
        problem = app._wecom_auth_domain_problem()
        if problem:
            title, message = _("WeCom login is not ready"), problem
        else:
            title = _("WeCom login is ready")
            message = _(
                "%(app)s trusts %(domain)s: WeCom sends members who log in back to %(redirect)s.",
                app=app.app_name,
                domain=app.redirect_domain,
                redirect=app._wecom_auth_redirect_uri(),
            )
        # the status above the button reads the trusted domain WeCom just gave: reload once shown
        return notification(
            message,
            title,
            "warning" if problem else "success",
            sticky=True,
            next_action={"type": "ir.actions.client", "tag": "soft_reload"},
        )
