from odoo import fields, models

from .. import compat


class WeComApplicationCategory(models.Model):
    _name = "wecom.application.category"
    _description = "WeCom Application Category"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(help="Technical code other addons use to find this category.")
    description = fields.Text(translate=True)
    color = fields.Integer()
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)

    locals().update(
        compat.sql_constraints(
            code_uniq=("unique(code)", "The code of an application category must be unique."),
        )
    )
