"""The WeCom client core (``wecom_base/lib``) against the mock WeCom, without Odoo."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
import traceback

import pytest
import requests

from wecom_base import const
from wecom_base.lib import (
    WeComApiError,
    WeComClient,
    WeComConfigError,
    WeComError,
    WeComNetworkError,
    WeComPermanentError,
    WeComResponseError,
    WeComRetryableError,
    WeComTokenError,
    check_base_url,
    error_from_response,
    redact,
    shared_session,
)
from wecom_base.tests.mock_wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_ROBOT_KEY, DEFAULT_SECRET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IP_ERRMSG = (
    "not allow to access from your ip, hint: [1608198211_31_5ceb4a8d6b59c83b6e48be59f1e5d16e], "
    "from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=60020"
)


def test_lib_imports_without_odoo():
    """The conftest's way of loading wecom_base.lib runs neither the addon's __init__ nor Odoo (checked in a
    fresh interpreter, so that other test files importing Odoo cannot hide or fake the result)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tests.conftest; "
        "import wecom_base.lib, wecom_base.const; "
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith(('odoo', 'wecom_base')))))"
    )
    result = subprocess.run([sys.executable, "-c", code, REPO], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "odoo" not in loaded and not any(m.startswith("odoo.") for m in loaded)
    assert "wecom_base.models" not in loaded, "the addon's __init__ must not run"
    assert {"wecom_base.lib", "wecom_base.lib.client", "wecom_base.lib.exceptions", "wecom_base.const"} <= set(loaded)


def get_token(client):
    return client.get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)[0]


def text_message(content="hello", touser="zhangsan", **extra):
    return {"touser": touser, "msgtype": "text", "agentid": DEFAULT_AGENT_ID, "text": {"content": content}, **extra}


def closed_port():
    """A local TCP port that nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SpySession(requests.Session):
    """A real ``requests.Session`` that records the keyword arguments of every request."""

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, **kwargs)


# ---------------------------------------------------------------------- gettoken
def test_get_token(client, mock):
    access_token, expires_in = client.get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)
    assert isinstance(access_token, str) and len(access_token) == 64
    assert expires_in == 7200
    assert mock.stats()["tokens_issued"] == 1
    # the token works
    assert client.get_agent(access_token, DEFAULT_AGENT_ID)["agentid"] == DEFAULT_AGENT_ID


def test_get_token_expires_in_from_wecom(client, mock):
    mock.set_config(token_expires_in=321)
    assert client.get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)[1] == 321


def test_get_token_checks_arguments_first(client, mock):
    with pytest.raises(WeComConfigError) as caught:
        client.get_token("", DEFAULT_SECRET)
    assert caught.value.errcode == 40013
    with pytest.raises(WeComConfigError) as caught:
        client.get_token(DEFAULT_CORP_ID, None)
    assert caught.value.errcode == 41004
    assert mock.count(const.PATH_GETTOKEN) == 0


@pytest.mark.parametrize(
    ("corpid", "secret", "errcode"),
    [(DEFAULT_CORP_ID, "wrong-secret", 40001), ("wwunknown", DEFAULT_SECRET, 40013)],
)
def test_get_token_config_errors_from_wecom(client, mock, corpid, secret, errcode):
    with pytest.raises(WeComConfigError) as caught:
        client.get_token(corpid, secret)
    assert caught.value.errcode == errcode
    assert caught.value.kind == "config" and not caught.value.retryable
    assert mock.count(const.PATH_GETTOKEN) == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"errcode": 0, "errmsg": "ok"}',
        '{"errcode": 0, "access_token": ""}',
        '{"errcode": 0, "access_token": 12}',
        json.dumps({"errcode": 0, "access_token": "t" * 513}),
    ],
)
def test_get_token_without_usable_token(client, mock, body):
    mock.add_fault(path=const.PATH_GETTOKEN, body=body, content_type="application/json")
    with pytest.raises(WeComResponseError, match="no usable access token"):
        get_token(client)


# ---------------------------------------------------------------------- errcode groups
ERRCODE_GROUPS = (
    [(code, WeComRetryableError, "retryable", True) for code in (-1, 45009, 45033)]
    + [(code, WeComTokenError, "token", False) for code in (40014, 42001, 41001)]
    + [
        (code, WeComConfigError, "config", False)
        for code in (40001, 40013, 40056, 40091, 41004, 48002, 60011, 60020, 93000)
    ]
    + [(code, WeComPermanentError, "permanent", False) for code in (81013, 82001, 40008, 12345)]
)


@pytest.mark.parametrize(("errcode", "cls", "kind", "retryable"), ERRCODE_GROUPS)
def test_errcode_groups(client, mock, errcode, cls, kind, retryable):
    access_token = get_token(client)
    mock.add_fault(path=const.PATH_AGENT_GET, errcode=errcode, errmsg=f"mock error {errcode}")
    with pytest.raises(WeComApiError) as caught:
        client.get_agent(access_token, DEFAULT_AGENT_ID)
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, WeComError)
    assert (error.errcode, error.kind, error.retryable) == (errcode, kind, retryable)
    assert error.errmsg == f"mock error {errcode}"
    assert error.response == {"errcode": errcode, "errmsg": f"mock error {errcode}"}
    assert str(errcode) in str(error)
    # the same mapping without the network
    direct = error_from_response({"errcode": errcode, "errmsg": "x"})
    assert (type(direct), direct.kind, direct.retryable) == (cls, kind, retryable)


def test_real_mock_errors_map_to_groups(client, mock):
    """Errors the mock produces itself (no fault rule) land in the right group too."""
    access_token = get_token(client)
    with pytest.raises(WeComConfigError) as caught:
        client.get_agent(access_token, 42)
    assert caught.value.errcode == 40056
    with pytest.raises(WeComPermanentError) as caught:
        client.send_message(access_token, text_message(touser="invalid_a|invalid_b"))
    assert caught.value.errcode == 81013
    with pytest.raises(WeComTokenError) as caught:
        client.get_agent("", DEFAULT_AGENT_ID)
    assert caught.value.errcode == 41001
    mock.expire_tokens()
    with pytest.raises(WeComTokenError) as caught:
        client.get_agent(access_token, DEFAULT_AGENT_ID)
    assert caught.value.errcode == 42001
    mock.revoke_tokens()
    with pytest.raises(WeComTokenError) as caught:
        client.send_message(access_token, text_message())
    assert caught.value.errcode == 40014
    with pytest.raises(WeComConfigError) as caught:
        client.robot_send("unknown-robot-key", {"msgtype": "text", "text": {"content": "x"}})
    assert caught.value.errcode == 93000


def test_robot_rate_limit_is_retryable(client, mock):
    mock.set_config(robot_rate_limit=2)
    message = {"msgtype": "text", "text": {"content": "x"}}
    client.robot_send(DEFAULT_ROBOT_KEY, message)
    client.robot_send(DEFAULT_ROBOT_KEY, message)
    with pytest.raises(WeComRetryableError) as caught:
        client.robot_send(DEFAULT_ROBOT_KEY, message)
    assert caught.value.errcode == 45009 and caught.value.retryable
    assert len(mock.robot_messages()) == 2


def test_ip_not_trusted_names_the_ip(client, mock):
    mock.add_fault(path=const.PATH_GETTOKEN, errcode=60020, errmsg=IP_ERRMSG)
    with pytest.raises(WeComConfigError) as caught:
        get_token(client)
    error = caught.value
    assert error.errcode == 60020 and error.kind == "config" and not error.retryable
    assert error.caller_ip == "203.0.113.7"
    message = str(error)
    assert "IP 203.0.113.7" in message
    assert "Add 203.0.113.7 to the trusted IPs" in message


def test_caller_ip_only_for_60020():
    error = error_from_response({"errcode": 48002, "errmsg": "api forbidden"})
    assert error.caller_ip is None
    assert "trusted" not in str(error)
    unknown = error_from_response({"errcode": 60020, "errmsg": "not allow to access from your ip"})
    assert unknown.caller_ip is None
    assert "unknown" in str(unknown) and "trusted IPs" in str(unknown)


# ---------------------------------------------------------------------- transport failures
def test_http_502_is_a_retryable_network_error(client, mock):
    mock.add_fault(path=const.PATH_GETTOKEN, status=502)
    with pytest.raises(WeComNetworkError) as caught:
        get_token(client)
    error = caught.value
    assert error.retryable and error.kind == "network"
    assert error.status_code == 502
    assert "502" in str(error)


def test_http_500_with_json_is_still_a_network_error(client, mock):
    mock.add_fault(
        path=const.PATH_GETTOKEN,
        status=500,
        body='{"errcode": 0, "access_token": "x"}',
        content_type="application/json",
    )
    with pytest.raises(WeComNetworkError) as caught:
        get_token(client)
    assert caught.value.status_code == 500


def test_dropped_connection(client, mock):
    mock.add_fault(path=const.PATH_GETTOKEN, drop=True)
    with pytest.raises(WeComNetworkError) as caught:
        get_token(client)
    assert caught.value.retryable and caught.value.status_code is None
    assert mock.count(const.PATH_GETTOKEN) == 1, "no hidden retry"
    assert get_token(client), "the client recovers on the next call"


def test_dropped_connection_on_a_pooled_connection(client, mock):
    access_token = get_token(client)  # opens a keep-alive connection
    mock.add_fault(path=const.PATH_MESSAGE_SEND, drop=True)
    with pytest.raises(WeComNetworkError):
        client.send_message(access_token, text_message())
    assert mock.count(const.PATH_MESSAGE_SEND) == 1
    assert client.send_message(access_token, text_message())["msgid"]


def test_timeout(mock):
    client = WeComClient(base_url=mock.url, timeout=0.5)
    mock.add_fault(path=const.PATH_GETTOKEN, delay=3)
    start = time.monotonic()
    with pytest.raises(WeComNetworkError, match=r"within 0\.5 s") as caught:
        get_token(client)
    elapsed = time.monotonic() - start
    assert 0.4 < elapsed < 2.5
    assert caught.value.retryable


def test_connection_refused(mock):
    client = WeComClient(base_url=f"http://127.0.0.1:{closed_port()}", timeout=2)
    with pytest.raises(WeComNetworkError, match="Could not reach WeCom") as caught:
        get_token(client)
    assert caught.value.retryable and caught.value.status_code is None


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"body": "<html><body>Welcome to nginx</body></html>", "content_type": "text/html"}, 200),
        ({"body": "<html>Not Found</html>", "status": 404}, 404),
        ({"body": "[1, 2]", "content_type": "application/json"}, 200),
        ({"body": '{"errcode": "zero"}', "content_type": "application/json"}, 200),
        ({"body": '{"oops": true}', "status": 403, "content_type": "application/json"}, 403),
    ],
)
def test_non_wecom_answer(client, mock, fault, status):
    mock.add_fault(path=const.PATH_GETTOKEN, **fault)
    with pytest.raises(WeComResponseError) as caught:
        get_token(client)
    error = caught.value
    assert not error.retryable and error.kind == "response"
    assert error.status_code == status
    assert "base URL" in str(error)
    assert not isinstance(error, (WeComNetworkError, WeComApiError))


def test_http_4xx_with_errcode_is_an_api_error(client, mock):
    mock.add_fault(path=const.PATH_GETTOKEN, status=400, errcode=40013, errmsg="invalid corpid")
    with pytest.raises(WeComConfigError) as caught:
        get_token(client)
    assert caught.value.errcode == 40013


# ---------------------------------------------------------------------- base URL and options
@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        "   ",
        "ftp://qyapi.weixin.qq.com",
        "qyapi.weixin.qq.com",
        "//qyapi.weixin.qq.com",
        "https://",
        "http://:8080",
        "https://qyapi.weixin.qq.com/?x=1",
        "https://qyapi.weixin.qq.com/#frag",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ],
)
def test_check_base_url_rejects(url):
    with pytest.raises(ValueError):
        check_base_url(url)
    with pytest.raises(ValueError):
        WeComClient(base_url=url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://qyapi.weixin.qq.com", "https://qyapi.weixin.qq.com"),
        ("https://qyapi.weixin.qq.com/", "https://qyapi.weixin.qq.com"),
        (" http://127.0.0.1:8900 ", "http://127.0.0.1:8900"),
        ("http://mock-wecom:8900/", "http://mock-wecom:8900"),
        ("https://proxy.example.com/wecom/", "https://proxy.example.com/wecom"),
    ],
)
def test_check_base_url_accepts(url, expected):
    assert check_base_url(url) == expected
    assert WeComClient(base_url=url).base_url == expected


def test_client_defaults_and_timeout_validation():
    client = WeComClient()
    assert client.base_url == const.DEFAULT_API_BASE_URL
    assert client.timeout == const.DEFAULT_TIMEOUT
    assert client.verify is True
    assert WeComClient(timeout="2.5").timeout == 2.5
    for bad in (-1, "-0.5"):
        with pytest.raises(ValueError):
            WeComClient(timeout=bad)


# ---------------------------------------------------------------------- secrets never leak
def test_redact():
    line = (
        "GET https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=S3CRET-VALUE&x=1 "
        "POST /cgi-bin/webhook/send?key=ROBOT-KEY-VALUE&type=file "
        "url: /cgi-bin/message/send?access_token=TOKEN-VALUE (Caused by X)"
    )
    masked = redact(line)
    for secret in ("S3CRET-VALUE", "ROBOT-KEY-VALUE", "TOKEN-VALUE"):
        assert secret not in masked
    assert "corpsecret=***" in masked and "key=***" in masked and "access_token=***" in masked
    assert "corpid=ww1" in masked and "x=1" in masked and "type=file" in masked
    assert "(Caused by X)" in masked
    assert redact("Access_Token=abc'xyz") == "Access_Token=***'xyz"
    assert redact("the secret LITERAL-SECRET leaked", secrets=["LITERAL-SECRET", None, ""]) == ("the secret *** leaked")
    assert redact("abc", secrets=["abc"]) == "abc", "values shorter than 4 characters are not masked"
    assert redact(None) is None
    assert redact(ValueError("access_token=T0K")) == "access_token=***"


def test_errmsg_with_secret_is_masked(client, mock):
    access_token = get_token(client)
    mock.add_fault(
        path=const.PATH_AGENT_GET,
        errcode=40014,
        errmsg=f"invalid access_token, url: /cgi-bin/agent/get?access_token={access_token}",
    )
    with pytest.raises(WeComTokenError) as caught:
        client.get_agent(access_token, DEFAULT_AGENT_ID)
    assert access_token not in str(caught.value)
    assert access_token not in caught.value.errmsg


def _assert_no_secret(texts, secrets):
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob, f"a secret leaked: ...{secret[-4:]}"


def test_no_secret_in_network_errors_or_lib_logs(caplog):
    secret, robot_key, access_token = "TOP-SECRET-corpsecret-1", "ROBOT-KEY-ab12cd34", "ACCESS-TOKEN-xyz987"
    url = f"http://127.0.0.1:{closed_port()}"
    # the premise: requests' own error text carries the whole URL, secrets included
    with pytest.raises(requests.ConnectionError) as raw:
        requests.get(url + "/cgi-bin/gettoken", params={"corpsecret": secret}, timeout=2)
    assert secret in str(raw.value)

    caplog.set_level(logging.DEBUG)
    client = WeComClient(base_url=url, timeout=2)
    errors = []
    calls = [
        lambda: client.get_token(DEFAULT_CORP_ID, secret),
        lambda: client.robot_send(robot_key, {"msgtype": "text", "text": {"content": "x"}}),
        lambda: client.robot_upload(robot_key, "a.txt", b"abc"),
        lambda: client.send_message(access_token, text_message()),
        lambda: client.upload_media(access_token, "file", "a.txt", b"abc"),
        lambda: client.get_agent(access_token, DEFAULT_AGENT_ID),
    ]
    for call in calls:
        with pytest.raises(WeComNetworkError) as caught:
            call()
        errors.append(caught.value)
    texts = []
    for error in errors:
        assert "Could not reach WeCom" in str(error)
        texts += [
            str(error),
            repr(error),
            error.message,
            *map(str, error.args),
            "".join(traceback.format_exception(error)),
        ]
    lib_records = [r for r in caplog.records if r.name.startswith("wecom_base")]
    texts += [r.getMessage() for r in lib_records]
    _assert_no_secret(texts, [secret, robot_key, access_token])


def test_no_secret_in_lib_debug_log_on_success(client, mock, caplog):
    caplog.set_level(logging.DEBUG)
    access_token = get_token(client)
    client.get_agent(access_token, DEFAULT_AGENT_ID)
    client.robot_send(DEFAULT_ROBOT_KEY, {"msgtype": "text", "text": {"content": "x"}})
    lib_records = [r for r in caplog.records if r.name.startswith("wecom_base")]
    messages = [r.getMessage() for r in lib_records]
    assert any(const.PATH_AGENT_GET in m for m in messages), "the lib logs its calls at DEBUG"
    assert any("access_token=***" in m for m in messages)
    _assert_no_secret(messages, [DEFAULT_SECRET, access_token, DEFAULT_ROBOT_KEY])


def test_no_secret_in_error_answers(client, mock, caplog):
    caplog.set_level(logging.DEBUG)
    access_token = get_token(client)
    faults = [dict(status=502), dict(body="<html>x</html>"), dict(errcode=-1), dict(drop=True)]
    texts = []
    for fault in faults:
        mock.add_fault(path=const.PATH_AGENT_GET, **fault)
        with pytest.raises(WeComError) as caught:
            client.get_agent(access_token, DEFAULT_AGENT_ID)
        texts += [str(caught.value), "".join(traceback.format_exception(caught.value))]
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("wecom_base")]
    _assert_no_secret(texts, [access_token, DEFAULT_SECRET])


def test_no_secret_in_any_log_record(client, mock, caplog):
    caplog.set_level(logging.DEBUG)
    access_token = get_token(client)
    client.robot_send(DEFAULT_ROBOT_KEY, {"msgtype": "text", "text": {"content": "x"}})
    _assert_no_secret([r.getMessage() for r in caplog.records], [DEFAULT_SECRET, access_token, DEFAULT_ROBOT_KEY])


# ---------------------------------------------------------------------- transport options
def test_every_request_has_timeout_and_tls_verification(mock):
    spy = SpySession()
    client = WeComClient(base_url=mock.url, timeout=3, session=spy)
    access_token = get_token(client)
    client.get_agent(access_token, DEFAULT_AGENT_ID)
    msgid = client.send_message(access_token, text_message())["msgid"]
    client.recall_message(access_token, msgid)
    client.upload_media(access_token, "file", "a.txt", b"abc")
    client.robot_send(DEFAULT_ROBOT_KEY, {"msgtype": "text", "text": {"content": "x"}})
    client.robot_upload(DEFAULT_ROBOT_KEY, "r.txt", b"abc")
    mock.add_fault(path=const.PATH_AGENT_GET, errcode=-1)
    with pytest.raises(WeComRetryableError):
        client.get_agent(access_token, DEFAULT_AGENT_ID)
    assert len(spy.calls) == 8
    for call in spy.calls:
        assert call["timeout"] == 3.0, call["url"]
        assert call["verify"] is True, call["url"]
        assert call["url"].startswith(mock.url + "/cgi-bin/")
    assert mock.stats()["tokens_issued"] == 1
    spy.close()


class SendSpy(requests.Session):
    """A shared session (no trust_env, our User-Agent) that records what it sends."""

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self.headers["User-Agent"] = "wecom_base (Odoo addon)"
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append((request, kwargs))
        return super().send(request, **kwargs)


def test_shared_session_sends_a_fresh_copy_of_one_prepared_request(mock, monkeypatch):
    """The shared session prepares a URL once and sends a copy per call: each with its own body and
    length, the session's headers, the timeout and TLS verification, and no redirects followed."""
    from wecom_base.lib import client as client_module

    spy = SendSpy()
    monkeypatch.setattr(client_module, "_session", spy)
    client = WeComClient(base_url=mock.url, timeout=3)
    assert client.session is spy
    access_token = get_token(client)
    client.send_message(access_token, text_message("one"))
    client.send_message(access_token, text_message("two, longer"))
    assert [m["payload"]["text"]["content"] for m in mock.messages()] == ["one", "two, longer"]
    sends = [prepared for prepared, _kwargs in spy.sent if const.PATH_MESSAGE_SEND in prepared.url]
    assert len(sends) == 2 and sends[0] is not sends[1]
    assert sends[0].body != sends[1].body
    for prepared, kwargs in spy.sent:
        assert kwargs["timeout"] == 3.0 and kwargs["allow_redirects"] is False
        assert kwargs["verify"] and kwargs["verify"] == client._transport["verify"]  # True, or the CA bundle
        assert prepared.headers["User-Agent"] == "wecom_base (Odoo addon)"
        assert int(prepared.headers.get("Content-Length") or 0) == len(prepared.body or b"")
    spy.close()


def test_verify_false_is_passed_on(mock):
    spy = SpySession()
    client = WeComClient(base_url=mock.url, timeout=1, session=spy, verify=False)
    get_token(client)
    assert spy.calls[0]["verify"] is False and spy.calls[0]["timeout"] == 1.0
    spy.close()


def test_shared_session():
    first = WeComClient()
    second = WeComClient(base_url="http://127.0.0.1:1", timeout=1)
    assert first.session is second.session is shared_session()
    assert isinstance(first.session, requests.Session)
    own = requests.Session()
    assert WeComClient(session=own).session is own
    assert shared_session() is first.session
    adapter = shared_session().get_adapter("https://qyapi.weixin.qq.com")
    assert adapter.max_retries.total == 0, "no hidden retries: the caller decides"
    own.close()


def test_shared_session_reads_the_environment_once_per_base_url(mock, monkeypatch, request):
    """requests' own lookup of proxies and CA bundle on every call is off on the shared session; the
    environment still applies, read when a client of a base URL is made (HTTP_PROXY, NO_PROXY)."""
    from wecom_base.lib import client as client_module

    assert shared_session().trust_env is False
    client_module._environment_settings.cache_clear()
    request.addfinalizer(client_module._environment_settings.cache_clear)  # nothing cached from this test
    monkeypatch.setenv("HTTP_PROXY", mock.url)  # the mock serves absolute-URI requests: a proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    via_proxy = WeComClient(base_url="http://wecom-through-a-proxy.invalid", timeout=3)
    assert via_proxy.get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)[0]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client_module._environment_settings.cache_clear()
    direct = WeComClient(base_url=mock.url, timeout=3)
    assert direct.get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)[0]
    assert mock.stats()["tokens_issued"] == 2
    monkeypatch.delenv("NO_PROXY")
    client_module._environment_settings.cache_clear()
    with pytest.raises(WeComNetworkError):
        WeComClient(base_url=mock.url, timeout=3).get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)


# ---------------------------------------------------------------------- the APIs against the mock
def test_get_agent(client):
    agent = client.get_agent(get_token(client), DEFAULT_AGENT_ID)
    assert agent["errcode"] == 0
    assert (agent["agentid"], agent["name"]) == (DEFAULT_AGENT_ID, "Mock App")
    assert agent["allow_userinfos"] == {"user": [{"userid": "zhangsan"}]}


def test_send_message(client, mock):
    access_token = get_token(client)
    answer = client.send_message(access_token, text_message("hi there"))
    assert answer["errcode"] == 0 and answer["msgid"]
    assert "invaliduser" not in answer
    [record] = mock.messages()
    assert record["payload"] == text_message("hi there")
    assert record["msgid"] == answer["msgid"]


def test_send_message_partial_delivery(client, mock):
    answer = client.send_message(
        get_token(client), text_message(touser="zhangsan|invalid_bob|unlicensed_tom", toparty="1|999", totag="9993")
    )
    assert answer["msgid"]
    assert answer["invaliduser"] == "invalid_bob"
    assert answer["invalidparty"] == "999"
    assert answer["invalidtag"] == "9993"
    assert answer["unlicenseduser"] == "unlicensed_tom"
    assert len(mock.messages()) == 1


def test_send_message_validation_errors(client):
    access_token = get_token(client)
    cases = [
        (text_message(touser=""), 82001),
        ({**text_message(), "msgtype": "sms"}, 40008),
        (text_message(""), 44004),
        (text_message("x" * 2049), 45002),
    ]
    for payload, errcode in cases:
        with pytest.raises(WeComPermanentError) as caught:
            client.send_message(access_token, payload)
        assert caught.value.errcode == errcode
        assert not caught.value.retryable


def test_utf8_json_body(mock):
    spy = SpySession()
    client = WeComClient(base_url=mock.url, timeout=2, session=spy)
    access_token = get_token(client)
    content = "你好，企业微信！" + "✓" + "🎉"
    client.send_message(access_token, text_message(content))
    call = spy.calls[-1]
    assert call["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert isinstance(call["data"], bytes)
    assert content.encode("utf-8") in call["data"], "UTF-8 on the wire, not \\u escapes"
    assert b"\\u" not in call["data"]
    assert mock.messages()[-1]["payload"]["text"]["content"] == content
    spy.close()


def test_byte_limits_count_utf8_bytes(client, mock):
    access_token = get_token(client)
    fits = "你" * 682 + "xx"  # 2046 + 2 = 2048 bytes
    client.send_message(access_token, text_message(fits))
    assert mock.messages()[-1]["payload"]["text"]["content"] == fits
    with pytest.raises(WeComPermanentError) as caught:
        client.send_message(access_token, text_message("你" * 683))  # 683 characters, 2049 bytes
    assert caught.value.errcode == 45002
    assert len(mock.messages()) == 1


def test_recall_message(client, mock):
    access_token = get_token(client)
    msgid = client.send_message(access_token, text_message())["msgid"]
    assert client.recall_message(access_token, msgid)["errcode"] == 0
    assert [r["msgid"] for r in mock.stats()["recalls"]] == [msgid]
    with pytest.raises(WeComPermanentError) as caught:
        client.recall_message(access_token, "unknown-msgid")
    assert caught.value.errcode == 40068


@pytest.mark.parametrize("media_type", ["image", "voice", "video", "file"])
def test_upload_media(client, mock, media_type):
    content = bytes(range(256)) * 8
    media_id = client.upload_media(get_token(client), media_type, "图片.png", content, "image/png")
    [upload] = mock.stats()["uploads"]
    assert upload["media_id"] == media_id
    assert (upload["type"], upload["filename"], upload["size"]) == (media_type, "图片.png", len(content))
    assert upload["content_type"] == "image/png"


def test_upload_media_errors(client, mock):
    access_token = get_token(client)
    with pytest.raises(WeComApiError) as caught:
        client.upload_media(access_token, "pdf", "a.pdf", b"%PDF")
    assert caught.value.errcode == 40004
    with pytest.raises(WeComApiError) as caught:
        client.upload_media(access_token, "file", "empty.txt", b"")
    assert caught.value.errcode == 41005
    assert mock.stats()["uploads"] == []


def test_robot_send(client, mock):
    payload = {"msgtype": "markdown", "markdown": {"content": "**磁盘** 已满 <@zhangsan>"}}
    answer = client.robot_send(DEFAULT_ROBOT_KEY, payload)
    assert answer == {"errcode": 0, "errmsg": "ok"}
    [record] = mock.robot_messages()
    assert record["payload"] == payload
    assert record["key_suffix"] == DEFAULT_ROBOT_KEY[-4:]
    assert mock.count(const.PATH_GETTOKEN) == 0, "robots need no access token"


def test_robot_upload(client, mock):
    media_id = client.robot_upload(DEFAULT_ROBOT_KEY, "报表.txt", b"robot file")
    [upload] = mock.stats()["uploads"]
    assert (upload["media_id"], upload["type"], upload["filename"], upload["size"]) == (
        media_id,
        "file",
        "报表.txt",
        10,
    )
    client.robot_send(DEFAULT_ROBOT_KEY, {"msgtype": "file", "file": {"media_id": media_id}})
    assert mock.robot_messages()[-1]["payload"]["file"]["media_id"] == media_id


def test_robot_key_required(client, mock):
    for call in (
        lambda: client.robot_send("", {"msgtype": "text", "text": {"content": "x"}}),
        lambda: client.robot_upload(None, "a.txt", b"abc"),
    ):
        with pytest.raises(WeComConfigError) as caught:
            call()
        assert caught.value.errcode == 93000
    stats = mock.stats()
    assert stats["counts"] == {}, "refused before any request"


def test_call_passes_extra_params(client, mock):
    answer = client.call("/cgi-bin/getcallbackip", get_token(client), method="GET")
    assert answer["ip_list"]
    assert mock.count("/cgi-bin/getcallbackip") == 1
