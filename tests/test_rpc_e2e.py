"""End to end over RPC: a real Odoo server, the mock WeCom, XML-RPC and JSON-RPC clients with API keys.

The session fixture ``e2e_session`` installs ``wecom_base`` and the example addon into a fresh database, points
``wecom_base.api_base_url`` at a mock WeCom of this process, creates a WeCom user and a plain internal user
(each with an API key) and serves the database on 127.0.0.1. Everything is removed at the end. Without an
Odoo 18 (``./scripts/test`` exports ``WECOM_ODOO_*`` when it finds one; by hand, ``import odoo`` must work)
these tests are skipped; the README checks at the bottom run everywhere.

The README's RPC examples run as written: they read ``ODOO_URL``, ``ODOO_DB``, ``ODOO_LOGIN``,
``ODOO_API_KEY`` and ``WECOM_APP_ID`` from the environment, which the test sets. The server runs without a
cron thread (``--max-cron-threads 0``), so the tests run the outbox cron themselves, as an administrator
would with *Run Manually* (``ir.cron.method_direct_trigger``): the same code path as the cron worker.
"""

import os
import re
import threading
import uuid

import pytest

from tests.odoo_locate import from_environment
from tests.odoo_server import REPO, Json2, JsonRpc, OdooServer, RpcError, XmlRpc, as_ids, find_odoo
from wecom_base.tests.mock_wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET, MockWeCom

README = os.path.join(REPO, "README.md")
# The README and the pages of docs/ it links to: their marked code blocks are checked and run.
DOC_PAGES = (README, os.path.join(REPO, "docs", "rpc.md"), os.path.join(REPO, "docs", "extend.md"))
EXAMPLE_MODEL = os.path.join(REPO, "tests", "addons", "wecom_example", "models", "wecom_example_ticket.py")

# What must never reach an RPC client's message: a traceback, a source file, a secret.
LEAK_RE = re.compile(r"Traceback|File \"|\.py\b|site-packages|/opt/|/usr/lib|" + re.escape(DEFAULT_SECRET))

SETUP_SCRIPT = """
from datetime import datetime, timedelta

from odoo.addons.wecom_base import compat

params = env["ir.config_parameter"]
params.set_param("wecom_base.api_base_url", MOCK_URL)
params.set_param("wecom_base.timeout", "5")
env.company.wecom_corp_id = CORP_ID
app = env["wecom.application"].create({"app_name": "E2E", "agent_id": AGENT_ID, "secret": SECRET})
robot = env["wecom.robot"].create({"name": "E2E robot", "webhook_key": "mock-robot-key"})
groups = {
    "wecom": ["base.group_user", "base.group_allow_export", "wecom_base.group_wecom_user"],
    "plain": ["base.group_user", "base.group_allow_export"],
}
users = {}
expires = datetime.now() + timedelta(days=1)
for name, xmlids in groups.items():
    user = env["res.users"].create({
        "name": f"E2E {name}", "login": f"e2e-{name}",
        compat.USER_GROUPS: [(6, 0, [env.ref(xmlid).id for xmlid in xmlids])],
    })
    key = env["res.users.apikeys"].with_user(user)._generate(None, "e2e tests", expires)
    users[name] = {"login": user.login, "uid": user.id, "key": key}
admin = env.ref("base.user_admin")
users["admin"] = {"login": admin.login, "uid": admin.id,
                  "key": env["res.users.apikeys"].with_user(admin)._generate(None, "e2e tests", expires)}
result = {"app_id": app.id, "robot_id": robot.id, "users": users,
          "cron_id": env.ref("wecom_base.ir_cron_wecom_message_queue").id}
"""


class E2E:
    """What the tests use: the server, its users and ids, the mock, RPC helpers."""

    def __init__(self, server, mock, setup):
        self.server, self.mock = server, mock
        self.url, self.db = server.url, server.db
        self.app_id, self.robot_id, self.cron_id = setup["app_id"], setup["robot_id"], setup["cron_id"]
        self.users = setup["users"]
        self.clients = {"xmlrpc": XmlRpc(self.url, self.db), "jsonrpc": JsonRpc(self.url, self.db)}
        self.json2 = Json2(self.url, self.db)

    def call(self, who, model, method, args, kwargs=None, protocol="xmlrpc"):
        user = self.users[who]
        return self.clients[protocol].call(user["uid"], user["key"], model, method, args, kwargs)

    def admin(self, model, method, args, kwargs=None):
        return self.call("admin", model, method, args, kwargs)

    def run_cron(self):
        """Run the outbox cron once, like *Run Manually* (it commits as the cron worker does)."""
        self.admin("ir.cron", "method_direct_trigger", [[self.cron_id]])

    def state(self):
        """What a refused call must leave alone: the messages, what WeCom received, the application."""
        stats = self.mock.stats()
        return {
            "messages": self.admin("wecom.message", "search_count", [[]]),
            "message_ids": self.admin("wecom.message", "search", [[]]),
            "wecom_requests": sum(stats["counts"].values()),
            "wecom_messages": len(stats["messages"]) + len(stats["robot_messages"]),
            "application": self.admin(
                "wecom.application", "read", [[self.app_id]], {"fields": ["write_date", "app_name", "secret"]}
            ),
        }


@pytest.fixture(scope="session")
def e2e_session():
    command, addons, reason = find_odoo()
    if command is None:
        pytest.skip(f"end-to-end RPC tests need Odoo 18: {reason}")
    server = OdooServer(command, addons, f"wecom_rpc_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    problem = server.postgres_error()
    if problem:
        if os.environ.get("WECOM_ODOO_AVAILABLE") == "1":
            pytest.fail(f"Odoo was found but {problem}")
        pytest.skip(f"end-to-end RPC tests need PostgreSQL: {problem}")
    mock = MockWeCom(host="127.0.0.1", port=0).start()
    try:
        server.install(["wecom_base", "wecom_example"])
        setup = server.run_script(
            f"MOCK_URL, CORP_ID, AGENT_ID, SECRET = {mock.url!r}, {DEFAULT_CORP_ID!r}, {DEFAULT_AGENT_ID!r}, "
            f"{DEFAULT_SECRET!r}\n" + SETUP_SCRIPT
        )
        server.start()
        yield E2E(server, mock, setup)
    finally:
        server.stop()
        server.drop_database()
        mock.stop()


@pytest.fixture
def e2e(e2e_session):
    """The session's server and mock WeCom (no fault rules left over)."""
    e2e_session.mock.clear_faults()
    return e2e_session


@pytest.fixture(params=["xmlrpc", "jsonrpc"])
def protocol(request):
    return request.param


@pytest.fixture
def unchanged(e2e):
    """Assert that the test's refused calls changed nothing in Odoo and sent nothing to WeCom."""
    before = e2e.state()
    yield
    assert e2e.state() == before


class CronWorker:
    """Runs the outbox cron every few tenths of a second while a README example polls (``with``)."""

    def __init__(self, e2e):
        self.e2e, self.stopping, self.errors = e2e, threading.Event(), []
        self.thread = threading.Thread(target=self._loop, name="e2e-cron", daemon=True)

    def _loop(self):
        while not self.stopping.is_set():
            try:
                self.e2e.run_cron()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
            self.stopping.wait(0.3)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=60)


def needs_json2():
    odoo, _reason = from_environment()
    if odoo is None or odoo.major < 19:
        pytest.skip("JSON-2 (/json/2/<model>/<method>) is Odoo 19.0's API; this Odoo is older")


def assert_clean_error(error, *expected):
    """A refusal an RPC client can show as is: an Odoo user-facing error whose message says what is wrong."""
    for text in expected:
        assert text in error.message, f"{text!r} not in {error.message!r}"
    assert not LEAK_RE.search(error.client_text), error.client_text
    if error.protocol == "xmlrpc":
        assert error.kind in (2, 3, 4), f"fault code {error.kind}: not an Odoo user error ({error.message[:200]})"
    elif error.protocol == "json2":
        assert 400 <= error.kind < 500, f"HTTP {error.kind}: not a client error ({error.message[:200]})"
    else:
        assert error.kind.startswith("odoo.exceptions."), error.kind


def readme_blocks(marker):
    """The fenced code blocks that follow ``<!-- marker: NAME -->`` lines in the README and docs/, by NAME."""
    text = ""
    for page in DOC_PAGES:
        with open(page, encoding="utf-8") as doc:
            text += doc.read() + "\n"
    pattern = re.compile(r"<!-- " + re.escape(marker) + r": (\S+) -->\n```python\n(.*?)```", re.DOTALL)
    return dict(pattern.findall(text))


# ---------------------------------------------------------------------- the README examples, as written
@pytest.mark.parametrize("name", ["xmlrpc", "jsonrpc", "json2"])
def test_readme_example_sends_a_message(e2e, monkeypatch, capsys, name):
    if name == "json2":
        needs_json2()
    code = readme_blocks("rpc-example")[name]
    wecom = e2e.users["wecom"]
    for variable, value in (
        ("ODOO_URL", e2e.url),
        ("ODOO_DB", e2e.db),
        ("ODOO_LOGIN", wecom["login"]),
        ("ODOO_API_KEY", wecom["key"]),
        ("WECOM_APP_ID", str(e2e.app_id)),
    ):
        monkeypatch.setenv(variable, value)
    sent_before = len(e2e.mock.messages())
    namespace = {"__name__": f"readme_{name}"}
    with CronWorker(e2e) as worker:
        exec(compile(code, f"README.md ({name} example)", "exec"), namespace)  # noqa: S102 - the README's code
    assert not worker.errors, worker.errors
    if name != "json2":  # JSON-2 needs no login: the API key is the user
        assert namespace["uid"] == wecom["uid"]
    assert namespace["message"]["state"] == "sent", namespace["message"]
    msg_id = namespace["msg_id"]
    assert f"{msg_id} sent" in capsys.readouterr().out
    record = e2e.admin("wecom.message", "read", [as_ids(msg_id)], {"fields": ["msgid", "content", "create_uid"]})[0]
    assert record["create_uid"][0] == wecom["uid"]
    received = e2e.mock.messages()[sent_before:]
    assert len(received) == 1
    payload = received[0]["payload"]
    assert received[0]["msgid"] == record["msgid"]
    assert (payload["touser"], payload["msgtype"], payload["agentid"]) == ("zhangsan", "text", DEFAULT_AGENT_ID)
    assert payload["text"]["content"] == record["content"] == "Invoice INV/2026/0042 is overdue"


# ---------------------------------------------------------------------- who may do what
def test_wrong_api_key(e2e, protocol, unchanged):
    client, wecom = e2e.clients[protocol], e2e.users["wecom"]
    assert client.authenticate(wecom["login"], "0" * 40) is False
    assert client.authenticate(wecom["login"], wecom["key"]) == wecom["uid"]
    for model, method, args, kwargs in (
        ("wecom.message", "wecom_send", [e2e.app_id], {"userids": ["zhangsan"], "content": "bad key"}),
        ("wecom.message", "search_read", [[]], {"fields": ["state"]}),
    ):
        with pytest.raises(RpcError) as caught:
            client.call(wecom["uid"], wecom["key"][:-1] + "x", model, method, args, kwargs)
        assert_clean_error(caught.value, "Access Denied")


def test_plain_user_can_neither_send_nor_read(e2e, protocol, unchanged):
    with pytest.raises(RpcError) as caught:
        e2e.call(
            "plain",
            "wecom.message",
            "wecom_send",
            [e2e.app_id],
            {"userids": ["zhangsan"], "content": "x"},
            protocol=protocol,
        )
    assert_clean_error(caught.value, "Only WeCom users can send WeCom messages.")
    for model in ("wecom.message", "wecom.application", "wecom.robot"):
        with pytest.raises(RpcError) as caught:
            e2e.call("plain", model, "search_read", [[]], {"fields": ["id"]}, protocol=protocol)
        assert_clean_error(caught.value, "You are not allowed to access", f"({model})")


SECRET_CALLS = [
    ("wecom.application", "read", lambda e2e: [[e2e.app_id]], {"fields": ["name", "secret"]}, "secret"),
    ("wecom.application", "read", lambda e2e: [[e2e.app_id]], {"fields": ["access_token"]}, "access_token"),
    ("wecom.application", "search_read", lambda e2e: [[]], {"fields": ["secret"]}, "secret"),
    ("wecom.application", "search_read", lambda e2e: [[]], {"fields": ["access_token"]}, "access_token"),
    ("wecom.application", "export_data", lambda e2e: [[e2e.app_id], ["name", "secret"]], {}, "secret"),
    ("wecom.application", "read_group", lambda e2e: [[], ["secret:count_distinct"], []], {}, "secret"),
    ("wecom.application", "read_group", lambda e2e: [[], ["agent_id:sum"], ["secret"]], {}, "secret"),
    ("wecom.application", "get_access_token", lambda e2e: [[e2e.app_id]], {}, "Only WeCom managers"),
    ("wecom.robot", "read", lambda e2e: [[e2e.robot_id]], {"fields": ["webhook_key"]}, "webhook_key"),
    ("wecom.robot", "search_read", lambda e2e: [[]], {"fields": ["name", "webhook_key"]}, "webhook_key"),
    ("wecom.robot", "export_data", lambda e2e: [[e2e.robot_id], ["webhook_key"]], {}, "webhook_key"),
]


@pytest.mark.parametrize(
    "model, method, args, kwargs, expected",
    SECRET_CALLS,
    ids=[f"{call[0]}.{call[1]}-{call[4].split()[0]}" for call in SECRET_CALLS],
)
def test_wecom_user_never_reads_a_secret(e2e, protocol, unchanged, model, method, args, kwargs, expected):
    with pytest.raises(RpcError) as caught:
        e2e.call("wecom", model, method, args(e2e), kwargs, protocol=protocol)
    assert_clean_error(caught.value, expected)
    assert "mock-robot-key" not in caught.value.client_text


def test_wecom_user_reads_what_is_not_secret(e2e, protocol):
    def call(*args, **kwargs):
        return e2e.call("wecom", *args, protocol=protocol, **kwargs)

    fields = call("wecom.application", "fields_get", [], {"attributes": ["type"]})
    assert "agent_id" in fields
    assert not {"secret", "access_token"} & set(fields)
    assert "webhook_key" not in call("wecom.robot", "fields_get", [], {"attributes": ["type"]})
    apps = call(
        "wecom.application",
        "search_read",
        [[]],
        {"fields": ["name", "app_name", "agent_id", "company_id", "is_active"]},
    )
    assert [(app["id"], app["agent_id"], app["is_active"]) for app in apps] == [(e2e.app_id, DEFAULT_AGENT_ID, True)]
    config = call("wecom.application", "get_wecom_config", [[e2e.app_id]])
    assert (config["corp_id"], config["agent_id"]) == (DEFAULT_CORP_ID, DEFAULT_AGENT_ID)
    assert "secret" not in config
    exported = call("wecom.application", "export_data", [[e2e.app_id], ["app_name", "agent_id"]])
    assert exported["datas"] == [["E2E", DEFAULT_AGENT_ID]]
    robots = call("wecom.robot", "search_read", [[]], {"fields": ["name", "webhook_key_hint"]})
    assert [(robot["id"], robot["webhook_key_hint"]) for robot in robots] == [(e2e.robot_id, "…-key")]


@pytest.mark.parametrize("who", ["wecom", "admin"])
def test_nobody_writes_log_entries_over_rpc(e2e, protocol, who):
    """log_error is server-side only: a WeCom user (or an admin) over RPC writes no ir.logging row."""
    marker = uuid.uuid4().hex
    for model, ids in (("wecom.application", [e2e.app_id]), ("wecom.robot", [e2e.robot_id]), ("wecom.message", [])):
        with pytest.raises(RpcError) as caught:
            e2e.call(who, model, "log_error", [ids, f"forged {marker}"], protocol=protocol)
        assert_clean_error(caught.value, "cannot be called remotely")
    assert e2e.admin("ir.logging", "search_count", [[("message", "like", marker)]]) == 0


# ---------------------------------------------------------------------- wrong arguments to wecom_send
def _send_args(e2e, **changes):
    kwargs = {"userids": ["zhangsan"], "content": "Hello"}
    kwargs.update(changes)
    return [e2e.app_id], {key: value for key, value in kwargs.items() if value is not None}


BAD_ARGUMENTS = {
    "application as text": (
        lambda e2e: (["1"], _send_args(e2e)[1]),
        ["Argument application: expected a wecom.application id, got str."],
    ),
    "unknown application": (
        lambda e2e: ([987654], _send_args(e2e)[1]),
        ["Argument application: no WeCom application with id 987654."],
    ),
    "no application": (lambda e2e: ([], _send_args(e2e)[1]), ["Argument application: missing"]),
    "no recipient": (
        lambda e2e: _send_args(e2e, userids=None),
        ["Recipients: give at least one", "arguments users, userids, parties, tags"],
    ),
    "content too long": (
        lambda e2e: _send_args(e2e, content="长" * 1000),
        ["Content: at most 2048 bytes in UTF-8, got 3000."],
    ),
    "unknown msgtype": (
        lambda e2e: _send_args(e2e, msgtype="sms"),
        ["Argument msgtype: 'sms' is not one of text, markdown"],
    ),
    "1001 recipients": (
        lambda e2e: _send_args(e2e, userids=[f"user{i}" for i in range(1001)]),
        ["Argument userids: at most 1000 users per message, got 1001."],
    ),
    "misspelt argument": (
        lambda e2e: ([e2e.app_id], {"userid": ["zhangsan"], "content": "Hello"}),
        ["Argument userid: wecom_send has no such argument.", "userids"],
    ),
    "userids as a number": (
        lambda e2e: _send_args(e2e, userids=42),
        ["Argument userids: expected a list of strings or a |-separated string, got int."],
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_wecom_send_names_the_wrong_argument(e2e, protocol, unchanged, case):
    build, expected = BAD_ARGUMENTS[case]
    args, kwargs = build(e2e)
    with pytest.raises(RpcError) as caught:
        e2e.call("wecom", "wecom.message", "wecom_send", args, kwargs, protocol=protocol)
    assert_clean_error(caught.value, *expected)
    assert "Validation" in str(caught.value.kind) or caught.value.kind == 2


@pytest.mark.parametrize("case", ["unknown application", "no recipient", "unknown msgtype", "userids as a number"])
def test_json2_wecom_send_names_the_wrong_argument(e2e, unchanged, case):
    """JSON-2 (19.0): the same refusals, as HTTP 422 with the message naming the argument."""
    needs_json2()
    build, expected = BAD_ARGUMENTS[case]
    args, kwargs = build(e2e)
    with pytest.raises(RpcError) as caught:
        e2e.json2.call(e2e.users["wecom"]["key"], "wecom.message", "wecom_send", application=args[0], **kwargs)
    assert caught.value.kind == 422, caught.value.client_text
    assert_clean_error(caught.value, *expected)


def test_json2_refuses_plain_users_and_private_methods(e2e, unchanged):
    """JSON-2 (19.0): a user outside WeCom / User gets a 403; a private method is not reachable at all."""
    needs_json2()
    with pytest.raises(RpcError) as caught:
        e2e.json2.call(
            e2e.users["plain"]["key"],
            "wecom.message",
            "wecom_send",
            application=e2e.app_id,
            userids=["zhangsan"],
            content="not allowed",
        )
    assert caught.value.kind == 403, caught.value.client_text
    for model, method in (("wecom.message", "_wecom_send_batch"), ("wecom.application", "cron_refresh_tokens")):
        with pytest.raises(RpcError) as caught:
            e2e.json2.call(e2e.users["wecom"]["key"], model, method)
        assert caught.value.kind in (403, 404), (method, caught.value.client_text)


# ---------------------------------------------------------------------- the rest of the stable surface
def test_cancel_retry_and_robot(e2e, protocol):
    def call(*args, **kwargs):
        return e2e.call("wecom", *args, protocol=protocol, **kwargs)

    def read(message_id):
        return call("wecom.message", "read", [message_id], {"fields": ["state", "failure_reason"]})[0]["state"]

    message_id = as_ids(call("wecom.message", "wecom_send", [e2e.app_id], {"parties": [2], "content": "to cancel"}))
    assert read(message_id) == "outgoing"
    assert call("wecom.message", "action_cancel", [message_id]) is True
    assert read(message_id) == "cancel"
    with pytest.raises(RpcError) as caught:
        call("wecom.message", "action_cancel", [message_id])
    assert_clean_error(caught.value, "Only messages not sent yet can be cancelled.")
    assert call("wecom.message", "action_retry", [message_id]) is True
    assert read(message_id) == "outgoing"

    robot_message_id = as_ids(
        call("wecom.message", "wecom_send_robot", [e2e.robot_id], {"msgtype": "markdown", "content": "**Deploy done**"})
    )
    robot_before = len(e2e.mock.robot_messages())
    app_before = len(e2e.mock.messages())
    e2e.run_cron()
    assert (read(message_id), read(robot_message_id)) == ("sent", "sent")
    assert [m["payload"]["toparty"] for m in e2e.mock.messages()[app_before:]] == ["2"]
    robot_payloads = [m["payload"] for m in e2e.mock.robot_messages()[robot_before:]]
    assert robot_payloads == [{"msgtype": "markdown", "markdown": {"content": "**Deploy done**"}}]
    listed = call(
        "wecom.message",
        "search_read",
        [[("id", "in", message_id + robot_message_id)]],
        {"fields": ["state", "channel", "msgid", "sent_date", "failure_type"], "order": "id"},
    )
    assert [(m["channel"], m["state"], bool(m["msgid"]), bool(m["sent_date"]), m["failure_type"]) for m in listed] == [
        ("application", "sent", True, True, False),
        ("robot", "sent", False, True, False),
    ]


# ---------------------------------------------------------------------- the README stays true (no Odoo needed)
def test_readme_has_every_rpc_example():
    blocks = readme_blocks("rpc-example")
    assert set(blocks) == {"xmlrpc", "jsonrpc", "json2"}
    for name, code in blocks.items():
        compile(code, f"README.md ({name} example)", "exec")
        variables = ("ODOO_URL", "ODOO_DB", "ODOO_API_KEY", "WECOM_APP_ID") + (
            ("ODOO_LOGIN",) if name != "json2" else ()
        )
        for variable in variables:
            assert variable in code, f"the {name} example does not read {variable}"


def test_readme_extend_section_shows_the_example_addon():
    blocks = readme_blocks("example")
    path = "tests/addons/wecom_example/models/wecom_example_ticket.py"
    assert path in blocks, "the Extend section must show the example addon's model"
    with open(EXAMPLE_MODEL, encoding="utf-8") as model:
        source = model.read()
    snippet = blocks[path].strip()
    assert snippet.startswith("from odoo import") and "class WeComExampleTicket" in snippet
    assert snippet in source, "README's Extend snippet differs from " + path
    assert source.rstrip().endswith(snippet), "README's Extend snippet stops before the end of " + path
