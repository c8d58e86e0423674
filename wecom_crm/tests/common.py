"""Fixtures of the wecom_crm tests, importable by other addons as ``odoo.addons.wecom_crm.tests.common``."""

import time
from contextlib import contextmanager

from odoo.tests import new_test_user

from odoo.addons.wecom_base.lib import WeComCallbackCrypto
from odoo.addons.wecom_base.tests.common import (
    MOCK_AGENT_ID,
    MOCK_CORP_ID,
    MOCK_SECRET,
    WeComCallbackMixin,
    WeComMockMixin,
    WeComNoWriteMixin,
)

SALESPEOPLE = ("sales001", "sales002", "sales003")
TAG_GROUPS = [
    {"group_id": "g1", "group_name": "Level", "tag": [{"id": "t1", "name": "VIP"}, {"id": "t2", "name": "New"}]},
    {"group_id": "g2", "group_name": "Region", "tag": [{"id": "t3", "name": "East"}]},
]


class CustomerMixin(WeComNoWriteMixin):
    """An application syncing the customers (``cls.app``) and three salespeople (Odoo users ``cls.sales``, WeCom
    userids ``sales001``...); helpers to read the mirror and the partners."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.env["wecom.application"].create(
            {
                "app_name": "Customers",
                "agent_id": MOCK_AGENT_ID,
                "secret": MOCK_SECRET,
                "company_id": cls.company.id,
                "customer_sync": True,
            }
        )
        cls.sales = {}
        for userid in SALESPEOPLE:
            user = new_test_user(
                cls.env, login=f"crm_{userid}", groups="base.group_user,sales_team.group_sale_salesman"
            )
            user.wecom_userid = userid
            cls.sales[userid] = user

    @contextmanager
    def assertCustomerCalls(self, **expected):
        """Requests per customer API inside the block (keys: ``get_follow_user_list``, ``batch``, ``get``,
        ``get_corp_tag_list``)."""
        paths = {
            key: "/cgi-bin/externalcontact/" + ("batch/get_by_user" if key == "batch" else key) for key in expected
        }
        before = {key: self.mock.count(path) for key, path in paths.items()}
        yield
        got = {key: self.mock.count(path) - before[key] for key, path in paths.items()}
        self.assertEqual(got, expected, "customer requests received by the mock WeCom")

    def contact(self, external_userid):
        return (
            self.env["wecom.external.contact"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company.id), ("external_userid", "=", external_userid)])
        )

    def partner(self, external_userid):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("wecom_external_userid", "=", external_userid)])
        )


class CustomerCallbackMixin(CustomerMixin, WeComMockMixin, WeComCallbackMixin):
    """The application's callback (HttpCase): ``event()`` posts a customer event through the real controller and
    processes it."""

    TOKEN = "CrmTok7"
    AES_KEY = "kWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.callback = cls.env["wecom.callback"].create(
            {"application_id": cls.app.id, "callback_token": cls.TOKEN, "encoding_aes_key": cls.AES_KEY}
        )
        cls.crypto = WeComCallbackCrypto(cls.TOKEN, cls.AES_KEY, MOCK_CORP_ID)
        cls.Event = cls.env["wecom.callback.event"]

    def event(self, event, change_type, **fields):
        """Post an event (``change_external_contact``, ``change_external_tag``) and process it; return it."""
        elements = "".join(f"<{tag}><![CDATA[{value}]]></{tag}>" for tag, value in fields.items())
        self._event_seq = getattr(self, "_event_seq", 0) + 1
        xml = (
            f"<xml><ToUserName><![CDATA[{MOCK_CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time()) + self._event_seq}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><ChangeType><![CDATA[{change_type}]]></ChangeType>{elements}"
            f"<AgentID>{MOCK_AGENT_ID}</AgentID></xml>"
        )
        response = self.deliver(xml)
        self.assertEqual(response.status_code, 200)
        self.Event._cron_process_events()
        record = self.Event.search([("callback_id", "=", self.callback.id)], limit=1)
        self.assertEqual(record.state, "done", record.error_reason)
        return record

    def customer_event(self, change_type, external_userid, userid=None, **fields):
        if userid:
            fields["UserID"] = userid
        return self.event("change_external_contact", change_type, ExternalUserID=external_userid, **fields)
