"""The mock WeCom itself: every endpoint, every fault kind, tokens, throttling, duplicate check, control."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from wecom_base.tests.mock_wecom import (
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_ROBOT_KEY,
    DEFAULT_SECRET,
    MockWeCom,
    MockWeComControl,
    mask,
    parse_multipart,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GETTOKEN = "/cgi-bin/gettoken"
AGENT_GET = "/cgi-bin/agent/get"
SEND = "/cgi-bin/message/send"
RECALL = "/cgi-bin/message/recall"
UPLOAD = "/cgi-bin/media/upload"
ROBOT_SEND = "/cgi-bin/webhook/send"
ROBOT_UPLOAD = "/cgi-bin/webhook/upload_media"
CALLBACK_IP = "/cgi-bin/getcallbackip"


@pytest.fixture(scope="module")
def web():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


class Api:
    """Raw HTTP calls to the mock, as WeCom clients make them."""

    def __init__(self, mock, web):
        self.mock, self.web = mock, web

    def get(self, path, **params):
        return self.web.get(self.mock.url + path, params=params, timeout=5)

    def post(self, path, payload=None, data=None, files=None, **params):
        return self.web.post(self.mock.url + path, params=params, json=payload, data=data, files=files, timeout=5)

    def gettoken(self, corpid=DEFAULT_CORP_ID, corpsecret=DEFAULT_SECRET):
        return self.get(GETTOKEN, corpid=corpid, corpsecret=corpsecret).json()

    def token(self, corpid=DEFAULT_CORP_ID, corpsecret=DEFAULT_SECRET):
        answer = self.gettoken(corpid, corpsecret)
        assert answer["errcode"] == 0, answer
        return answer["access_token"]

    def send(self, token, payload):
        return self.post(SEND, payload, access_token=token).json()

    def robot(self, payload, key=DEFAULT_ROBOT_KEY):
        return self.post(ROBOT_SEND, payload, key=key).json()


@pytest.fixture
def api(mock, web):
    return Api(mock, web)


def text(content="hello", touser="zhangsan", **extra):
    return {"touser": touser, "msgtype": "text", "agentid": DEFAULT_AGENT_ID, "text": {"content": content}, **extra}


# ---------------------------------------------------------------------- gettoken and tokens
def test_gettoken_issues_distinct_tokens(api, mock):
    first, second = api.gettoken(), api.gettoken()
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert first["expires_in"] == 7200
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", first["access_token"])
    assert first["access_token"] != second["access_token"]
    stats = mock.stats()
    assert stats["tokens_issued"] == 2
    assert stats["counts"][GETTOKEN] == 2


@pytest.mark.parametrize(
    ("params", "errcode", "errmsg"),
    [
        ({"corpid": "wwunknown", "corpsecret": DEFAULT_SECRET}, 40013, "invalid corpid"),
        ({"corpsecret": DEFAULT_SECRET}, 40013, "invalid corpid"),
        ({"corpid": DEFAULT_CORP_ID}, 41004, None),
        ({"corpid": DEFAULT_CORP_ID, "corpsecret": ""}, 41004, None),
        ({"corpid": DEFAULT_CORP_ID, "corpsecret": "wrong-secret"}, 40001, "invalid credential"),
    ],
)
def test_gettoken_errors(api, mock, params, errcode, errmsg):
    response = api.get(GETTOKEN, **params)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["errcode"] == errcode
    assert "access_token" not in answer
    if errmsg:
        assert answer["errmsg"] == errmsg
    assert mock.stats()["tokens_issued"] == 0


def test_token_checks(api, mock):
    token = api.token()
    assert api.send(token, text())["errcode"] == 0
    assert api.post(SEND, text()).json()["errcode"] == 41001  # no access_token at all
    assert api.send("", text())["errcode"] == 41001
    unknown = api.send("x" * 64, text())
    assert (unknown["errcode"], unknown["errmsg"]) == (40014, "invalid access_token")


def test_expire_tokens(api, mock):
    old = api.token()
    mock.expire_tokens()
    answer = api.send(old, text())
    assert (answer["errcode"], answer["errmsg"]) == (42001, "access_token expired")
    assert api.get(AGENT_GET, access_token=old, agentid=DEFAULT_AGENT_ID).json()["errcode"] == 42001
    new = api.token()
    assert api.send(new, text())["errcode"] == 0, "tokens issued after expire_tokens() work"


def test_revoke_tokens(api, mock):
    old = api.token()
    mock.revoke_tokens()
    assert api.send(old, text())["errcode"] == 40014
    assert api.send(api.token(), text())["errcode"] == 0


def test_token_expires_with_time(api, mock):
    mock.set_config(token_expires_in=0.4)
    answer = api.gettoken()
    assert answer["expires_in"] == 0.4
    assert api.send(answer["access_token"], text())["errcode"] == 0
    time.sleep(0.5)
    assert api.send(answer["access_token"], text())["errcode"] == 42001


def test_travel_expires_tokens(api, mock):
    mock.set_config(token_expires_in=100)
    token = api.token()
    mock.travel(99)
    assert api.send(token, text())["errcode"] == 0
    mock.travel(2)
    assert api.send(token, text())["errcode"] == 42001


def test_token_bound_to_its_app(api, mock):
    mock.add_app("wwsecondcorp", "second-secret", 2000001, name="Second")
    token = api.token("wwsecondcorp", "second-secret")
    assert api.send(token, text())["errcode"] == 40056, "a token of another app"
    assert api.get(AGENT_GET, access_token=token, agentid=DEFAULT_AGENT_ID).json()["errcode"] == 40056
    assert api.get(AGENT_GET, access_token=token, agentid=2000001).json()["name"] == "Second"
    assert api.gettoken("wwsecondcorp", DEFAULT_SECRET)["errcode"] == 40001, "secrets are per corp"


# ---------------------------------------------------------------------- agent/get, getcallbackip
def test_agent_get(api):
    token = api.token()
    answer = api.get(AGENT_GET, access_token=token, agentid=DEFAULT_AGENT_ID).json()
    assert answer["errcode"] == 0
    assert answer["agentid"] == DEFAULT_AGENT_ID and answer["name"] == "Mock App"
    assert answer["allow_userinfos"] == {"user": [{"userid": "zhangsan"}]}
    assert answer["allow_partys"] == {"partyid": [1]}
    assert answer["allow_tags"] == {"tagid": [1]}
    assert (answer["close"], answer["isreportenter"], answer["report_location_flag"]) == (0, 0, 0)
    assert answer["redirect_domain"] == "odoo.example.com"
    assert answer["home_url"] == "https://odoo.example.com"
    assert answer["square_logo_url"].startswith("https://") and answer["description"]
    for agentid in (1000003, "abc", ""):
        wrong = api.get(AGENT_GET, access_token=token, agentid=agentid).json()
        assert (wrong["errcode"], wrong["errmsg"]) == (40056, "invalid agentid")
    assert api.get(AGENT_GET, agentid=DEFAULT_AGENT_ID).json()["errcode"] == 41001


def test_add_app_with_custom_info(api, mock):
    mock.add_app(
        DEFAULT_CORP_ID,
        "mock-secret-1000003",
        1000003,
        name="Second App",
        close=1,
        home_url="https://other.example.com",
    )
    token = api.token(DEFAULT_CORP_ID, "mock-secret-1000003")
    answer = api.get(AGENT_GET, access_token=token, agentid=1000003).json()
    assert (answer["agentid"], answer["name"], answer["close"], answer["home_url"]) == (
        1000003,
        "Second App",
        1,
        "https://other.example.com",
    )
    assert answer["redirect_domain"] == "odoo.example.com", "defaults fill what is not given"
    # the default app is still there
    assert api.get(AGENT_GET, access_token=api.token(), agentid=DEFAULT_AGENT_ID).json()["name"] == "Mock App"


def test_getcallbackip(api):
    answer = api.get(CALLBACK_IP, access_token=api.token()).json()
    assert answer["errcode"] == 0
    assert answer["ip_list"] and all(isinstance(ip, str) for ip in answer["ip_list"])
    assert api.get(CALLBACK_IP).json()["errcode"] == 41001


# ---------------------------------------------------------------------- message/send
@pytest.mark.parametrize(
    ("msgtype", "body"),
    [
        ("text", {"content": "hi"}),
        ("markdown", {"content": "**hi**"}),
        ("textcard", {"title": "t", "description": "d", "url": "https://x"}),
        ("news", {"articles": [{"title": "t", "url": "https://x"}]}),
        ("mpnews", {"articles": [{"title": "t", "thumb_media_id": "m", "content": "c"}]}),
        ("image", {"media_id": "m"}),
        ("voice", {"media_id": "m"}),
        ("video", {"media_id": "m", "title": "t"}),
        ("file", {"media_id": "m"}),
        ("template_card", {"card_type": "text_notice", "main_title": {"title": "t"}}),
        ("miniprogram_notice", {"appid": "wx1", "title": "t"}),
    ],
)
def test_send_each_msgtype(api, mock, msgtype, body):
    payload = {"touser": "zhangsan", "msgtype": msgtype, "agentid": DEFAULT_AGENT_ID, msgtype: body}
    answer = api.send(api.token(), payload)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["msgid"]
    for field in ("invaliduser", "invalidparty", "invalidtag", "unlicenseduser"):
        assert field not in answer
    [record] = mock.messages()
    assert record["payload"] == payload
    assert record["msgid"] == answer["msgid"]
    assert record["agentid"] == DEFAULT_AGENT_ID
    assert (record["delivered"], record["duplicate"]) == (True, False)
    assert abs(record["at"] - time.time()) < 5


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"msgtype": "sms"}, 40008),
        ({"msgtype": None}, 40008),
        ({"text": {"content": ""}}, 44004),
        ({"text": {}}, 44004),
        ({"text": None}, 44004),
        ({"msgtype": "markdown", "markdown": {"content": ""}}, 44004),
        ({"msgtype": "image", "image": None}, 40008),
        ({"text": {"content": "x" * 2049}}, 45002),
        ({"msgtype": "markdown", "markdown": {"content": "x" * 2049}}, 45002),
        ({"text": {"content": "你" * 683}}, 45002),  # 2049 bytes in UTF-8, 683 characters
        ({"agentid": 1000003}, 40056),
        ({"agentid": None}, 40056),
        ({"touser": "", "toparty": "", "totag": ""}, 82001),
        ({"touser": None}, 82001),
        ({"touser": "invalid_a|invalid_b"}, 81013),
        ({"touser": "invalid_a", "toparty": "999", "totag": "9991"}, 81013),
        ({"touser": "", "toparty": "999|9990"}, 81013),
    ],
)
def test_send_rejected(api, mock, change, errcode):
    payload = {**text(), **change}
    answer = api.send(api.token(), payload)
    assert answer["errcode"] == errcode, answer
    assert "msgid" not in answer
    assert mock.messages() == [], "a rejected message is not recorded"
    assert mock.count(SEND) == 1


def test_send_byte_limit_counts_utf8(api, mock):
    token = api.token()
    assert api.send(token, text("x" * 2048))["errcode"] == 0
    exactly = "你好" * 341 + "ab"  # 2046 + 2 = 2048 bytes, 684 characters
    assert len(exactly.encode("utf-8")) == 2048
    assert api.send(token, text(exactly))["errcode"] == 0
    assert mock.messages()[-1]["payload"]["text"]["content"] == exactly


def test_send_invalid_json(api, mock):
    token = api.token()
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        answer = api.post(SEND, data=body, access_token=token).json()
        assert answer["errcode"] == 47001
    assert mock.messages() == []


def test_send_partial_delivery(api, mock):
    answer = api.send(api.token(), text(touser="zhangsan|Invalid_Bob|unlicensed_tom", toparty="1|999", totag="9992|2"))
    assert answer["errcode"] == 0 and answer["msgid"]
    assert answer["invaliduser"] == "invalid_bob", "WeCom lowercases invalid userids"
    assert answer["invalidparty"] == "999"
    assert answer["invalidtag"] == "9992"
    assert answer["unlicenseduser"] == "unlicensed_tom"
    [record] = mock.messages()
    assert record["delivered"] is True


def test_send_only_unlicensed_is_not_all_invalid(api):
    answer = api.send(api.token(), text(touser="unlicensed_a|invalid_b"))
    assert answer["errcode"] == 0
    assert (answer["invaliduser"], answer["unlicenseduser"]) == ("invalid_b", "unlicensed_a")


def test_send_to_all(api, mock):
    answer = api.send(api.token(), text(touser="@all", toparty="999", totag="999"))
    assert answer["errcode"] == 0
    assert "invalidparty" not in answer and "invalidtag" not in answer, "WeCom ignores toparty/totag with @all"


def test_send_party_or_tag_only(api):
    token = api.token()
    assert api.send(token, text(touser="", toparty="1"))["errcode"] == 0
    assert api.send(token, text(touser="", totag="2"))["errcode"] == 0
    assert api.send(token, text(touser="", toparty=1))["errcode"] == 0, "an int party id works too"


def test_send_keeps_utf8(api, mock):
    content = "你好，企业微信 ✓ emoji 🎉"
    raw = json.dumps(text(content), ensure_ascii=False).encode("utf-8")
    answer = api.post(SEND, data=raw, access_token=api.token()).json()
    assert answer["errcode"] == 0
    assert mock.messages()[0]["payload"]["text"]["content"] == content


# ---------------------------------------------------------------------- duplicate check
def test_duplicate_check(api, mock):
    token = api.token()
    assert api.send(token, text("dup"))["errcode"] == 0
    # a resend with the duplicate check on is a duplicate of the plain first send
    second = api.send(token, text("dup", enable_duplicate_check=1, duplicate_check_interval=60))
    assert second["errcode"] == 0 and second["msgid"]
    # without the check, the same content is delivered again
    assert api.send(token, text("dup"))["errcode"] == 0
    # other content is no duplicate
    assert api.send(token, text("other", enable_duplicate_check=1))["errcode"] == 0
    # key order does not matter (canonical JSON)
    reordered = dict(reversed(list(text("other", enable_duplicate_check=1).items())))
    assert api.send(token, reordered)["errcode"] == 0
    records = mock.messages()
    assert [(r["delivered"], r["duplicate"]) for r in records] == [
        (True, False),
        (False, True),
        (True, False),
        (True, False),
        (False, True),
    ]
    msgids = [r["msgid"] for r in records]
    assert len(set(msgids)) == len(msgids), "a duplicate still gets its own msgid"
    assert msgids[1] == second["msgid"]


def test_duplicate_check_interval(api, mock):
    token = api.token()
    api.send(token, text("late"))
    mock.travel(1801)
    assert api.send(token, text("late", enable_duplicate_check=1))["errcode"] == 0  # default interval 1800 s
    assert api.send(token, text("late", enable_duplicate_check=1, duplicate_check_interval=4 * 3600))["errcode"] == 0
    assert [r["delivered"] for r in mock.messages()] == [True, True, False]


def test_duplicate_check_per_agent(api, mock):
    mock.add_app(DEFAULT_CORP_ID, "mock-secret-1000003", 1000003)
    api.send(api.token(), text("same"))
    other = api.token(DEFAULT_CORP_ID, "mock-secret-1000003")
    assert api.send(other, {**text("same", enable_duplicate_check=1), "agentid": 1000003})["errcode"] == 0
    assert [(r["agentid"], r["delivered"]) for r in mock.messages()] == [(DEFAULT_AGENT_ID, True), (1000003, True)]


# ---------------------------------------------------------------------- message/recall
def test_recall(api, mock):
    token = api.token()
    msgid = api.send(token, text())["msgid"]
    answer = api.post(RECALL, {"msgid": msgid}, access_token=token).json()
    assert answer == {"errcode": 0, "errmsg": "ok"}
    [recall] = mock.stats()["recalls"]
    assert recall["msgid"] == msgid
    unknown = api.post(RECALL, {"msgid": "nope"}, access_token=token).json()
    assert (unknown["errcode"], unknown["errmsg"]) == (40068, "invalid msgid")
    assert api.post(RECALL, {"msgid": msgid}).json()["errcode"] == 41001
    assert len(mock.stats()["recalls"]) == 1


def test_recall_after_24_hours(api, mock):
    mock.set_config(token_expires_in=10**6)
    token = api.token()
    old = api.send(token, text("old"))["msgid"]
    mock.travel(23 * 3600)
    fresh = api.send(token, text("fresh"))["msgid"]
    mock.travel(3600 + 1)
    assert api.post(RECALL, {"msgid": old}, access_token=token).json()["errcode"] == 40068
    assert api.post(RECALL, {"msgid": fresh}, access_token=token).json()["errcode"] == 0


# ---------------------------------------------------------------------- media uploads
@pytest.mark.parametrize("media_type", ["image", "voice", "video", "file"])
def test_media_upload(api, mock, media_type):
    content = bytes(range(256)) * 40 + b"\r\n--boundary-ish\r\n\r\n"
    response = api.post(
        UPLOAD,
        files={"media": ("报告 1.bin", content, "application/octet-stream")},
        access_token=api.token(),
        type=media_type,
    )
    answer = response.json()
    assert answer["errcode"] == 0 and answer["type"] == media_type and answer["media_id"]
    assert answer["created_at"].isdigit() and abs(int(answer["created_at"]) - time.time()) < 5
    [upload] = mock.stats()["uploads"]
    assert (upload["type"], upload["filename"], upload["size"]) == (media_type, "报告 1.bin", len(content))
    assert upload["media_id"] == answer["media_id"]


def test_media_upload_errors(api, mock):
    token = api.token()
    files = {"media": ("a.txt", b"abc", "text/plain")}
    assert api.post(UPLOAD, files=files, access_token=token, type="pdf").json()["errcode"] == 40004
    assert api.post(UPLOAD, files=files, access_token=token).json()["errcode"] == 40004
    other_field = {"other": ("a.txt", b"abc", "text/plain")}
    assert api.post(UPLOAD, files=other_field, access_token=token, type="file").json()["errcode"] == 41005
    assert api.post(UPLOAD, data=b"raw", access_token=token, type="file").json()["errcode"] == 41005
    empty = {"media": ("a.txt", b"", "text/plain")}
    assert api.post(UPLOAD, files=empty, access_token=token, type="file").json()["errcode"] == 41005
    assert api.post(UPLOAD, files=files, type="file").json()["errcode"] == 41001
    assert mock.stats()["uploads"] == []


def test_robot_upload(api, mock):
    answer = api.post(
        ROBOT_UPLOAD, files={"media": ("r.txt", b"robot file", "text/plain")}, key=DEFAULT_ROBOT_KEY, type="file"
    ).json()
    assert answer["errcode"] == 0 and answer["type"] == "file" and answer["media_id"]
    [upload] = mock.stats()["uploads"]
    assert (upload["type"], upload["filename"], upload["size"]) == ("file", "r.txt", 10)
    bad = api.post(ROBOT_UPLOAD, files={"media": ("r.txt", b"x", "text/plain")}, key="unknown-key", type="file")
    assert bad.json()["errcode"] == 93000
    assert len(mock.stats()["uploads"]) == 1


def test_parse_multipart_rfc2231_filename():
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; name=\"media\"; filename*=utf-8''%E4%BD%A0.txt\r\n"
        b"Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n"
    )
    fields = parse_multipart('multipart/form-data; boundary="XyZ"', body)
    assert fields["media"] == {"filename": "你.txt", "content_type": "text/plain", "data": b"line1\r\nline2"}
    assert parse_multipart("application/json", body) is None


# ---------------------------------------------------------------------- group robots
def test_robot_send(api, mock):
    payload = {"msgtype": "markdown", "markdown": {"content": "**告警** <@zhangsan>"}}
    assert api.robot(payload) == {"errcode": 0, "errmsg": "ok"}
    [record] = mock.robot_messages()
    assert record["payload"] == payload
    assert record["key_suffix"] == DEFAULT_ROBOT_KEY[-4:]
    assert abs(record["at"] - time.time()) < 5
    assert DEFAULT_ROBOT_KEY not in json.dumps(mock.stats()), "the stats never hold a whole robot key"
    assert mock.count("/cgi-bin/gettoken") == 0


@pytest.mark.parametrize("msgtype", ["text", "markdown", "image", "news", "file", "template_card"])
def test_robot_msgtypes(api, mock, msgtype):
    assert api.robot({"msgtype": msgtype, msgtype: {"content": "x"}})["errcode"] == 0
    assert len(mock.robot_messages()) == 1


def test_robot_errors(api, mock):
    for key in ("unknown-key", ""):
        answer = api.robot({"msgtype": "text", "text": {"content": "x"}}, key=key)
        assert (answer["errcode"], answer["errmsg"]) == (93000, "invalid webhook url")
    assert api.post(ROBOT_SEND, {"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == 93000
    assert api.robot({"msgtype": "textcard", "textcard": {"title": "x"}})["errcode"] == 40008
    assert api.robot({"msgtype": "text"})["errcode"] == 40008
    assert api.post(ROBOT_SEND, data=b"nope", key=DEFAULT_ROBOT_KEY).json()["errcode"] == 47001
    assert mock.robot_messages() == []


def test_robot_rate_limit_sliding_window(api, mock):
    mock.set_config(robot_rate_limit=3)
    mock.add_robot("second-robot-key")
    message = {"msgtype": "text", "text": {"content": "x"}}
    codes = [api.robot(message)["errcode"] for _ in range(4)]
    assert codes == [0, 0, 0, 45009]
    limited = api.robot(message)
    assert (limited["errcode"], limited["errmsg"]) == (45009, "api freq out of limit")
    assert api.robot(message, key="second-robot-key")["errcode"] == 0, "the limit is per robot"
    mock.travel(61)
    assert [api.robot(message)["errcode"] for _ in range(4)] == [0, 0, 0, 45009]
    assert len(mock.robot_messages()) == 7
    assert mock.robot_messages()[3]["key_suffix"] == "-key"


def test_robot_default_rate_limit_is_20(api, mock):
    message = {"msgtype": "text", "text": {"content": "x"}}
    codes = [api.robot(message)["errcode"] for _ in range(21)]
    assert codes == [0] * 20 + [45009]


def test_robot_rate_window_slides(api, mock):
    mock.set_config(robot_rate_limit=2)
    message = {"msgtype": "text", "text": {"content": "x"}}
    assert api.robot(message)["errcode"] == 0
    mock.travel(30)
    assert api.robot(message)["errcode"] == 0
    assert api.robot(message)["errcode"] == 45009
    mock.travel(31)  # the first send is out of the window, the second is not
    assert api.robot(message)["errcode"] == 0
    assert api.robot(message)["errcode"] == 45009


# ---------------------------------------------------------------------- unknown paths
def test_unknown_path(api, mock):
    response = api.get("/cgi-bin/tag/get", access_token="x")
    assert response.status_code == 404
    assert response.json() == {"errcode": 404, "errmsg": "unknown path"}
    assert mock.count("/cgi-bin/tag/get") == 1


# ---------------------------------------------------------------------- fault injection
def test_fault_errcode(api, mock):
    mock.add_fault(path=SEND, errcode=45009, errmsg="api freq out of limit")
    token = api.token()
    assert api.send(token, text()) == {"errcode": 45009, "errmsg": "api freq out of limit"}
    assert api.send(token, text())["errcode"] == 0, "times=1 by default"
    assert mock.count(SEND) == 2, "faulted requests are counted"
    assert len(mock.messages()) == 1, "the faulted request was not handled"


def test_fault_errcode_default_errmsg(api, mock):
    mock.add_fault(path=GETTOKEN, errcode=-1)
    answer = api.gettoken()
    assert answer["errcode"] == -1 and answer["errmsg"]


def test_fault_http_status(api, mock):
    mock.add_fault(path=GETTOKEN, status=502)
    response = api.get(GETTOKEN, corpid=DEFAULT_CORP_ID, corpsecret=DEFAULT_SECRET)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text
    assert mock.stats()["tokens_issued"] == 0


def test_fault_http_status_with_body(api, mock):
    mock.add_fault(path=GETTOKEN, status=503, body='{"oops": 1}', content_type="application/json")
    response = api.get(GETTOKEN)
    assert (response.status_code, response.json()) == (503, {"oops": 1})
    assert response.headers["Content-Type"] == "application/json"


def test_fault_body_alone(api, mock):
    mock.add_fault(path=GETTOKEN, body="<html><body>Welcome to nginx</body></html>")
    response = api.get(GETTOKEN, corpid=DEFAULT_CORP_ID, corpsecret=DEFAULT_SECRET)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<html><body>Welcome to nginx</body></html>"


def test_fault_drop(api, mock, web):
    mock.add_fault(path=GETTOKEN, drop=True)
    with pytest.raises(requests.ConnectionError):
        web.get(mock.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5)
    assert api.gettoken()["errcode"] == 0, "the next request is answered"
    assert mock.count(GETTOKEN) == 2


def test_fault_delay_then_normal(api, mock):
    mock.add_fault(path=GETTOKEN, delay=0.4)
    start = time.monotonic()
    assert api.gettoken()["errcode"] == 0
    assert time.monotonic() - start >= 0.4
    start = time.monotonic()
    assert api.gettoken()["errcode"] == 0
    assert time.monotonic() - start < 0.4


def test_fault_delay_with_errcode(api, mock):
    mock.add_fault(path=GETTOKEN, delay=0.3, errcode=-1)
    start = time.monotonic()
    assert api.gettoken()["errcode"] == -1
    assert time.monotonic() - start >= 0.3


def test_fault_delay_beyond_client_timeout(api, mock, web):
    mock.add_fault(path=GETTOKEN, delay=1)
    start = time.monotonic()
    with pytest.raises(requests.Timeout):
        web.get(mock.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=0.3)
    assert time.monotonic() - start < 0.9


def test_delayed_request_abandoned_after_reset(api, mock, web):
    """A request still sleeping in a fault delay when the mock is reset must not leak into the next test."""
    mock.add_fault(path=GETTOKEN, delay=0.5)
    with pytest.raises(requests.Timeout):
        web.get(mock.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=0.1)
    mock.reset()
    time.sleep(0.7)
    assert mock.stats()["tokens_issued"] == 0


def test_fault_after_and_times(api, mock):
    mock.add_fault(path=GETTOKEN, errcode=-1, after=1, times=2)
    assert [api.gettoken()["errcode"] for _ in range(4)] == [0, -1, -1, 0]
    assert mock.count(GETTOKEN) == 4
    assert mock.stats()["faults"] == [], "a used-up rule is removed"


def test_fault_forever_until_cleared(api, mock):
    mock.add_fault(path=GETTOKEN, errcode=-1, times=-1)
    assert [api.gettoken()["errcode"] for _ in range(5)] == [-1] * 5
    assert len(mock.stats()["faults"]) == 1
    mock.clear_faults()
    assert api.gettoken()["errcode"] == 0
    assert mock.stats()["faults"] == []


def test_fault_wildcard_and_path_match(api, mock):
    token = api.token()
    mock.add_fault(path=SEND, errcode=48002)
    assert api.get(AGENT_GET, access_token=token, agentid=DEFAULT_AGENT_ID).json()["errcode"] == 0, "other path"
    assert api.send(token, text())["errcode"] == 48002
    mock.add_fault(errcode=-1, times=2)  # path "*"
    assert api.robot({"msgtype": "text", "text": {"content": "x"}})["errcode"] == -1
    assert mock.stats()["counts"][ROBOT_SEND] == 1, "control requests are not faulted"
    assert api.get(AGENT_GET, access_token=token, agentid=DEFAULT_AGENT_ID).json()["errcode"] == -1
    assert api.send(token, text())["errcode"] == 0


def test_fault_rules_in_order(api, mock):
    mock.add_fault(path=GETTOKEN, errcode=-1)
    mock.add_fault(path=GETTOKEN, errcode=45033)
    assert [api.gettoken()["errcode"] for _ in range(3)] == [-1, 45033, 0]


def test_bad_fault_rejected(mock):
    with pytest.raises(RuntimeError, match="unknown fault keys"):
        mock._call("POST", "/_mock/faults", {"path": GETTOKEN, "errcod": 1})
    with pytest.raises(RuntimeError):
        mock.add_fault(path=GETTOKEN, errcode=-1, times=0)
    assert mock.stats()["faults"] == []


# ---------------------------------------------------------------------- control
def test_reset_restores_defaults(api, mock):
    mock.add_app("wwother", "other-secret", 7)
    mock.add_robot("extra-robot-key")
    mock.set_config(token_expires_in=5, robot_rate_limit=1)
    token = api.token()
    api.send(token, text())
    api.robot({"msgtype": "text", "text": {"content": "x"}}, key="extra-robot-key")
    api.post(UPLOAD, files={"media": ("a", b"abc", "text/plain")}, access_token=token, type="file")
    mock.add_fault(path=GETTOKEN, errcode=-1, times=-1)
    mock.travel(10)

    mock.reset()
    stats = mock.stats()
    assert stats == {
        "counts": {},
        "tokens_issued": 0,
        "messages": [],
        "robot_messages": [],
        "uploads": [],
        "recalls": [],
        "faults": [],
        "max_in_flight": 0,
    }
    assert api.gettoken("wwother", "other-secret")["errcode"] == 40013, "added apps are gone"
    assert api.robot({"msgtype": "text", "text": {"content": "x"}}, key="extra-robot-key")["errcode"] == 93000
    answer = api.gettoken()
    assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    assert api.send(token, text())["errcode"] == 40014, "tokens of before the reset are unknown"
    assert [api.robot({"msgtype": "text", "text": {"content": "x"}})["errcode"] for _ in range(2)] == [0, 0]


def test_set_config_corp_id(api, mock):
    mock.set_config(corp_id="wwnewcorp0000000")
    assert api.gettoken()["errcode"] == 40013
    assert api.gettoken("wwnewcorp0000000")["errcode"] == 0
    with pytest.raises(RuntimeError, match="unknown config keys"):
        mock.set_config(nope=1)


def test_control_errors(mock):
    with pytest.raises(RuntimeError, match="unknown control path"):
        mock._call("POST", "/_mock/nope", {})
    with pytest.raises(RuntimeError):
        mock._call("POST", "/_mock/apps", {"corp_id": "x"})  # secret and agentid missing


def test_control_client_drives_running_mock(mock, api):
    control = MockWeComControl(mock.url + "/")
    assert control.url == mock.url
    control.add_app("wwcontrol", "control-secret", 42, name="Via Control")
    control.add_robot("control-robot")
    token = api.token("wwcontrol", "control-secret")
    assert api.get(AGENT_GET, access_token=token, agentid=42).json()["name"] == "Via Control"
    assert api.robot({"msgtype": "text", "text": {"content": "x"}}, key="control-robot")["errcode"] == 0
    assert control.count(GETTOKEN) == 1
    assert control.count("/never/called") == 0
    assert len(control.robot_messages()) == 1
    assert control.messages() == []
    control.reset()
    assert control.stats()["tokens_issued"] == 0
    control.close()


# ---------------------------------------------------------------------- HTTP behaviour
def test_keep_alive_and_content_length(mock):
    host, port = mock.url.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", f"{GETTOKEN}?corpid={DEFAULT_CORP_ID}&corpsecret={DEFAULT_SECRET}")
            response = connection.getresponse()
            body = response.read()
            assert response.version == 11
            assert int(response.getheader("Content-Length")) == len(body)
            assert json.loads(body)["errcode"] == 0
        sock = connection.sock
        connection.request("GET", "/nope")
        response = connection.getresponse()
        assert int(response.getheader("Content-Length")) == len(response.read())
        assert connection.sock is sock, "one connection served every request"
    finally:
        connection.close()


def test_concurrent_requests(mock):
    tokens, errors = [], []

    def worker():
        try:
            session = requests.Session()
            session.trust_env = False
            for _ in range(5):
                answer = session.get(
                    mock.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
                ).json()
                tokens.append(answer["access_token"])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(tokens) == len(set(tokens)) == 40
    stats = mock.stats()
    assert stats["tokens_issued"] == 40 and stats["counts"][GETTOKEN] == 40


def test_mask():
    line = '"GET /cgi-bin/gettoken?corpid=ww1&corpsecret=S3CRET HTTP/1.1" /send?access_token=TOK&x=1 /w?key=K-E-Y'
    masked = mask(line)
    assert "S3CRET" not in masked and "TOK" not in masked and "K-E-Y" not in masked
    assert "corpid=ww1" in masked and "corpsecret=***" in masked and "x=1" in masked


def test_quiet_by_default_and_verbose_masks_secrets(capfd):
    with MockWeCom() as quiet:
        requests.get(quiet.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5)
        quiet.add_fault(path=GETTOKEN, delay=0.5)
        with pytest.raises(requests.Timeout):  # the mock then writes to a closed connection: still quiet
            requests.get(quiet.url + GETTOKEN, timeout=0.1)
        time.sleep(0.6)
    out, err = capfd.readouterr()
    assert out == "" and err == ""

    with MockWeCom(verbose=True) as loud:
        token = requests.get(
            loud.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
        ).json()["access_token"]
        requests.post(loud.url + SEND, params={"access_token": token}, json=text(), timeout=5)
        requests.post(loud.url + ROBOT_SEND, params={"key": DEFAULT_ROBOT_KEY}, json={"msgtype": "text"}, timeout=5)
    out, err = capfd.readouterr()
    assert GETTOKEN in out and SEND in out and ROBOT_SEND in out
    assert "corpsecret=***" in out and "access_token=***" in out and "key=***" in out
    for secret in (DEFAULT_SECRET, token, DEFAULT_ROBOT_KEY):
        assert secret not in out + err


def test_context_manager_and_stop(web):
    with MockWeCom() as mock:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", mock.url)
        assert mock.port != 0
        assert web.get(mock.url + CALLBACK_IP, timeout=5).json()["errcode"] == 41001
        url = mock.url
    with pytest.raises(requests.ConnectionError):
        requests.get(url + GETTOKEN, timeout=2)
    other = MockWeCom().start()
    try:
        assert other.start() is other, "start() twice is harmless"
        assert web.get(other.url + CALLBACK_IP, timeout=5).json()["errcode"] == 41001
    finally:
        other.stop()
        other.stop()


def test_two_mocks_are_independent(mock, web):
    with MockWeCom() as other:
        web.get(other.url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5)
        assert other.stats()["tokens_issued"] == 1
    assert mock.stats()["tokens_issued"] == 0


# ---------------------------------------------------------------------- python -m tests.mock_wecom
def _start_process(*args, env=None):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.mock_wecom", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    line = process.stdout.readline()
    return process, line


def test_command_line(web):
    process, line = _start_process("--port", "0")
    try:
        match = re.search(r"(http://127\.0\.0\.1:(\d+))", line)
        assert match, line
        for value in (DEFAULT_CORP_ID, DEFAULT_SECRET, str(DEFAULT_AGENT_ID), DEFAULT_ROBOT_KEY):
            assert value in line
        url = match.group(1)
        control = MockWeComControl(url)
        control.add_fault(path=GETTOKEN, errcode=-1)
        assert (
            web.get(url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5).json()[
                "errcode"
            ]
            == -1
        )
        token = web.get(
            url + GETTOKEN, params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
        ).json()["access_token"]
        assert control.count(GETTOKEN) == 2
        control.close()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "stopped" in out
        assert DEFAULT_SECRET not in out + err and token not in out + err, "only the banner names the defaults"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_command_line_env_and_sigint():
    process, line = _start_process(env={"WECOM_MOCK_HOST": "127.0.0.1", "WECOM_MOCK_PORT": "0"})
    try:
        assert re.search(r"http://127\.0\.0\.1:\d+", line), line
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_stats_are_json_snapshots(api, mock):
    api.send(api.token(), text("snap"))
    first = mock.stats()
    first["messages"][0]["payload"]["text"]["content"] = "changed"
    assert mock.messages()[0]["payload"]["text"]["content"] == "snap"


def test_max_in_flight_counts_requests_answered_at_once(api, mock):
    token = api.token()
    mock.add_fault(path=SEND, delay=0.3, times=-1)
    threads = [threading.Thread(target=api.send, args=(token, text())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mock.stats()["max_in_flight"] == 3


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_mock/stats"),
        ("GET", "/_mock/directory"),
        ("POST", "/_mock/directory/change"),
        ("GET", "/_mock/approval"),
        ("GET", "/_mock/crm"),
        ("GET", "/_mock/mail/cards"),
        ("POST", "/_mock/mail/click"),
        ("GET", "/_mock/nothing"),
    ],
)
def test_each_control_request_is_answered_once(mock, method, path):
    """Every part of the mock answers a control request exactly once: a second answer on a kept-alive connection
    would be read as the answer of the client's next request (a control call then gets another's data)."""
    body = b"{}"
    host, port = mock.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        received = b""
        conn.settimeout(0.5)
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    assert received.count(b"HTTP/1.") == 1, received[:400]
