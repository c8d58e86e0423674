"""Attacks on identities (issue 22, item 1): WeCom user ids and e-mails compared as patterns (``_``, ``%``, ``\\``
wildcards) let a member log in as another user, the admin included. Each test fails on the code before the fix."""

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .test_wecom_directory import DEPARTMENTS, USERS, DirectoryCallbackMixin


@tagged("post_install", "-at_install")
class TestIdentityAttacks(DirectoryCallbackMixin, HttpCase):
    TOKEN = "IdTok7"
    AES_KEY = "kWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="id_manager", groups="base.group_user,wecom_base.group_wecom_manager"
        )

    def setUp(self):
        super().setUp()
        extra = [
            {"userid": userid, "name": userid, "department": [1]} for userid in ("li_na", "mei_li", "adm_n", "boss")
        ]
        self.mock.set_directory(DEPARTMENTS, USERS + extra)
        self.app._wecom_sync_directory()

    def user(self, login, wecom_userid=None, groups="base.group_user", **values):
        user = new_test_user(self.env, login=login, groups=groups, **values)
        if wecom_userid:
            user.wecom_userid = wecom_userid
        return user

    # ------------------------------------------------------------------ Link by E-mail
    def test_link_by_email_matches_exactly(self):
        admin = self.user("admin@corp.example", groups="base.group_user,base.group_system")
        plain = self.user("a%min@corp.example")
        self.member("adm_n").sudo().email = "adm_n@corp.example"
        self.member("li_na").sudo().email = "A%MIN@corp.example"
        self.members().with_user(self.manager).action_link_by_email()
        self.assertFalse(admin.wecom_userid, "adm_n@ is not admin@: '_' is no wildcard")
        self.assertFalse(self.member("adm_n").user_id)
        self.assertEqual(plain.wecom_userid, "li_na", "an exact, case-insensitive match links")

    def test_link_by_email_never_links_an_administrator(self):
        for index, groups in enumerate(("base.group_system", "base.group_erp_manager")):
            with self.subTest(groups=groups):
                userid = ("boss", "adm_n")[index]
                admin = self.user(f"boss{index}@corp.example", groups=f"base.group_user,{groups}")
                self.member(userid).sudo().email = f"boss{index}@corp.example"
                self.member(userid).with_user(self.manager).action_link_by_email()
                self.assertFalse(admin.wecom_userid)
                self.assertFalse(self.member(userid).user_id)

    # ------------------------------------------------------------------ directory callbacks
    def test_update_user_renames_only_the_exact_user(self):
        victim = self.user("li.na", "li.na")
        self.change("update_user", {"UserID": "li_na", "NewUserID": "zed"})
        self.assertEqual(victim.wecom_userid, "li.na")
        owner = self.user("li_na_owner", "LI_NA")
        self.change("update_user", {"UserID": "mei_li", "NewUserID": "mei2"})
        self.assertEqual(owner.wecom_userid, "LI_NA")

    def test_delete_user_unlinks_only_the_exact_user(self):
        users = [self.user(f"victim{index}", userid) for index, userid in enumerate(("mei.li", "meixli", "a", "bb"))]
        self.change("delete_user", {"UserID": "mei_li"})
        self.change("delete_user", {"UserID": "%"})
        self.change("delete_user", {"UserID": "_"})
        self.change("delete_user", {"UserID": "\\"})
        self.assertEqual([user.wecom_userid for user in users], ["mei.li", "meixli", "a", "bb"])

    # ------------------------------------------------------------------ uniqueness
    def test_uniqueness_is_exact_and_case_insensitive(self):
        self.user("bob_user", "bob")
        other = self.user("b_b_user", "b_b")
        self.assertEqual(other.wecom_userid, "b_b", "b_b is not bob")
        self.user("percent_user", "b%")
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.user("bob_again", "BOB")

    def test_one_way_to_find_users(self):
        Users = self.env["res.users"]
        bob = self.user("find_bob", "bob")
        self.user("find_bxb", "bxb")
        for pattern in ("b_b", "b%", "%", "_ob", "b\\ob"):
            with self.subTest(pattern=pattern):
                self.assertFalse(Users._wecom_find_by_userid(pattern, self.company))
        self.assertEqual(Users._wecom_find_by_userid(" BoB ", self.company), bob)
