from odoo import _, models

SOURCE_XMLID = "wecom_crm_lead.utm_source_wecom"


class WeComExternalFollow(models.Model):
    _inherit = "wecom.external.follow"

    def _wecom_followed_new(self):
        """A lead for each salesperson who just added a customer, when their company creates leads from WeCom
        customers: source *WeCom*, linked to the partner; never a second one for the same customer and
        salesperson (a lead of the customer's partner, that salesperson and source *WeCom*, archived and lost leads
        included, blocks another)."""
        result = super()._wecom_followed_new()
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False, mail_create_nosubscribe=True)
        source = self.env.ref(SOURCE_XMLID, raise_if_not_found=False)
        created = Lead.browse()
        for follow in self.sudo().filtered(lambda f: f.user_id and f.contact_id.active and f.contact_id.partner_id):
            company = follow.contact_id.company_id
            if not company.wecom_crm_create_leads or not source:
                continue
            # the customer's partner stands for the customer (one partner per external_userid)
            if Lead.search_count(
                [
                    ("partner_id", "=", follow.contact_id.partner_id.id),
                    ("user_id", "=", follow.user_id.id),
                    ("source_id", "=", source.id),
                ],
                limit=1,
            ):
                continue
            contact = follow.contact_id
            created |= Lead.with_company(company).create(
                {
                    "name": _("WeCom: %(customer)s", customer=follow.remark or contact.name),
                    "partner_id": contact.partner_id.id,
                    "user_id": follow.user_id.id,
                    "company_id": company.id,
                    "source_id": source.id,
                    "description": follow.description or False,
                }
            )
        if created:
            note = _("%(count)s lead(s) created", count=len(created))
            return f"{result}; {note}" if result else note
        return result
