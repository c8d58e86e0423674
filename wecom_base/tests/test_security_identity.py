"""Attacks on identities (issue 22, item 1): WeCom user ids and e-mails compared as patterns (``_``, ``%``, ``\\``
wildcards) let a member log in as another user, the admin included. Each test fails on the code before the fix."""

import time

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.wecom_base.lib import WeComCallbackCrypto

from .common import (
    MOCK_AGENT_ID,
    MOCK_CORP_ID,
    MOCK_SECRET,
    WeComCallbackMixin,
    WeComMockMixin,
)
from .test_wecom_directory import DEPARTMENTS, USERS, DirectoryMixin


@tagged("post_install", "-at_install")
class TestIdentityAttacks(DirectoryMixin, WeComMockMixin, WeComCallbackMixin, HttpCase):
    TOKEN = "IdTok7"
    AES_KEY = "kWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Directory",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "company_id": cls.company.id,
                "directory_sync": True,
            }
        )
        cls.callback = cls.env["wecom.callback"].create(
            {"application_id": cls.app.id, "callback_token": cls.TOKEN, "encoding_aes_key": cls.AES_KEY}
        )
        cls.crypto = WeComCallbackCrypto(cls.TOKEN, cls.AES_KEY, MOCK_CORP_ID)
        cls.Event = cls.env["wecom.callback.event"]
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

    def change(self, change_type, fields):
        elements = "".join(f"<{tag}><![CDATA[{value}]]></{tag}>" for tag, value in fields.items())
        xml = (
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[change_contact]]></Event><ChangeType>{change_type}</ChangeType>{elements}"
            f"<AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )
        self.assertEqual(self.deliver(xml).status_code, 200)
        self.Event._cron_process_events()

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
