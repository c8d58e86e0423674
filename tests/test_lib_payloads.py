"""The JSON shapes of the outbox (``wecom_base/lib/payloads.py``), without Odoo, and what the mock accepts."""

import base64
import hashlib

import requests

from wecom_base.lib import payloads
from wecom_base.tests.mock_wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET


def test_split_ids_keeps_order_and_drops_empties_and_duplicates():
    assert payloads.split_ids("a|b, c\nb||") == ["a", "b", "c"]
    assert payloads.split_ids(["x", 2, " x "]) == ["x", "2"]
    assert payloads.split_ids(None) == [] and payloads.split_ids("") == []


def test_utf8_len_counts_bytes():
    assert payloads.utf8_len("长") == 3
    assert payloads.utf8_len(None) == 0


def test_application_message_common_part():
    body = payloads.application_message(
        "text",
        payloads.text("hi"),
        1000002,
        {"touser": ["a", "b"], "toparty": [], "totag": ["7"]},
        safe="1",
        enable_id_trans=True,
    )
    assert body == {
        "touser": "a|b",
        "totag": "7",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "hi"},
        "safe": 1,
        "enable_id_trans": 1,
        "enable_duplicate_check": 0,
    }
    checked = payloads.application_message("text", payloads.text("x"), 1, {"touser": ["a"]}, duplicate_check=600)
    assert (checked["enable_duplicate_check"], checked["duplicate_check_interval"]) == (1, 600)


def test_type_bodies():
    assert payloads.textcard("t", "d", "https://x") == {"title": "t", "description": "d", "url": "https://x"}
    assert payloads.textcard("t", "d", "https://x", "Go")["btntxt"] == "Go"
    assert payloads.article("t", "https://x") == {"title": "t", "url": "https://x"}
    assert payloads.news([payloads.article("t", "u", "d", "p")]) == {
        "articles": [{"title": "t", "url": "u", "description": "d", "picurl": "p"}]
    }
    card = payloads.template_card("T", url="https://x", content="sub", extra={"card_type": "news_notice"})
    assert card["card_type"] == "news_notice" and card["card_action"] == {"type": 1, "url": "https://x"}
    assert card["main_title"] == {"title": "T", "desc": ""} and card["sub_title_text"] == "sub"
    assert payloads.template_card()["card_action"] == {"type": 0}


def test_robot_bodies():
    assert payloads.robot_text("hi") == {"content": "hi"}
    assert payloads.robot_text("hi", ["a"], mention_all=True, mobiles=["138"]) == {
        "content": "hi",
        "mentioned_list": ["a", "@all"],
        "mentioned_mobile_list": ["138"],
    }
    image = payloads.robot_image(b"\x89PNG")
    assert base64.b64decode(image["base64"]) == b"\x89PNG"
    assert image["md5"] == hashlib.md5(b"\x89PNG").hexdigest()
    assert payloads.robot_message("text", {"content": "x"}) == {"msgtype": "text", "text": {"content": "x"}}


def test_the_mock_accepts_the_shapes(mock):
    token = requests.get(
        f"{mock.url}/cgi-bin/gettoken", params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
    ).json()["access_token"]
    for msgtype, body in (
        ("text", payloads.text("hi")),
        ("textcard", payloads.textcard("t", "d", "https://x")),
        ("news", payloads.news([payloads.article("t", "https://x")])),
        ("template_card", payloads.template_card("T")),
    ):
        answer = requests.post(
            f"{mock.url}/cgi-bin/message/send",
            params={"access_token": token},
            json=payloads.application_message(msgtype, body, DEFAULT_AGENT_ID, {"touser": ["zhangsan"]}),
            timeout=5,
        ).json()
        assert answer["errcode"] == 0, (msgtype, answer)
