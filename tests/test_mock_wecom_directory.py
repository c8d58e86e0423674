"""The mock WeCom's directory (contacts) APIs and the control endpoints that seed and change it."""

import pytest

from wecom_base.tests.mock_wecom.server import SAMPLE_DEPARTMENTS, SAMPLE_USERS

DEPARTMENTS, USERS = list(SAMPLE_DEPARTMENTS), list(SAMPLE_USERS)


@pytest.fixture
def call(api):
    return api


@pytest.fixture
def seeded(mock):
    mock.set_directory(DEPARTMENTS, USERS)
    return mock


def test_empty_after_reset(mock, call):
    assert call("department/list") == {"errcode": 0, "errmsg": "ok", "department": []}
    assert call("user/list_id", {})["dept_user"] == []
    mock.set_directory(DEPARTMENTS, USERS)
    mock.reset()
    assert mock.directory()["users"] == []


def test_department_list_and_subtree(seeded, call):
    answer = call("department/list")
    assert answer["errcode"] == 0
    assert [d["id"] for d in answer["department"]] == [1, 2, 4, 3], "parents before children"
    east = next(d for d in answer["department"] if d["id"] == 3)
    assert east == {"id": 3, "name": "East", "name_en": "", "parentid": 2, "order": 5, "department_leader": []}
    assert [d["id"] for d in call("department/list", id=2)["department"]] == [2, 3]
    assert call("department/list", id=99)["errcode"] == 60003
    simple = call("department/simplelist")
    assert simple["department_id"][0] == {"id": 1, "parentid": 0, "order": 100}
    assert all(set(row) == {"id", "parentid", "order"} for row in simple["department_id"])


def test_user_list_id_pages_with_a_cursor(seeded, call):
    first = call("user/list_id", {"limit": 2})
    assert first["errcode"] == 0 and first["next_cursor"]
    assert first["dept_user"] == [{"userid": "zhangsan", "department": 2}, {"userid": "zhangsan", "department": 4}]
    second = call("user/list_id", {"cursor": first["next_cursor"], "limit": 2})
    assert [row["userid"] for row in second["dept_user"]] == ["lisi", "wangwu"]
    assert second["next_cursor"] == ""
    everything = call("user/list_id", {"limit": 10000})
    assert len(everything["dept_user"]) == 4 and everything["next_cursor"] == ""
    for bad in ({"limit": 0}, {"limit": 10001}, {"limit": "2"}, {"cursor": "not-a-cursor"}):
        assert call("user/list_id", bad)["errcode"] == 40058, bad


def test_user_details_hide_private_fields_like_today(seeded, call):
    zhangsan = call("user/get", userid="zhangsan")
    assert zhangsan["errcode"] == 0
    assert (zhangsan["name"], zhangsan["department"], zhangsan["position"], zhangsan["status"]) == (
        "张三",
        [2, 4],
        "Sales",
        1,
    )
    assert zhangsan["main_department"] == 2
    assert "email" not in zhangsan and "mobile" not in zhangsan, "apps created after 2022-06-20 get no contact data"
    assert call("user/get", userid="nobody")["errcode"] == 60111
    seeded.set_directory(DEPARTMENTS, USERS, private_fields=True)
    assert call("user/get", userid="zhangsan")["email"] == "zs@example.com"


def test_user_list_and_simplelist_per_department(seeded, call):
    assert [u["userid"] for u in call("user/list", department_id=4)["userlist"]] == ["zhangsan", "wangwu"]
    assert [u["userid"] for u in call("user/list", department_id=2)["userlist"]] == ["zhangsan"]
    children = call("user/list", department_id=2, fetch_child=1)["userlist"]
    assert [u["userid"] for u in children] == ["zhangsan", "lisi"]
    assert children[1]["status"] == 2 and "mobile" not in children[1]
    simple = call("user/simplelist", department_id=3)["userlist"]
    assert simple == [{"userid": "lisi", "name": "李四", "department": [3], "open_userid": "lisi"}]
    assert call("user/list", department_id=99)["errcode"] == 60003
    assert call("user/list")["errcode"] == 60003


def test_change_directory(seeded, call):
    seeded.change_directory(
        departments=[{"id": 2, "name": "Sales & Marketing"}, {"id": 5, "name": "West", "parentid": 2}],
        users=[{"userid": "lisi", "position": "Lead"}, {"userid": "zhaoliu", "name": "赵六", "department": [5]}],
        delete_departments=[3],
        delete_users=["wangwu"],
    )
    departments = {d["id"]: d for d in call("department/list")["department"]}
    assert departments[2]["name"] == "Sales & Marketing" and departments[2]["order"] == 20, "merged, not replaced"
    assert 3 not in departments and departments[5]["parentid"] == 2
    lisi = call("user/get", userid="lisi")
    assert (lisi["name"], lisi["position"], lisi["status"]) == ("李四", "Lead", 2)
    assert call("user/get", userid="wangwu")["errcode"] == 60111
    assert call("user/get", userid="zhaoliu")["department"] == [5]


def test_generated_directory_is_deterministic(mock, call):
    mock.generate_directory(departments=50, users=300, seed=7)
    first = mock.directory()
    mock.generate_directory(departments=50, users=300, seed=7)
    assert mock.directory() == first
    assert len(first["departments"]) == 50 and len(first["users"]) == 300
    ids = {d["id"] for d in first["departments"]}
    assert all(d["parentid"] in ids for d in first["departments"] if d["id"] != 1), "one tree"
    rows = call("user/list_id", {"limit": 10000})["dept_user"]
    assert {row["userid"] for row in rows} == {u["userid"] for u in first["users"]}
    mock.generate_directory(departments=50, users=300, seed=8)
    assert mock.directory() != first


def test_directory_control_refuses_bad_input(mock):
    for bad in (
        {"departments": [{"id": 0}]},
        {"users": [{"name": "no userid"}]},
        {"users": [{"userid": "x", "status": 3}]},
    ):
        with pytest.raises(RuntimeError, match="HTTP 400"):
            mock._call("POST", "/_mock/directory", bad)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        mock._call("POST", "/_mock/directory/nothing", {})


def test_directory_apis_need_a_valid_token(seeded, web):
    for path in ("department/list", "department/simplelist", "user/get", "user/list", "user/simplelist"):
        assert web.get(seeded.url + "/cgi-bin/" + path, timeout=5).json()["errcode"] == 41001
    answer = web.post(seeded.url + "/cgi-bin/user/list_id", params={"access_token": "x" * 64}, json={}, timeout=5)
    assert answer.json()["errcode"] == 40014


def test_directory_faults_and_counts(seeded, call):
    seeded.add_fault(path="/cgi-bin/user/list", errcode=-1, times=1)
    assert call("user/list", department_id=2)["errcode"] == -1
    assert call("user/list", department_id=2)["errcode"] == 0
    assert seeded.count("/cgi-bin/user/list") == 2
