from odoo import fields, models

from .. import compat


class WeComApplicationSetting(models.Model):
    """A key/value setting of one application, for addons that need per-application parameters."""

    _name = "wecom.application.setting"
    _description = "WeCom Application Setting"
    _order = "application_id, key"

    application_id = fields.Many2one("wecom.application", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="application_id.company_id", store=True)
    key = fields.Char(required=True)
    value = fields.Char()
    description = fields.Char()

    locals().update(
        compat.sql_constraints(
            key_uniq=("unique(application_id, key)", "A setting key can be used once per application."),
        )
    )
