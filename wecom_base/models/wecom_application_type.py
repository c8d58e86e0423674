from odoo import fields, models

from .. import compat


class WeComApplicationType(models.Model):
    _name = "wecom.application.type"
    _description = "WeCom Application Type"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Technical code other addons use to find this type.")
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)

    locals().update(
        compat.sql_constraints(
            code_uniq=("unique(code)", "The code of an application type must be unique."),
        )
    )
