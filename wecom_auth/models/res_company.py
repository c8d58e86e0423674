from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    wecom_auth_application_id = fields.Many2one(
        "wecom.application",
        string="WeCom Login Application",
        domain="[('company_id', '=', id), ('is_active', '=', True)]",
        ondelete="set null",
        help="The WeCom application whose members log in to Odoo. Empty: the company's only enabled application.",
    )
    wecom_auth_auto_login = fields.Boolean(
        string="Silent WeCom Login",
        default=True,
        help="Opened inside the WeCom client, the login page logs the member in with WeCom at once.",
    )

    def _wecom_auth_application(self):
        """The application that logs members of this company in: the one chosen in Settings if it is
        enabled, else the company's only enabled application.

        :return: a ``wecom.application`` (sudo), empty when there is none, the chosen one is disabled, several
            are enabled and none is chosen, or the company has no CorpID
        """
        self.ensure_one()
        company = self.sudo()
        applications = self.env["wecom.application"].sudo()
        if not company.wecom_corp_id:
            return applications
        chosen = company.wecom_auth_application_id
        if chosen:
            return chosen if chosen.is_active and chosen.active else applications
        enabled = applications.search([("company_id", "=", company.id), ("is_active", "=", True)], limit=2)
        return enabled if len(enabled) == 1 else applications

    def _wecom_auth_companies(self):
        """The companies whose members can log in with WeCom (sudo)."""
        companies = self.env["res.company"].sudo().search([("wecom_corp_id", "!=", False)])
        return companies.filtered(lambda company: company._wecom_auth_application())
