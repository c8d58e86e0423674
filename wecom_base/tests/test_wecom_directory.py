"""The WeCom directory mirror: full sync against the mock WeCom, no-change syncs, failures, linking, exits, the
user wizard, the cron, security and change_contact callbacks through the real controller."""

import time
from contextlib import contextmanager
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.wecom_base.lib import WeComCallbackCrypto, WeComDataError

from .common import (
    MOCK_AGENT_ID,
    MOCK_CORP_ID,
    MOCK_SECRET,
    WeComCallbackMixin,
    WeComCase,
    WeComMockMixin,
    WeComNoWriteMixin,
)
from .mock_wecom.server import SAMPLE_DEPARTMENTS, SAMPLE_USERS

DEPARTMENTS, USERS = list(SAMPLE_DEPARTMENTS), list(SAMPLE_USERS)


class DirectoryMixin(WeComNoWriteMixin):
    @contextmanager
    def assertDirectoryCalls(self, **expected):
        """Requests the mock received per directory API inside the block (keys: ``department_list``,
        ``user_list_id``, ``user_list``, ``user_get``)."""
        paths = {key: "/cgi-bin/" + key.replace("_", "/", 1) for key in expected}
        before = {key: self.mock.count(path) for key, path in paths.items()}
        yield
        got = {key: self.mock.count(path) - before[key] for key, path in paths.items()}
        self.assertEqual(got, expected, "directory requests received by the mock WeCom")

    def departments(self):
        return (
            self.env["wecom.department"].with_context(active_test=False).search([("company_id", "=", self.company.id)])
        )

    def members(self):
        return self.env["wecom.member"].with_context(active_test=False).search([("company_id", "=", self.company.id)])

    def member(self, userid):
        return self.members().filtered(lambda m: m.userid == userid)

    def department(self, wecom_id):
        return self.departments().filtered(lambda d: d.wecom_id == wecom_id)


@tagged("post_install", "-at_install")
class TestWeComDirectorySync(DirectoryMixin, WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app.directory_sync = True

    def setUp(self):
        super().setUp()
        self.mock.set_directory(DEPARTMENTS, USERS)
        self.sleeps = []
        sleeper = patch("odoo.addons.wecom_base.lib.directory.time.sleep", side_effect=self.sleeps.append)
        sleeper.start()
        self.addCleanup(sleeper.stop)

    def test_first_sync_mirrors_the_tree_and_members(self):
        linked = new_test_user(self.env, login="dir_zhangsan", groups="base.group_user")
        linked.wecom_userid = "ZhangSan"  # WeCom userids are case-insensitive
        with self.assertDirectoryCalls(department_list=1, user_list_id=1, user_list=3, user_get=0):
            stats = self.app._wecom_sync_directory()
        self.assertEqual(stats["departments"], {"created": 4, "updated": 0, "archived": 0})
        self.assertEqual(stats["members"], {"created": 3, "updated": 0, "archived": 0})
        east = self.department(3)
        self.assertEqual(east.complete_name, "Company / Sales / East")
        self.assertEqual(east.parent_id, self.department(2))
        self.assertEqual(self.department(2).child_ids, east)
        self.assertEqual(self.department(1).sequence, 100)
        zhangsan = self.member("zhangsan")
        self.assertEqual(zhangsan.department_ids, self.department(2) | self.department(4))
        self.assertEqual((zhangsan.name, zhangsan.position, zhangsan.status), ("张三", "Sales", "active"))
        self.assertEqual(zhangsan.main_department_id, self.department(2))
        self.assertEqual(zhangsan.user_id, linked)
        self.assertFalse(zhangsan.email, "today's applications get no e-mail: nothing is invented")
        self.assertEqual(self.member("lisi").status, "disabled")
        self.assertEqual(self.member("wangwu").status, "not_activated")
        self.assertEqual(self.members().mapped("application_id"), self.app)
        self.assertEqual(self.app.directory_member_count, 3)
        self.assertEqual(self.app.directory_department_count, 4)
        self.assertIn("members 3 created", self.app.directory_sync_summary)
        self.assertEqual(
            self.env["wecom.member"].search([("department_ids", "child_of", self.department(2).id)]),
            zhangsan | self.member("lisi"),
            "search by department takes sub-departments",
        )

    def test_member_counts_take_sub_departments(self):
        """A department counts its sub-departments' members, each once: the root counts the whole directory."""
        self.app._wecom_sync_directory()
        counts = {wecom_id: self.department(wecom_id).member_count for wecom_id in (1, 2, 3, 4)}
        # zhangsan is in Sales and R&D (counted once at the root), lisi in East under Sales, wangwu in R&D
        self.assertEqual(counts, {1: 3, 2: 2, 3: 1, 4: 2})
        self.member("lisi").action_archive()
        self.department(2).invalidate_recordset(["member_count"])
        self.assertEqual(self.department(2).member_count, 1, "archived members are not counted")

    def test_members_sort_in_pinyin(self):
        """Members sort as WeCom's contact list does (pinyin), not by code point (张 U+5F20 < 李 < 王)."""
        self.env.cr.execute("SELECT 1 FROM pg_collation WHERE collname = 'zh-x-icu'")
        if not self.env.cr.fetchone():
            self.skipTest("this PostgreSQL has no ICU collation zh-x-icu")
        self.app._wecom_sync_directory()
        names = self.env["wecom.member"].with_context(active_test=False).search([("company_id", "=", self.company.id)])
        self.assertEqual(names.mapped("name"), ["李四", "王五", "张三"])

    def test_large_directory_first_sync(self):
        self.mock.generate_directory(departments=100, users=2000, seed=3)
        users = {u["userid"]: u for u in self.mock.directory()["users"]}
        linked = new_test_user(self.env, login="dir_user00042", groups="base.group_user")
        linked.wecom_userid = "user00042"
        stats = self.app._wecom_sync_directory()
        self.assertEqual((stats["total_departments"], stats["total_members"]), (100, 2000))
        self.assertEqual(len(self.members()), 2000)
        self.assertEqual(self.member("user00042").user_id, linked)
        expected = {d["id"]: d["parentid"] for d in self.mock.directory()["departments"]}
        got = {d.wecom_id: d.parent_id.wecom_id for d in self.departments()}
        self.assertEqual(got, expected, "the department tree is WeCom's")
        sample = self.member("user01234")
        self.assertEqual(sorted(sample.department_ids.mapped("wecom_id")), sorted(users["user01234"]["department"]))
        with self.assertNoWrites():
            self.assertFalse(self.app._wecom_sync_directory()["changed"])

    def test_unchanged_directory_writes_nothing(self):
        self.app._wecom_sync_directory()
        write_dates = self.members().mapped("write_date") + self.departments().mapped("write_date")
        summary_date = self.app.directory_sync_date
        with self.assertNoWrites():
            stats = self.app._wecom_sync_directory()
        self.assertFalse(stats["changed"])
        self.assertEqual(self.members().mapped("write_date") + self.departments().mapped("write_date"), write_dates)
        self.assertEqual(self.app.directory_sync_date, summary_date)

    def test_changed_directory_is_applied_by_the_next_sync(self):
        self.app._wecom_sync_directory()
        self.mock.change_directory(
            departments=[{"id": 2, "name": "Sales & Marketing"}, {"id": 5, "name": "West", "parentid": 2}],
            users=[
                {"userid": "lisi", "name": "李四四", "department": [5], "status": 1},
                {"userid": "zhaoliu", "name": "赵六", "department": [3]},
            ],
            delete_departments=[4],
            delete_users=["wangwu"],
        )
        stats = self.app._wecom_sync_directory()
        self.assertEqual(stats["departments"], {"created": 1, "updated": 1, "archived": 1})
        self.assertEqual(stats["members"]["created"], 1)
        self.assertEqual(stats["members"]["archived"], 1)
        self.assertEqual(self.department(3).complete_name, "Company / Sales & Marketing / East")
        self.assertFalse(self.department(4).active)
        self.assertEqual(self.department(5).parent_id, self.department(2))
        lisi = self.member("lisi")
        self.assertEqual((lisi.name, lisi.status, lisi.department_ids), ("李四四", "active", self.department(5)))
        self.assertFalse(self.member("wangwu").active)
        self.assertEqual(self.member("zhangsan").department_ids, self.department(2), "R&D is gone")
        self.assertTrue(self.member("zhaoliu").active)
        # a member back in WeCom comes back to life
        self.mock.change_directory(users=[{"userid": "wangwu", "name": "王五", "department": [1]}])
        self.app._wecom_sync_directory()
        self.assertTrue(self.member("wangwu").active)

    def test_failed_page_leaves_the_mirror_as_it_was(self):
        self.app._wecom_sync_directory()
        before = [(m.userid, m.name, m.active) for m in self.members()]
        self.mock.change_directory(users=[{"userid": "lisi", "name": "Renamed"}], delete_users=["wangwu"])
        self.mock.add_fault(path="/cgi-bin/user/list", errcode=60011, errmsg="no privilege", after=1)
        with self.assertRaisesRegex(UserError, "60011"):
            self.app.action_sync_directory()
        self.assertEqual([(m.userid, m.name, m.active) for m in self.members()], before)
        self.assertIn("60011", self.app.last_error)

    def test_a_tree_deeper_than_wecom_allows_is_refused(self):
        """WeCom allows 15 levels: a deeper answer (10,000 levels gave a raw "index row size" database error) is
        refused with a clear message and nothing is written."""
        deep = [{"id": level, "name": f"L{level}", "parentid": level - 1, "order": 1} for level in range(1, 2001)]
        self.mock.set_directory(deep, [])
        with self.assertRaisesRegex(UserError, "2000 levels deep.*at most 15"):
            self.app.action_sync_directory()
        self.assertFalse(self.departments())
        self.mock.set_directory(deep[:15], [])
        self.app.action_sync_directory()
        self.assertEqual(len(self.departments()), 15)

    def test_malformed_directory_data_says_what_was_wrong(self):
        message = self.app._wecom_error_message(WeComDataError("WeCom returned a member without a userid: {}"))
        self.assertIn("member without a userid", message)
        self.assertNotIn("does not point at WeCom", message)

    def test_busy_answers_are_retried_with_backoff(self):
        self.mock.add_fault(path="/cgi-bin/user/list_id", errcode=-1, times=2)
        self.mock.add_fault(path="/cgi-bin/user/list", errcode=45009, times=1)
        with self.assertDirectoryCalls(user_list_id=3, user_list=4):
            self.app._wecom_sync_directory()
        self.assertEqual(len(self.members()), 3)
        self.assertEqual(self.sleeps, [1, 2, 60], "short backoff when busy, a minute after 45009")

    def test_user_get_when_user_list_is_closed(self):
        self.mock.add_fault(path="/cgi-bin/user/list", errcode=48009, errmsg="api forbidden for new ip", times=1)
        with self.assertDirectoryCalls(user_list=1, user_get=3):
            self.app._wecom_sync_directory()
        self.assertEqual(self.member("wangwu").position, "Engineer")

    def test_private_fields_only_where_wecom_sends_them(self):
        self.mock.set_directory(DEPARTMENTS, USERS, private_fields=True)
        self.app._wecom_sync_directory()
        self.assertEqual(self.member("zhangsan").email, "zs@example.com")
        self.mock.set_directory(DEPARTMENTS, USERS)  # the answers drop the e-mail: the mirror keeps it
        with self.assertNoWrites():
            self.app._wecom_sync_directory()
        self.assertEqual(self.member("zhangsan").email, "zs@example.com")

    def test_exited_member_unlinks_and_optionally_archives(self):
        first = new_test_user(self.env, login="dir_zs", groups="base.group_user")
        first.wecom_userid = "zhangsan"
        second = new_test_user(self.env, login="dir_ww", groups="base.group_user")
        second.wecom_userid = "wangwu"
        self.app._wecom_sync_directory()
        self.assertEqual(self.member("zhangsan").user_id, first)
        self.mock.change_directory(users=[{"userid": "zhangsan", "status": 5}])
        self.app._wecom_sync_directory()
        self.assertEqual(self.member("zhangsan").status, "exited")
        self.assertFalse(self.member("zhangsan").user_id)
        self.assertFalse(first.wecom_userid)
        self.assertTrue(first.active, "archiving users is opt-in")
        self.company.wecom_archive_exited_users = True
        self.mock.change_directory(users=[{"userid": "wangwu", "status": 5}])
        self.app._wecom_sync_directory()
        self.assertFalse(second.active)

    def test_users_link_when_their_userid_is_set(self):
        self.app._wecom_sync_directory()
        user = new_test_user(self.env, login="dir_later", groups="base.group_user")
        user.with_user(self.user_manager).wecom_userid = "lisi"
        self.assertEqual(self.member("lisi").user_id, user)
        self.assertEqual(user.wecom_member_count, 1)
        self.assertEqual(
            self.env["wecom.member"].search(user.action_view_wecom_members()["domain"]), self.member("lisi")
        )
        user.wecom_userid = False
        self.assertFalse(self.member("lisi").user_id)

    def test_link_by_email(self):
        self.mock.set_directory(DEPARTMENTS, USERS, private_fields=True)
        self.app._wecom_sync_directory()
        user = new_test_user(self.env, login="zs@example.com", groups="base.group_user")
        self.member("zhangsan").with_user(self.user_manager).action_link_by_email()
        self.assertEqual(user.wecom_userid, "zhangsan")
        self.assertEqual(self.member("zhangsan").user_id, user)
        with self.assertRaises(AccessError):
            self.members().with_user(self.user_wecom).action_link_by_email()

    def test_list_buttons_without_selection_act_on_unlinked_members(self):
        """Issue 27: the members list's buttons show with nothing selected and then take every unlinked member."""
        self.mock.set_directory(DEPARTMENTS, USERS, private_fields=True)
        self.app._wecom_sync_directory()
        user = new_test_user(self.env, login="zs@example.com", groups="base.group_user")
        nothing = self.env["wecom.member"].with_user(self.user_manager)
        nothing.action_link_by_email()
        self.assertEqual(user.wecom_userid, "zhangsan")
        action = nothing.action_create_users()
        self.assertEqual(
            action["context"]["default_member_ids"], [(6, 0, (self.member("lisi") | self.member("wangwu")).ids)]
        )
        with self.assertRaises(AccessError):
            self.env["wecom.member"].with_user(self.user_wecom).action_create_users()

    def test_sync_menu_uses_the_company_source(self):
        """Directory > Sync Directory syncs from the company's source, or its only enabled application."""
        menu = self.env.ref("wecom_base.menu_wecom_directory_sync")
        self.assertEqual(menu.action, self.env.ref("wecom_base.wecom_directory_sync_action"))
        applications = self.env["wecom.application"]
        with self.assertRaises(AccessError):
            applications.with_user(self.user_wecom).action_sync_company_directory()
        self.assertFalse(self.members())
        applications.with_user(self.user_manager).action_sync_company_directory()
        self.assertEqual(len(self.members()), 3)
        self.app.directory_sync = False
        applications.with_user(self.user_manager).action_sync_company_directory()
        self.assertTrue(self.app.directory_sync, "the only enabled application became the source")
        self.app.directory_sync = False
        self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000099, "secret": "other-secret", "company_id": self.company.id}
        )
        with self.assertRaisesRegex(UserError, "has no application that syncs its directory"):
            applications.with_user(self.user_manager).action_sync_company_directory()

    def test_wizard_creates_users_without_password(self):
        self.app._wecom_sync_directory()
        members = self.member("lisi") | self.member("wangwu")
        action = members.with_user(self.user_manager).action_create_users()
        wizard = (
            self.env["wecom.member.user.wizard"]
            .with_user(self.user_manager)
            .with_context(**action["context"])
            .create({"user_type": "portal"})
        )
        result = wizard.action_create_users()
        users = self.env["res.users"].search(result["domain"])
        self.assertEqual(sorted(users.mapped("wecom_userid")), ["lisi", "wangwu"])
        self.assertEqual(members.mapped("user_id"), users)
        self.assertTrue(all(user.has_group("base.group_portal") for user in users))
        self.assertFalse(any(user.has_group("base.group_user") for user in users))
        internal = self.env["wecom.member.user.wizard"].create(
            {"member_ids": [(6, 0, self.member("zhangsan").ids)], "user_type": "internal"}
        )
        user = self.env["res.users"].search(internal.action_create_users()["domain"])
        self.assertEqual((user.login, user.wecom_userid), ("zhangsan", "zhangsan"))
        self.assertTrue(user.has_group("base.group_user"))
        with self.assertRaisesRegex(UserError, "already linked"):
            internal.action_create_users()

    def test_one_directory_application_per_company(self):
        other = self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000099, "secret": "other-secret", "company_id": self.company.id}
        )
        with self.assertRaises(ValidationError), self.assertWeComWarning("already syncs the directory"):
            other.directory_sync = True

    def test_sync_from_another_application_names_the_source(self):
        """Issue 27: the contact callbacks keep only the source's mirror current, so syncing from another
        application of the company says which one is the source instead of building a mirror nobody updates."""
        other = self.env["wecom.application"].create(
            {"app_name": "Other", "agent_id": 1000099, "secret": "other-secret", "company_id": self.company.id}
        )
        with self.assertRaisesRegex(UserError, "Odoo Notifications syncs the directory"):
            other.action_sync_directory()
        self.assertFalse(self.members(), "nothing synced")
        self.app.directory_sync = False
        self.mock.add_app(MOCK_CORP_ID, "other-secret", 1000099)
        other.action_sync_directory()
        self.assertTrue(other.directory_sync, "the company had no source: the application that synced is it now")

    def test_cron_syncs_each_company_and_records_failures(self):
        company_b = self.env["res.company"].create({"name": "Company B", "wecom_corp_id": "wwcompanyb0000001"})
        self.mock.add_app("wwcompanyb0000001", "secret-b", 1000003)
        app_b = self.env["wecom.application"].create(
            {
                "app_name": "B",
                "agent_id": 1000003,
                "secret": "wrong-secret",
                "company_id": company_b.id,
                "directory_sync": True,
            }
        )
        with self.assertWeComWarning("Directory sync failed"):
            failures = self.env["wecom.application"]._cron_sync_directory()
        self.assertEqual(failures, 1)
        self.assertEqual(len(self.members()), 3, "company A synced although B failed")
        self.assertIn("40001", app_b.last_error)

    def test_buttons_and_security(self):
        self.app._wecom_sync_directory()
        action = self.app.action_view_directory_members()
        self.assertEqual(self.env["wecom.member"].search(action["domain"]), self.members())
        action = self.department(2).action_view_members()
        self.assertEqual(
            self.env["wecom.member"].search(action["domain"]), self.member("zhangsan") | self.member("lisi")
        )
        self.assertEqual(self.department(2).member_count, 2, "the count is what the button opens")
        reader = self.env["wecom.member"].with_user(self.user_wecom)
        self.assertEqual(len(reader.search([])), 3)
        with self.assertRaises(AccessError):
            reader.search([], limit=1).write({"name": "x"})
        with self.assertRaises(AccessError):
            self.env["wecom.department"].with_user(self.user_plain).search([])
        with self.assertRaises(AccessError):
            self.app.with_user(self.user_wecom).action_sync_directory()
        company_b = self.env["res.company"].create({"name": "Company B"})
        outsider = new_test_user(
            self.env,
            login="dir_outsider",
            groups="base.group_user,wecom_base.group_wecom_user",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        self.assertFalse(self.env["wecom.member"].with_user(outsider).search([]), "company rule")


class DirectoryCallbackMixin(DirectoryMixin, WeComMockMixin, WeComCallbackMixin):
    """An application syncing the directory and its callback (HttpCase): ``change()`` posts a change_contact
    event through the real controller and processes it."""

    TOKEN = "DirTok9"
    AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

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

    def deliver_change(self, change_type, fields):
        """Post a change_contact event and process it, whatever its outcome."""
        elements = "".join(f"<{tag}><![CDATA[{value}]]></{tag}>" for tag, value in fields.items())
        xml = (
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[change_contact]]></Event><ChangeType>{change_type}</ChangeType>{elements}"
            f"<AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )
        response = self.deliver(xml)
        self.assertEqual(response.status_code, 200)
        self.Event._cron_process_events()

    def change(self, change_type, fields):
        self.deliver_change(change_type, fields)
        event = self.Event.search([("callback_id", "=", self.callback.id)], limit=1)
        self.assertEqual(event.state, "done", event.error_reason)
        return event


@tagged("post_install", "-at_install")
class TestWeComDirectoryCallbacks(DirectoryCallbackMixin, HttpCase):
    """change_contact callbacks posted through the real controller update the mirror when processed."""

    def setUp(self):
        super().setUp()
        self.mock.set_directory(DEPARTMENTS, USERS)
        self.app._wecom_sync_directory()

    def test_party_events_cannot_make_the_tree_deeper_than_wecom_allows(self):
        deep = [
            {"id": 100 + level, "name": f"L{level}", "parentid": 100 + level - 1 if level > 1 else 0}
            for level in range(1, 16)
        ]
        self.mock.set_directory(deep, [])
        self.app._wecom_sync_directory()
        self.assertEqual(len(self.departments().filtered("active")), 15)
        before = self.Event.search_count([])
        with self.assertWeComWarning("failed"):
            self.deliver_change("create_party", {"Id": "200", "Name": "Too deep", "ParentId": "115"})
        event = self.Event.search([], limit=1)
        self.assertEqual(self.Event.search_count([]), before + 1)
        self.assertEqual(event.state, "error")
        self.assertIn("16 levels deep", event.error_reason)
        self.assertFalse(self.department(200), "nothing written")
        self.change("create_party", {"Id": "201", "Name": "Fits", "ParentId": "114"})
        self.assertTrue(self.department(201))
        # moving a subtree of two levels under the 14th level would make 16
        with self.assertWeComWarning("failed"):
            self.deliver_change("update_party", {"Id": "102", "ParentId": "114"})
        self.assertEqual(self.Event.search([], limit=1).state, "error")
        self.assertEqual(self.department(102).parent_id, self.department(101))

    def test_update_user_changes_one_member_with_the_event_fields(self):
        others = [(m.userid, m.write_date) for m in self.members() if m.userid != "lisi"]
        before = self.mock.count("/cgi-bin/user/get")
        event = self.change("update_user", {"UserID": "lisi", "Position": "Team Lead", "Department": "2,3"})
        lisi = self.member("lisi")
        self.assertEqual(lisi.position, "Team Lead")
        self.assertEqual(lisi.department_ids, self.department(2) | self.department(3))
        self.assertEqual(lisi.name, "李四", "fields the event does not carry are kept")
        self.assertEqual([(m.userid, m.write_date) for m in self.members() if m.userid != "lisi"], others)
        self.assertEqual(self.mock.count("/cgi-bin/user/get"), before, "the event said enough")
        self.assertIn("updated", event.result)

    def test_create_and_rename_user(self):
        self.mock.change_directory(users=[{"userid": "zhaoliu", "name": "赵六", "department": [3], "position": "QA"}])
        before = self.mock.count("/cgi-bin/user/get")
        self.change("create_user", {"UserID": "zhaoliu"})  # says too little: the rest comes from user/get
        self.assertEqual(self.mock.count("/cgi-bin/user/get"), before + 1)
        zhaoliu = self.member("zhaoliu")
        self.assertEqual((zhaoliu.name, zhaoliu.position, zhaoliu.department_ids), ("赵六", "QA", self.department(3)))
        user = new_test_user(self.env, login="cb_zl", groups="base.group_user")
        user.wecom_userid = "zhaoliu"
        self.assertEqual(zhaoliu.user_id, user)
        self.change("update_user", {"UserID": "zhaoliu", "NewUserID": "zhao6"})
        self.assertEqual(zhaoliu.userid, "zhao6")
        self.assertEqual(user.wecom_userid, "zhao6", "the shipped handler renames the user's WeCom User ID")
        self.assertEqual(zhaoliu.user_id, user)
        event = self.change("delete_user", {"UserID": "zhao6"})
        self.assertFalse(zhaoliu.active)
        self.assertFalse(zhaoliu.user_id)
        self.assertFalse(user.wecom_userid)
        self.assertIn("unlinked", event.result)

    def test_party_events(self):
        self.change("create_party", {"Id": "7", "Name": "Support", "ParentId": "4", "Order": "3"})
        support = self.department(7)
        self.assertEqual((support.complete_name, support.sequence), ("Company / R&D / Support", 3))
        self.change("update_party", {"Id": "7", "Name": "Customer Care"})
        self.assertEqual(support.complete_name, "Company / R&D / Customer Care")
        self.assertEqual(support.parent_id, self.department(4), "the parent the event did not carry is kept")
        self.change("update_party", {"Id": "3", "ParentId": "1"})
        self.assertEqual(self.department(3).complete_name, "Company / East")
        self.change("delete_party", {"Id": "7"})
        self.assertFalse(support.active)
