from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.wecom_base.lib import WeComError


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
        """Button: read the application from WeCom (its trusted domain), build both login URLs and say
        plainly whether WeCom will send users back here."""
        self.ensure_one()
        app = self._wecom_auth_check()[0]
        if not app:
            raise UserError(self._wecom_auth_check()[1])
        try:
            app.with_context(wecom_quiet_refresh=True).refresh_app_info()
        except (UserError, WeComError) as exc:
            raise UserError(_("WeCom login cannot be tested: %(error)s", error=str(exc))) from None
        problem = app._wecom_auth_domain_problem()
        sample_state = "TEST"  # not a usable state: a login with it is refused
        message = _(
            "Web login page: %(web)s — inside the WeCom client: %(client)s",
            web=app._wecom_auth_url(sample_state, in_client=False),
            client=app._wecom_auth_url(sample_state, in_client=True),
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": problem or _("WeCom login is ready"),
                "message": message,
                "type": "warning" if problem else "success",
                "sticky": True,
                # the status above the button reads the trusted domain WeCom just gave
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
