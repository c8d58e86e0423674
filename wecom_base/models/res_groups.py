from odoo import api, models

from .. import compat


class ResGroups(models.Model):
    _inherit = "res.groups"

    @api.model
    def _wecom_setup_groups(self, category_xmlid, group_xmlids, user_xmlids=()):
        """Data-file entry point (``<function>`` in ``security/wecom_security.xml``): attach the groups to their
        category and give the highest one its users, on 18.0 and 19.0 alike (see :func:`compat.setup_groups`)."""
        compat.setup_groups(self.env, category_xmlid, group_xmlids, user_xmlids)

    @api.model
    def _wecom_restrict(self, record_xmlid, group_xmlids):
        """Data-file entry point: restrict an action or a menu to groups (``groups_id`` / ``group_ids``)."""
        compat.set_groups(self.env.ref(record_xmlid), self.browse([self.env.ref(x).id for x in group_xmlids]))
