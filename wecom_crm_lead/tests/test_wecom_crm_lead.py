"""wecom_crm_lead: a customer a salesperson adds in WeCom becomes one lead for that salesperson."""

from odoo.tests import HttpCase, tagged

from odoo.addons.wecom_crm.tests.common import TAG_GROUPS, CustomerCallbackMixin

CAROL = {
    "external_userid": "wmCarol",
    "name": "Carol",
    "follow_user": [{"userid": "sales002", "createtime": 1700001000, "remark": "Carol L.", "description": "Wants 5"}],
}


@tagged("post_install", "-at_install")
class TestWeComCrmLead(CustomerCallbackMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.mock.set_crm([CAROL], TAG_GROUPS)

    def leads(self):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("partner_id.wecom_external_userid", "=", "wmCarol")])
        )

    def test_add_creates_one_lead_for_the_salesperson(self):
        event = self.customer_event("add_external_contact", "wmCarol", "sales002", WelcomeCode="w1")
        lead = self.leads()
        self.assertEqual(len(lead), 1, event.result)
        self.assertEqual(lead.user_id, self.sales["sales002"])
        self.assertEqual(lead.partner_id, self.partner("wmCarol"))
        self.assertEqual(lead.source_id, self.env.ref("wecom_crm_lead.utm_source_wecom"))
        self.assertEqual(lead.name, "WeCom: Carol L.")
        self.assertIn("lead", event.result)
        # WeCom sends it again (a new delivery), the salesperson deletes and re-adds the customer: still one lead
        self.customer_event("add_external_contact", "wmCarol", "sales002", WelcomeCode="w2")
        lead.action_set_lost()
        self.customer_event("del_external_contact", "wmCarol", "sales002")
        self.customer_event("add_external_contact", "wmCarol", "sales002", WelcomeCode="w3")
        self.assertEqual(len(self.leads()), 1, "once per customer and salesperson")

    def test_another_salesperson_gets_their_own_lead(self):
        self.customer_event("add_external_contact", "wmCarol", "sales002")
        self.mock.change_crm(follows=[{"external_userid": "wmCarol", "userid": "sales003", "createtime": 1700002000}])
        self.customer_event("add_external_contact", "wmCarol", "sales003")
        self.assertEqual(self.leads().user_id, self.sales["sales002"] | self.sales["sales003"])

    def test_no_lead_when_the_company_setting_is_off_or_from_a_full_sync(self):
        self.app._wecom_sync_external_contacts()
        self.assertFalse(self.leads(), "the full sync mirrors, it creates no leads")
        self.company.wecom_crm_create_leads = False
        self.customer_event("add_external_contact", "wmCarol", "sales002")
        self.assertFalse(self.leads())
        self.assertTrue(self.partner("wmCarol"), "the customer is mirrored all the same")
