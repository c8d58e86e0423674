"""wecom_crm: change_external_contact and change_external_tag callbacks through the real controller."""

from odoo.tests import HttpCase, tagged

from .common import TAG_GROUPS, CustomerCallbackMixin
from .test_wecom_crm import ALICE, BOB


@tagged("post_install", "-at_install")
class TestWeComCrmCallbacks(CustomerCallbackMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.mock.set_crm([ALICE, BOB], TAG_GROUPS)
        self.app._wecom_sync_external_contacts()

    def test_edit_updates_name_remark_and_tags(self):
        self.mock.change_crm(
            customers=[{"external_userid": "wmAlice", "name": "Alice Wang"}],
            follows=[{"external_userid": "wmAlice", "userid": "sales002", "remark": "VIP Alice", "tag_id": ["t3"]}],
        )
        with self.assertCustomerCalls(get=1, batch=0):
            event = self.customer_event("edit_external_contact", "wmAlice", "sales002")
        self.assertIn("wmAlice", event.result)
        follow = self.contact("wmAlice").follow_ids.filtered(lambda f: f.userid == "sales002")
        self.assertEqual((follow.remark, follow.tag_ids.mapped("tag_id")), ("VIP Alice", ["t3"]))
        partner = self.partner("wmAlice")
        self.assertEqual(partner.name, "Alice Wang")
        self.assertEqual(set(partner.category_id.mapped("name")), {"East", "New"})

    def test_del_follow_user_keeps_the_partner_and_drops_the_follower(self):
        with self.assertCustomerCalls(get=0):
            self.customer_event("del_follow_user", "wmAlice", "sales002")
        contact = self.contact("wmAlice")
        self.assertEqual(contact.follow_ids.mapped("userid"), ["sales001"])
        self.assertTrue(contact.active)
        partner = self.partner("wmAlice")
        self.assertTrue(partner.active)
        self.assertEqual(partner.user_id, self.sales["sales001"])
        self.customer_event("del_external_contact", "wmBob", "sales003")
        self.assertFalse(self.contact("wmBob").active, "its last follower gone: archived")
        self.assertTrue(self.partner("wmBob").active)

    def test_add_creates_the_customer(self):
        self.mock.change_crm(
            customers=[
                {
                    "external_userid": "wmCarol",
                    "name": "Carol",
                    "follow_user": [{"userid": "sales003", "createtime": 1700001000, "tag_id": ["t1"]}],
                }
            ]
        )
        self.customer_event("add_external_contact", "wmCarol", "sales003", State="fair", WelcomeCode="w1")
        carol = self.partner("wmCarol")
        self.assertEqual((carol.name, carol.user_id), ("Carol", self.sales["sales003"]))
        self.assertEqual(carol.category_id.mapped("name"), ["VIP"])

    def test_unknown_customer_and_transfer_fail(self):
        self.mock.change_crm(delete_customers=["wmBob"])
        event = self.customer_event("transfer_fail", "wmBob", "sales001", FailReason="customer_refused")
        self.assertIn("customer_refused", event.result)
        self.assertFalse(self.contact("wmBob").active, "WeCom no longer knows it: archived")
        event = self.customer_event("something_new", "wmAlice", "sales001")
        self.assertIn("Ignored", event.result)

    def test_tag_change_renames_the_partner_category(self):
        self.mock.change_crm(
            tag_groups=[{"group_id": "g2", "group_name": "Area", "tag": [{"id": "t3", "name": "South"}]}]
        )
        self.event("change_external_tag", "update", Id="t3", TagType="tag")
        tag = self.env["wecom.external.tag"].search([("tag_id", "=", "t3")])
        self.assertEqual((tag.name, tag.group_name), ("South", "Area"))
        self.assertEqual((tag.category_id.name, tag.category_id.parent_id.name), ("South", "Area"))
        self.assertIn(tag.category_id, self.partner("wmAlice").category_id)

    def test_a_tag_created_after_the_last_sync_is_read_first(self):
        self.mock.change_crm(
            tag_groups=[{"group_id": "g3", "group_name": "Source", "tag": [{"id": "t9", "name": "Fair"}]}],
            follows=[{"external_userid": "wmBob", "userid": "sales003", "tag_id": ["t9"]}],
        )
        with self.assertCustomerCalls(get=1, get_corp_tag_list=1):
            self.customer_event("edit_external_contact", "wmBob", "sales003")
        self.assertEqual(self.partner("wmBob").category_id.mapped("display_name"), ["WeCom / Source / Fair"])
