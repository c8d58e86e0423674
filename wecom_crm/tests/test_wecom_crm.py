"""wecom_crm: the full customer sync (mirror and partners), compare-before-write, failures and permissions."""

from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from odoo.addons.wecom_base.lib import WeComError
from odoo.addons.wecom_base.tests.common import WeComMockMixin

from .common import SALESPEOPLE, TAG_GROUPS, CustomerMixin

ALICE = {
    "external_userid": "wmAlice",
    "name": "Alice",
    "type": 1,
    "follow_user": [
        {
            "userid": "sales002",
            "remark": "Alice W.",
            "description": "Met at the fair",
            "createtime": 1700000000,
            "tag_id": ["t1", "t3"],
            "remark_mobiles": ["13900000001"],
            "add_way": 1,
        },
        {"userid": "sales001", "createtime": 1700000500, "tag_id": ["t2"]},
    ],
}
BOB = {
    "external_userid": "wmBob",
    "name": "Bob",
    "type": 2,
    "corp_name": "Acme",
    "corp_full_name": "Acme Trading Co.",
    "position": "Buyer",
    "follow_user": [{"userid": "sales003", "createtime": 1700000200}],
}


@tagged("post_install", "-at_install")
class TestWeComCrmSync(CustomerMixin, WeComMockMixin, TransactionCase):
    def test_300_customers_of_three_salespeople_become_partners(self):
        self.mock.generate_crm(customers=300, follow_users=3, seed=3)
        snapshot = {c["external_userid"]: c for c in self.mock.crm()["customers"]}
        with self.assertCustomerCalls(get_follow_user_list=1, get_corp_tag_list=1, get=0, batch=4):
            stats = self.app._wecom_sync_external_contacts()  # ~330 follows of 3 members: 4 pages of 100
        self.assertEqual((stats["contacts"]["created"], stats["partners"]["created"]), (300, 300))
        partners = self.env["res.partner"].search([("wecom_external_userid", "like", "wm%")])
        self.assertEqual(len(partners), 300)
        root = self.env.ref("wecom_crm.partner_category_wecom")
        for partner in partners:
            customer = snapshot[partner.wecom_external_userid]
            first = min(customer["follow_user"], key=lambda f: f["createtime"])
            self.assertEqual(partner.user_id, self.sales[first["userid"]], "the salesperson who added them first")
            tags = {t for f in customer["follow_user"] for t in f["tag_id"]}
            expected = {f"Tag {t[2]}.{t[4]}" for t in tags}
            self.assertEqual(set(partner.category_id.mapped("name")), expected)
            self.assertTrue(all(c.parent_id.parent_id == root for c in partner.category_id), "WeCom / group / tag")
            if customer["type"] == 2:
                self.assertEqual(partner.parent_id.name, customer["corp_full_name"])
                self.assertTrue(partner.parent_id.is_company)
        self.assertEqual(self.app.customer_count, 300)

    def test_second_sync_of_unchanged_customers_writes_nothing(self):
        self.mock.set_crm([ALICE, BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        with self.assertNoWrites("an unchanged customer list writes nothing, partners included"):
            stats = self.app._wecom_sync_external_contacts()
        self.assertFalse(stats["changed"])

    def test_partner_values(self):
        self.mock.set_crm([ALICE, BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        alice = self.partner("wmAlice")
        self.assertEqual(alice.name, "Alice")
        self.assertEqual(alice.user_id, self.sales["sales002"], "sales002 added her first, sales001 later")
        self.assertEqual(alice.phone, "13900000001")
        self.assertIn("Met at the fair", alice.comment)
        self.assertEqual(set(alice.category_id.mapped("name")), {"VIP", "East", "New"})
        contact = self.contact("wmAlice")
        self.assertEqual(contact.partner_id, alice)
        self.assertEqual(contact.salesperson_ids, self.sales["sales001"] | self.sales["sales002"])
        follow = contact.follow_ids.filtered(lambda f: f.userid == "sales002")
        self.assertEqual((follow.remark, follow.add_way, follow.user_id), ("Alice W.", "1", self.sales["sales002"]))
        self.assertEqual(follow.tag_ids.mapped("tag_id"), ["t1", "t3"])
        bob = self.partner("wmBob")
        self.assertEqual((bob.parent_id.name, bob.function), ("Acme Trading Co.", "Buyer"))
        self.assertEqual(self.contact("wmBob").type, "wecom")

    def test_existing_partner_is_found_and_what_users_typed_is_kept(self):
        typed = self.env["res.partner"].create(
            {"name": "Alice (typed)", "phone": "+86 10 1234", "wecom_external_userid": "wmAlice"}
        )
        self.mock.set_crm([ALICE], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        self.assertEqual(self.contact("wmAlice").partner_id, typed, "found by its external_userid")
        self.assertEqual((typed.name, typed.phone), ("Alice (typed)", "+86 10 1234"), "never overwritten")
        self.assertTrue(typed.user_id, "an empty salesperson is filled")
        other = self.env["res.partner.category"].create({"name": "Key account"})
        typed.category_id = [(4, other.id)]
        self.mock.change_crm(follows=[{"external_userid": "wmAlice", "userid": "sales002", "tag_id": ["t1"]}])
        self.app._wecom_sync_external_contacts()
        self.assertEqual(set(typed.category_id.mapped("name")), {"VIP", "New", "Key account"}, "own tags kept")

    def test_changes_follow_and_gone_customers_are_archived(self):
        self.mock.set_crm([ALICE, BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        self.mock.change_crm(
            customers=[{"external_userid": "wmAlice", "name": "Alice Wang"}],
            tag_groups=[{"group_id": "g1", "tag": [{"id": "t1", "name": "Gold"}, {"id": "t2", "name": "New"}]}],
            delete_follows=[["wmAlice", "sales002"]],
            delete_customers=["wmBob"],
        )
        stats = self.app._wecom_sync_external_contacts()
        self.assertTrue(stats["changed"])
        alice = self.partner("wmAlice")
        self.assertEqual(alice.name, "Alice Wang", "an untouched name follows WeCom")
        self.assertEqual(self.contact("wmAlice").follow_ids.mapped("userid"), ["sales001"])
        self.assertEqual(alice.user_id, self.sales["sales001"], "the salesperson left: the remaining follower")
        self.assertEqual(set(alice.category_id.mapped("name")), {"New"}, "only sales001's tag remains")
        self.assertEqual(self.env["wecom.external.tag"].search([("tag_id", "=", "t1")]).category_id.name, "Gold")
        bob = self.contact("wmBob")
        self.assertFalse(bob.active, "no longer followed: archived")
        self.assertFalse(bob.follow_ids)
        self.assertTrue(bob.partner_id.active, "the partner stays")

    def test_failed_page_leaves_the_mirror_as_it_was(self):
        self.mock.generate_crm(customers=250, follow_users=3, seed=1)
        self.app._wecom_sync_external_contacts()
        self.mock.change_crm(customers=[{"external_userid": "wm0000001", "name": "Renamed"}])
        self.mock.add_fault(path="/cgi-bin/externalcontact/batch/get_by_user", errcode=48002, after=1)
        with self.assertNoWrites("a failed page writes nothing"), self.assertRaises(WeComError):
            self.app._wecom_sync_external_contacts()
        self.assertEqual(self.contact("wm0000001").name, "Customer 00001")
        self.mock.add_fault(path="/cgi-bin/externalcontact/batch/get_by_user", errcode=48002)
        with self.assertRaises(UserError):
            self.app.action_sync_external_contacts()
        self.app._wecom_sync_external_contacts()
        self.assertEqual(self.contact("wm0000001").name, "Renamed")

    def test_cron_syncs_and_records_failures(self):
        self.mock.set_crm([ALICE], TAG_GROUPS)
        self.assertEqual(self.env["wecom.application"]._cron_sync_external_contacts(), 0)
        self.assertTrue(self.contact("wmAlice"))
        self.assertTrue(self.app.customer_sync_summary)
        self.mock.add_fault(path="/cgi-bin/externalcontact/get_follow_user_list", errcode=48002)
        with self.assertWeComWarning("Customer sync failed"):
            self.assertEqual(self.env["wecom.application"]._cron_sync_external_contacts(), 1)
        self.assertTrue(self.app.last_error)

    def test_salespeople_see_the_customers_they_follow(self):
        self.mock.set_crm([ALICE, BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        Contact = self.env["wecom.external.contact"]
        seen = Contact.with_user(self.sales["sales001"]).search([]).mapped("external_userid")
        self.assertEqual(seen, ["wmAlice"])
        follows = self.env["wecom.external.follow"].with_user(self.sales["sales001"]).search([])
        self.assertEqual(set(follows.mapped("userid")), {"sales001", "sales002"}, "the customer's other followers")
        manager = new_test_user(self.env, login="crm_manager", groups="base.group_user,sales_team.group_sale_manager")
        self.assertEqual(len(Contact.with_user(manager).search([])), 2, "sales managers see all")
        plain = new_test_user(self.env, login="crm_plain", groups="base.group_user")
        with self.assertRaises(Exception):  # noqa: B017 - AccessError, whatever the series calls it
            Contact.with_user(plain).search([])

    def test_smart_buttons(self):
        self.mock.set_crm([ALICE], TAG_GROUPS)
        self.env["wecom.member"].create({"userid": "sales001", "name": "Sales One", "company_id": self.company.id})
        self.app._wecom_sync_external_contacts()
        alice = self.partner("wmAlice")
        self.assertEqual(alice.wecom_external_contact_count, 1)
        action = alice.action_view_wecom_external_contacts()
        self.assertEqual(self.env["wecom.external.contact"].search(action["domain"]), self.contact("wmAlice"))
        member = self.env["wecom.member"].search([("userid", "=", "sales001")])
        self.assertEqual(member.external_contact_count, 1)
        self.assertEqual(
            self.env["wecom.external.contact"].search(member.action_view_external_contacts()["domain"]),
            self.contact("wmAlice"),
        )
        self.assertEqual(set(self.sales), set(SALESPEOPLE))

    def test_refresh_button_company_partner_reuse_and_one_app_per_company(self):
        acme = self.env["res.partner"].create({"name": "Acme Trading Co.", "is_company": True})
        self.mock.set_crm([BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        self.assertEqual(self.partner("wmBob").parent_id, acme, "an existing company partner is reused")
        self.mock.change_crm(customers=[{"external_userid": "wmBob", "position": "Head of Purchasing"}])
        with self.assertCustomerCalls(get=1, batch=0):
            self.contact("wmBob").action_refresh()
        self.assertEqual(self.contact("wmBob").position, "Head of Purchasing")
        self.assertEqual(self.partner("wmBob").function, "Buyer", "a filled job position is never overwritten")
        with self.assertWeComWarning("already syncs the customers"), self.assertRaises(ValidationError):
            self.env["wecom.application"].create(
                {
                    "app_name": "Second",
                    "agent_id": 1000099,
                    "secret": "another-secret",
                    "company_id": self.company.id,
                    "customer_sync": True,
                }
            )

    def test_wecom_users_see_their_customers_only(self):
        self.mock.set_crm([ALICE, BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()
        wecom_user = new_test_user(
            self.env, login="crm_wecom_user", groups="base.group_user,wecom_base.group_wecom_user"
        )
        self.assertFalse(self.env["wecom.external.contact"].with_user(wecom_user).search([]))
        wecom_user.wecom_userid = "sales004"
        self.mock.change_crm(follows=[{"external_userid": "wmBob", "userid": "sales004", "createtime": 1700009000}])
        self.app._wecom_sync_external_contacts()
        self.assertEqual(
            self.env["wecom.external.contact"].with_user(wecom_user).search([]).mapped("external_userid"), ["wmBob"]
        )
        self.assertEqual(self.partner("wmBob").user_id, self.sales["sales003"], "still the first follower's")
