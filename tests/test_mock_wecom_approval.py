"""The mock WeCom's approval APIs (``oa/*``) and the control endpoints that seed templates and decide approvals."""

import pytest
import requests

from wecom_base.tests.mock_wecom import DEFAULT_CORP_ID, DEFAULT_SECRET

CONTROLS = [
    {"control": "Text", "id": "Text-1", "title": "Reference", "require": 1},
    {"control": "Money", "id": "Money-1", "title": "Amount", "require": 1},
    {"control": "Table", "id": "Table-1", "title": "Lines", "require": 0, "children": ["Text-2"]},
]


@pytest.fixture
def call(mock):
    web = requests.Session()
    web.trust_env = False
    token = web.get(
        mock.url + "/cgi-bin/gettoken", params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
    ).json()["access_token"]

    def call(path, payload):
        return web.post(
            mock.url + "/cgi-bin/oa/" + path, params={"access_token": token}, json=payload, timeout=5
        ).json()

    yield call
    web.close()


def apply(call, **overrides):
    payload = {
        "creator_userid": "zhangsan",
        "template_id": "tpl-po",
        "use_template_approver": 1,
        "apply_data": {
            "contents": [
                {"control": "Text", "id": "Text-1", "value": {"text": "P00001"}},
                {"control": "Money", "id": "Money-1", "value": {"new_money": "100.50"}},
            ]
        },
        "summary_list": [{"summary_info": [{"text": "P00001", "lang": "zh_CN"}]}],
    }
    payload.update(overrides)
    return call("applyevent", payload)


def test_template_detail(mock, call):
    mock.set_approval_template("tpl-po", "Purchase", CONTROLS)
    answer = call("gettemplatedetail", {"template_id": "tpl-po"})
    assert answer["errcode"] == 0
    controls = answer["template_content"]["controls"]
    assert [c["property"]["id"] for c in controls] == ["Text-1", "Money-1", "Table-1"]
    assert controls[1]["property"]["require"] == 1
    assert controls[2]["config"]["table"]["children"][0]["property"]["id"] == "Text-2"
    assert call("gettemplatedetail", {"template_id": "nope"})["errcode"] == 301025


def test_apply_decide_and_detail(mock, call):
    mock.set_approval_template("tpl-po", "Purchase", CONTROLS)
    answer = apply(call)
    assert answer["errcode"] == 0 and answer["sp_no"]
    received = mock.approvals()[answer["sp_no"]]
    assert received["creator_userid"] == "zhangsan" and received["template_id"] == "tpl-po"
    info = call("getapprovaldetail", {"sp_no": answer["sp_no"]})["info"]
    assert info["sp_status"] == 1 and info["applyer"]["userid"] == "zhangsan"
    decided = mock.decide_approval(answer["sp_no"], 3, approver="lisi", speech="too expensive")
    assert decided["sp_status"] == 3
    info = call("getapprovaldetail", {"sp_no": answer["sp_no"]})["info"]
    assert info["sp_record"][0]["details"][0] == {
        "approver": {"userid": "lisi"},
        "speech": "too expensive",
        "sp_status": 3,
        "sptime": info["sp_record"][0]["details"][0]["sptime"],
    }
    assert call("getapprovaldetail", {"sp_no": "0"})["errcode"] == 301055


def test_apply_refuses_missing_required_control_and_bad_values(mock, call):
    mock.set_approval_template("tpl-po", "Purchase", CONTROLS)
    missing = apply(call, apply_data={"contents": [{"control": "Text", "id": "Text-1", "value": {"text": "x"}}]})
    assert missing["errcode"] == 301035 and "Money-1" in missing["errmsg"]
    wrong = apply(
        call,
        apply_data={
            "contents": [
                {"control": "Text", "id": "Text-1", "value": {"text": "x"}},
                {"control": "Money", "id": "Money-1", "value": {"text": "100"}},
            ]
        },
    )
    assert wrong["errcode"] == 301035
    assert apply(call, use_template_approver=0)["errcode"] == 40058, "no approver and not the template's"
    assert apply(call, template_id="nope")["errcode"] == 301025
    assert not mock.approvals(), "nothing was stored"


def test_reset_empties_approvals(mock, call):
    mock.set_approval_template("tpl-po", "Purchase", CONTROLS)
    apply(call)
    mock.reset()
    assert mock.approvals() == {}
