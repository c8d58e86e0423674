from odoo import api, fields, models

from odoo.addons.wecom_base.compat import create_unique_index

ROOT_CATEGORY_XMLID = "wecom_crm.partner_category_wecom"


class WeComExternalTag(models.Model):
    """A customer tag of the company, with its group, as ``externalcontact/get_corp_tag_list``
    gives them. Each tag is followed by a partner category: *WeCom / <group> / <tag>*."""

    _name = "wecom.external.tag"
    _description = "WeCom Customer Tag"
    _order = "group_order desc, group_name, order desc, name"

    tag_id = fields.Char(string="Tag ID", required=True, readonly=True, index=True)
    name = fields.Char(required=True, readonly=True)
    order = fields.Integer(string="Sequence", readonly=True)
    group_id = fields.Char(string="Group ID", readonly=True, index=True)
    group_name = fields.Char(string="Group", readonly=True)
    group_order = fields.Integer(string="Group Sequence", readonly=True)
    category_id = fields.Many2one(
        "res.partner.category", string="Partner Tag", readonly=True, ondelete="set null", index=True
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    application_id = fields.Many2one("wecom.application", string="Synced By", readonly=True, ondelete="set null")
    active = fields.Boolean(default=True, readonly=True)

    def init(self):
        create_unique_index(self.env.cr, "wecom_external_tag_company_tag_uniq", self._table, ["company_id", "tag_id"])

    @api.depends("group_name", "name")
    def _compute_display_name(self):
        for tag in self:
            tag.display_name = f"{tag.group_name} / {tag.name}" if tag.group_name else tag.name

    @api.model
    def _wecom_root_category(self):
        """The *WeCom* partner category every customer tag category hangs under (created again if deleted)."""
        root = self.env.ref(ROOT_CATEGORY_XMLID, raise_if_not_found=False)
        if root:
            return root.sudo()
        return self.env["res.partner.category"].sudo().create({"name": "WeCom"})

    @api.model
    def _wecom_categories(self, groups):
        """Partner categories of the tag groups and of their tags, created when missing (compared by name under
        their parent, so a category renamed in Odoo is found again by its tag, not duplicated).

        :param dict groups: ``{group name: {tag name, ...}}``
        :return: ``{(group name, tag name): category id}``, and ``{(group name, None): category id}`` per group
        """
        Category = self.env["res.partner.category"].sudo().with_context(active_test=False)
        root = self._wecom_root_category()
        children = {c.name: c for c in Category.search([("parent_id", "=", root.id)])}
        result = {}
        for group_name, tag_names in groups.items():
            group = children.get(group_name) or Category.create({"name": group_name, "parent_id": root.id})
            children[group_name] = group
            result[(group_name, None)] = group.id
            existing = {c.name: c.id for c in Category.search([("parent_id", "=", group.id)])}
            for tag_name in tag_names:
                if tag_name not in existing:
                    existing[tag_name] = Category.create({"name": tag_name, "parent_id": group.id}).id
                result[(group_name, tag_name)] = existing[tag_name]
        return result
