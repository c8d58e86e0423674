"""The mock WeCom's approval APIs (审批) and the control endpoints that seed templates and decide approvals."""

import pytest

from wecom_base.lib import parse_xml
from wecom_base.tests.mock_wecom.approval import (
    ERRCODE_APPROVAL_NOT_FOUND,
    ERRCODE_APPROVAL_REQUIRED_MISSING,
    ERRCODE_APPROVAL_TEMPLATE_NOT_FOUND,
    SAMPLE_APPROVAL_TEMPLATE,
)

TEMPLATE_ID = SAMPLE_APPROVAL_TEMPLATE["template_id"]


@pytest.fixture
def call(api):
    return api


@pytest.fixture
def seeded(mock):
    mock.set_approval_templates()
    return mock


def apply_payload(**overrides):
    payload = {
        "creator_userid": "zhangsan",
        "template_id": TEMPLATE_ID,
        "use_template_approver": 1,
        "apply_data": {
            "contents": [
                {"control": "Text", "id": "Text-1001", "value": {"text": "P00001"}},
                {"control": "Money", "id": "Money-1004", "value": {"new_money": "100.50"}},
                {
                    "control": "Table",
                    "id": "Table-1007",
                    "value": {
                        "children": [
                            {"list": [{"control": "Text", "id": "Text-1008", "value": {"text": "Desk"}}]},
                        ]
                    },
                },
            ]
        },
        "summary_list": [{"summary_info": [{"text": "P00001", "lang": "zh_CN"}]}],
    }
    payload.update(overrides)
    return payload


def test_template_detail(seeded, call):
    answer = call("oa/gettemplatedetail", {"template_id": TEMPLATE_ID})
    assert answer["errcode"] == 0
    assert answer["template_names"] == [{"text": "采购审批", "lang": "zh_CN"}]
    controls = answer["template_content"]["controls"]
    types = [c["property"]["control"] for c in controls]
    assert types == ["Text", "Textarea", "Number", "Money", "Date", "File", "Table"]
    assert controls[0]["property"]["require"] == 1
    table = controls[-1]["config"]["table"]["children"]
    assert [c["property"]["id"] for c in table] == ["Text-1008", "Number-1009", "Money-1010"]
    assert call("oa/gettemplatedetail", {"template_id": "nope"})["errcode"] == ERRCODE_APPROVAL_TEMPLATE_NOT_FOUND


def test_reset_forgets_templates_and_applications(seeded, call):
    assert call("oa/applyevent", apply_payload())["errcode"] == 0
    seeded.reset()
    assert seeded.approvals() == {"templates": [], "applications": []}


def test_applyevent_records_the_request(seeded, call):
    answer = call("oa/applyevent", apply_payload())
    assert answer["errcode"] == 0, answer
    sp_no = answer["sp_no"]
    assert len(sp_no) == 14 and sp_no.isdigit()
    second = call("oa/applyevent", apply_payload())["sp_no"]
    assert second != sp_no
    applications = seeded.approvals()["applications"]
    assert [a["sp_no"] for a in applications] == [sp_no, second]
    assert applications[0]["request"]["creator_userid"] == "zhangsan"
    assert applications[0]["applyer"]["userid"] == "zhangsan"
    assert applications[0]["sp_status"] == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"apply_data": {"contents": [{"control": "Money", "id": "Money-1004", "value": {"new_money": "1"}}]}},
        {
            "apply_data": {
                "contents": [
                    {"control": "Text", "id": "Text-1001", "value": {"text": ""}},
                    {"control": "Money", "id": "Money-1004", "value": {"new_money": "1"}},
                ]
            }
        },
        {
            "apply_data": {
                "contents": [
                    {"control": "Text", "id": "Text-1001", "value": {"text": "x"}},
                    {"control": "Money", "id": "Money-1004", "value": {"new_money": "1"}},
                    {"control": "Text", "id": "Text-9999", "value": {"text": "x"}},
                ]
            }
        },
    ],
    ids=["required-absent", "required-empty", "unknown-control"],
)
def test_applyevent_refuses_missing_required_controls(seeded, call, overrides):
    answer = call("oa/applyevent", apply_payload(**overrides))
    assert answer["errcode"] == ERRCODE_APPROVAL_REQUIRED_MISSING
    assert seeded.approvals()["applications"] == []


def test_applyevent_refuses_bad_requests(seeded, call):
    assert call("oa/applyevent", apply_payload(creator_userid=""))["errcode"] == 40058
    assert call("oa/applyevent", apply_payload(template_id="nope"))["errcode"] == ERRCODE_APPROVAL_TEMPLATE_NOT_FOUND
    assert call("oa/applyevent", apply_payload(use_template_approver=0))["errcode"] == 40058
    four = [{"summary_info": [{"text": str(i), "lang": "zh_CN"}]} for i in range(4)]
    assert call("oa/applyevent", apply_payload(summary_list=four))["errcode"] == 40058
    assert seeded.approvals()["applications"] == []


def test_detail_and_decision(seeded, call):
    sp_no = call("oa/applyevent", apply_payload())["sp_no"]
    info = call("oa/getapprovaldetail", {"sp_no": sp_no})["info"]
    assert info["sp_status"] == 1 and info["sp_record"] == []
    assert "request" not in info
    decided = seeded.decide_approval(sp_no, 3, userid="lisi", speech="Too expensive")
    info = call("oa/getapprovaldetail", {"sp_no": sp_no})["info"]
    assert info == decided["info"]
    assert info["sp_status"] == 3
    detail = info["sp_record"][0]["details"][0]
    assert detail["approver"] == {"userid": "lisi"}
    assert detail["speech"] == "Too expensive"
    assert call("oa/getapprovaldetail", {"sp_no": "000"})["errcode"] == ERRCODE_APPROVAL_NOT_FOUND


def test_decision_callback_xml_parses_as_wecom_sends_it(seeded, call):
    sp_no = call("oa/applyevent", apply_payload())["sp_no"]
    xml = seeded.decide_approval(sp_no, 2, userid="lisi", speech="同意 <ok> & go")["callback_xml"]
    data = parse_xml(xml.encode())
    assert data["Event"] == "sys_approval_change"
    info = data["ApprovalInfo"]
    assert info["SpNo"] == sp_no
    assert info["SpStatus"] == "2"
    assert info["SpRecord"]["Details"]["Approver"]["UserId"] == "lisi"
    assert info["SpRecord"]["Details"]["Speech"] == "同意 <ok> & go"
    assert info["StatuChangeEvent"] == "2"


def test_control_errors(seeded):
    with pytest.raises(RuntimeError, match="400"):
        seeded.decide_approval("nope", 2)
    with pytest.raises(RuntimeError, match="400"):
        seeded.set_approval_templates([{"template_id": "", "controls": []}])
