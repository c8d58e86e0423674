import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# CorpIDs look like "ww" + 16 hex digits; older ones start with "wx". Stay lenient on the exact form but
# refuse what cannot be one (spaces, punctuation, pasted URLs).
CORP_ID_RE = re.compile(r"^[A-Za-z0-9]{6,64}$")


class ResCompany(models.Model):
    _inherit = "res.company"

    wecom_corp_id = fields.Char(
        string="WeCom CorpID",
        help="The company's CorpID, from the WeCom admin console: My Company > Company Information.",
    )
    wecom_archive_exited_users = fields.Boolean(
        string="Archive Users Who Exit WeCom",
        help="When a WeCom member exits the company, archive the Odoo user linked to it (it is always unlinked).",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if isinstance(vals.get("wecom_corp_id"), str):
                vals["wecom_corp_id"] = vals["wecom_corp_id"].strip() or False
        return super().create(vals_list)

    def write(self, vals):
        if isinstance(vals.get("wecom_corp_id"), str):
            vals["wecom_corp_id"] = vals["wecom_corp_id"].strip() or False
        result = super().write(vals)
        if "wecom_corp_id" in vals:
            applications = (
                self.env["wecom.application"]
                .sudo()
                .with_context(active_test=False)
                .search([("company_id", "in", self.ids)])
            )
            applications._wecom_forget_token()
        return result

    @api.constrains("wecom_corp_id")
    def _check_wecom_corp_id(self):
        for company in self:
            if company.wecom_corp_id and not CORP_ID_RE.match(company.wecom_corp_id):
                raise ValidationError(
                    _(
                        "The WeCom CorpID %(corp_id)r of %(company)s is not valid: copy it from the WeCom admin "
                        "console (My Company > Company Information); it looks like ww0123456789abcdef.",
                        corp_id=company.wecom_corp_id,
                        company=company.name,
                    )
                )
