"""The mock WeCom's interactive template cards: a response code for each card sent, one per click, and
``message/update_template_card`` taking each code once."""

import pytest

from wecom_base.tests.mock_wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET


@pytest.fixture
def call(mock, web):
    mock.set_config(token_expires_in=10**6)  # before the token is issued
    token = web.get(
        mock.url + "/cgi-bin/gettoken", params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
    ).json()["access_token"]

    def call(path, payload):
        return web.post(mock.url + "/cgi-bin/" + path, params={"access_token": token}, json=payload, timeout=5).json()

    return call


def button_card(task_id="odoo_act_1_abc", buttons=None):
    return {
        "touser": "zhangsan",
        "msgtype": "template_card",
        "agentid": DEFAULT_AGENT_ID,
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "Call the customer"},
            "task_id": task_id,
            "button_list": buttons if buttons is not None else [{"text": "Done", "key": "done", "style": 1}],
        },
    }


def test_interactive_card_gets_a_response_code(mock, call):
    answer = call("message/send", button_card())
    assert answer["errcode"] == 0
    assert answer["response_code"].startswith("mock-rc-")
    assert list(mock.cards()["cards"]) == ["odoo_act_1_abc"]
    assert len(mock.messages()) == 1


def test_text_notice_has_no_response_code(mock, call):
    payload = button_card()
    payload["template_card"] = {"card_type": "text_notice", "main_title": {"title": "Hello"}}
    answer = call("message/send", payload)
    assert answer["errcode"] == 0
    assert "response_code" not in answer
    assert mock.cards()["cards"] == {}


@pytest.mark.parametrize(
    "task_id, buttons",
    [("bad task id", None), ("odoo_ok", []), ("odoo_ok", [{"text": "Done"}]), ("x" * 129, None)],
)
def test_bad_cards_are_refused(mock, call, task_id, buttons):
    assert call("message/send", button_card(task_id, buttons))["errcode"] == 40058
    assert mock.messages() == []


def test_task_id_is_unique(mock, call):
    assert call("message/send", button_card())["errcode"] == 0
    assert call("message/send", button_card())["errcode"] == 40058


def test_update_takes_a_click_code_once(mock, call):
    call("message/send", button_card())
    code = mock.card_click("odoo_act_1_abc", "zhangsan", "done")
    update = {
        "userids": ["zhangsan"],
        "agentid": DEFAULT_AGENT_ID,
        "response_code": code,
        "button": {"replace_name": "Done"},
    }
    assert call("message/update_template_card", update)["errcode"] == 0
    assert call("message/update_template_card", update)["errcode"] == 40145
    updates = mock.cards()["updates"]
    assert [(u["task_id"], u["button"]["replace_name"], u["userids"]) for u in updates] == [
        ("odoo_act_1_abc", "Done", ["zhangsan"])
    ]


def test_update_refuses_unknown_or_expired_codes(mock, call):
    call("message/send", button_card())
    code = mock.card_click("odoo_act_1_abc", "zhangsan")
    base = {"userids": ["zhangsan"], "agentid": DEFAULT_AGENT_ID, "button": {"replace_name": "Done"}}
    assert call("message/update_template_card", {**base, "response_code": "nope"})["errcode"] == 40145
    assert call("message/update_template_card", {**base, "response_code": code, "agentid": 1})["errcode"] == 40056
    assert call("message/update_template_card", {**base, "response_code": code, "userids": []})["errcode"] == 40058
    mock.travel(72 * 3600 + 1)
    assert call("message/update_template_card", {**base, "response_code": code})["errcode"] == 40145
    assert mock.cards()["updates"] == []


def test_reset_forgets_cards(mock, call):
    call("message/send", button_card())
    mock.reset()
    assert mock.cards() == {"cards": {}, "updates": []}
    with pytest.raises(RuntimeError):
        mock.card_click("odoo_act_1_abc", "zhangsan")
