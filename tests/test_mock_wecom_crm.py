"""The mock WeCom's customer contact (external contact) APIs and the control endpoints that seed and change them."""

import pytest

TAG_GROUPS = [
    {
        "group_id": "g1",
        "group_name": "Level",
        "order": 2,
        "tag": [{"id": "t1", "name": "VIP"}, {"id": "t2", "name": "New"}],
    },
    {"group_id": "g2", "group_name": "Region", "tag": [{"id": "t3", "name": "East"}]},
]
CUSTOMERS = [
    {
        "external_userid": "wmA",
        "name": "Alice",
        "type": 1,
        "unionid": "union-a",
        "follow_user": [
            {"userid": "zhangsan", "remark": "Alice W.", "createtime": 1700000000, "tag_id": ["t1", "t3"]},
            {"userid": "lisi", "createtime": 1700000100, "remark_mobiles": ["13900000001"]},
        ],
    },
    {
        "external_userid": "wmB",
        "name": "Bob",
        "type": 2,
        "corp_name": "Acme",
        "corp_full_name": "Acme Trading Co.",
        "position": "Buyer",
        "follow_user": [{"userid": "lisi", "createtime": 1700000200, "tag_id": ["t2"]}],
    },
]


@pytest.fixture
def call(api):
    def call(path, payload=None, **params):
        return api("externalcontact/" + path, payload, **params)

    return call


@pytest.fixture
def seeded(mock):
    mock.set_crm(CUSTOMERS, TAG_GROUPS, follow_users=["wangwu"])
    return mock


def test_empty_after_reset(mock, call):
    assert call("get_follow_user_list") == {"errcode": 0, "errmsg": "ok", "follow_user": []}
    mock.set_crm(CUSTOMERS, TAG_GROUPS)
    mock.reset()
    assert mock.crm() == {"customers": [], "tag_groups": [], "follow_users": []}


def test_follow_user_list(seeded, call):
    assert call("get_follow_user_list")["follow_user"] == ["wangwu", "zhangsan", "lisi"]


def test_get_customer_with_tags(seeded, call):
    answer = call("get", external_userid="wmA")
    assert answer["errcode"] == 0
    assert answer["external_contact"]["name"] == "Alice"
    assert answer["external_contact"]["unionid"] == "union-a"
    assert [f["userid"] for f in answer["follow_user"]] == ["zhangsan", "lisi"]
    assert answer["follow_user"][0]["tags"] == [
        {"group_name": "Level", "tag_name": "VIP", "tag_id": "t1", "type": 1},
        {"group_name": "Region", "tag_name": "East", "tag_id": "t3", "type": 1},
    ]
    assert answer["follow_user"][1]["remark_mobiles"] == ["13900000001"]
    assert answer["next_cursor"] == ""
    assert call("get", external_userid="wmNobody")["errcode"] == 84061


def test_batch_pages_with_cursor(seeded, call):
    first = call("batch/get_by_user", {"userid_list": ["zhangsan", "lisi"], "limit": 2})
    assert first["errcode"] == 0 and first["next_cursor"]
    rows = first["external_contact_list"]
    second = call(
        "batch/get_by_user", {"userid_list": ["zhangsan", "lisi"], "limit": 2, "cursor": first["next_cursor"]}
    )
    assert second["next_cursor"] == ""
    rows += second["external_contact_list"]
    pairs = [(r["external_contact"]["external_userid"], r["follow_info"]["userid"]) for r in rows]
    assert pairs == [("wmA", "zhangsan"), ("wmA", "lisi"), ("wmB", "lisi")]
    assert rows[0]["follow_info"]["tag_id"] == ["t1", "t3"]
    assert rows[2]["external_contact"]["corp_full_name"] == "Acme Trading Co."


@pytest.mark.parametrize(
    "payload",
    [
        {"userid_list": []},
        {"userid_list": [f"u{n}" for n in range(101)]},
        {"userid_list": ["lisi"], "limit": 101},
        {"userid_list": ["lisi"], "cursor": "nonsense"},
    ],
)
def test_batch_refuses_bad_parameters(seeded, call, payload):
    assert call("batch/get_by_user", payload)["errcode"] == 40058


def test_corp_tag_list_and_filters(seeded, call):
    groups = call("get_corp_tag_list", {})["tag_group"]
    assert [g["group_id"] for g in groups] == ["g1", "g2"]
    assert [t["id"] for t in groups[0]["tag"]] == ["t1", "t2"]
    assert [g["group_id"] for g in call("get_corp_tag_list", {"group_id": ["g2"]})["tag_group"]] == ["g2"]
    only = call("get_corp_tag_list", {"tag_id": ["t2"]})["tag_group"]
    assert [(g["group_id"], [t["id"] for t in g["tag"]]) for g in only] == [("g1", ["t2"])]


def test_change_customers_follows_and_tags(seeded, call):
    seeded.change_crm(
        customers=[{"external_userid": "wmA", "name": "Alice Wang"}],
        follows=[{"external_userid": "wmB", "userid": "zhangsan", "remark": "Bob"}],
        delete_follows=[["wmA", "lisi"]],
        delete_tags=["t3"],
    )
    alice = call("get", external_userid="wmA")
    assert alice["external_contact"]["name"] == "Alice Wang"
    assert [f["userid"] for f in alice["follow_user"]] == ["zhangsan"], "follow kept, lisi removed"
    assert [t["tag_id"] for t in alice["follow_user"][0]["tags"]] == ["t1"], "a deleted tag leaves the customers"
    bob = call("get", external_userid="wmB")
    assert [(f["userid"], f["remark"]) for f in bob["follow_user"]] == [("lisi", ""), ("zhangsan", "Bob")]
    seeded.change_crm(delete_customers=["wmB"])
    assert call("get", external_userid="wmB")["errcode"] == 84061


def test_control_refuses_bad_input(mock):
    with pytest.raises(RuntimeError, match="400"):
        mock.set_crm([{"name": "no id"}])
    with pytest.raises(RuntimeError, match="400"):
        mock.change_crm(follows=[{"external_userid": "unknown", "userid": "x"}])


def test_generate_is_deterministic_and_pages_everything(mock, call):
    mock.generate_crm(customers=250, follow_users=3, seed=7)
    snapshot = mock.crm()
    assert len(snapshot["customers"]) == 250
    mock.generate_crm(customers=250, follow_users=3, seed=7)
    assert mock.crm() == snapshot
    userids = call("get_follow_user_list")["follow_user"]
    assert userids == ["sales001", "sales002", "sales003"]
    seen, cursor = [], ""
    while True:
        answer = call("batch/get_by_user", {"userid_list": userids, "cursor": cursor, "limit": 100})
        seen += [
            (r["external_contact"]["external_userid"], r["follow_info"]["userid"])
            for r in answer["external_contact_list"]
        ]
        cursor = answer["next_cursor"]
        if not cursor:
            break
    expected = {(c["external_userid"], f["userid"]) for c in snapshot["customers"] for f in c["follow_user"]}
    assert len(seen) == len(expected) and set(seen) == expected
