"""The directory reader of wecom_base/lib (no Odoo): paging, the user/get fallback, retries and the call rate."""

import pytest

from wecom_base.lib import (
    DirectoryReader,
    WeComClient,
    WeComConfigError,
    WeComDataError,
    WeComResponseError,
    WeComRetryableError,
    check_department_depth,
    normalize_department,
    normalize_member,
)
from wecom_base.tests.mock_wecom import DEFAULT_CORP_ID, DEFAULT_SECRET

DEPARTMENTS = [
    {"id": 1, "name": "Company", "parentid": 0, "order": 100},
    {"id": 2, "name": "Sales", "parentid": 1, "order": 20},
]
USERS = [
    {"userid": "zhangsan", "name": "张三", "department": [1, 2], "position": "Sales", "status": 1},
    {"userid": "lisi", "name": "李四", "department": [2], "status": 5},
]


class Clock:
    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def reader_for(mock, **kwargs):
    client = WeComClient(base_url=mock.url, timeout=5)
    token, _expires = client.get_token(DEFAULT_CORP_ID, DEFAULT_SECRET)

    def call(method, path, params=None, payload=None):
        return client.call(path, token, payload=payload, method=method, params=params)

    clock = Clock()
    return DirectoryReader(call, sleep=clock.sleep, clock=clock, **kwargs), clock


@pytest.fixture
def seeded(mock):
    mock.set_directory(DEPARTMENTS, USERS)
    return mock


def test_reads_departments_and_members(seeded):
    reader, _clock = reader_for(seeded)
    departments, members = reader.read_all()
    assert departments[2] == {"wecom_id": 2, "name": "Sales", "parent_wecom_id": 1, "sequence": 20}
    assert list(members) == ["zhangsan", "lisi"]
    assert members["zhangsan"]["department_ids"] == [1, 2]
    assert members["lisi"]["status"] == "exited"
    assert "email" not in members["zhangsan"], "what WeCom does not send is left out, not emptied"
    assert reader.calls == 1 + 1 + 2  # department/list, user/list_id, user/list per department
    assert seeded.count("/cgi-bin/user/get") == 0


def test_pages_user_list_id(seeded, monkeypatch):
    monkeypatch.setattr("wecom_base.const.USER_LIST_ID_LIMIT", 1)
    reader, _clock = reader_for(seeded)
    assert reader.read_member_ids() == {"zhangsan": [1, 2], "lisi": [2]}
    assert seeded.count("/cgi-bin/user/list_id") == 3


def test_user_get_when_user_list_is_closed(seeded):
    seeded.add_fault(path="/cgi-bin/user/list", errcode=48002, errmsg="api forbidden")
    reader, _clock = reader_for(seeded)
    _departments, members = reader.read_all()
    assert members["lisi"]["name"] == "李四"
    assert seeded.count("/cgi-bin/user/get") == 2


def test_other_errors_are_not_hidden(seeded):
    seeded.add_fault(path="/cgi-bin/user/list", errcode=60011, errmsg="no privilege")
    reader, _clock = reader_for(seeded)
    with pytest.raises(WeComConfigError):
        reader.read_all()


def test_busy_is_retried_then_given_up(seeded):
    seeded.add_fault(path="/cgi-bin/department/list", errcode=45009, times=1)
    reader, clock = reader_for(seeded)
    assert reader.read_departments()
    assert clock.sleeps == [60]
    seeded.add_fault(path="/cgi-bin/department/list", errcode=-1, times=4)
    with pytest.raises(WeComRetryableError):
        reader.read_departments()
    assert clock.sleeps == [60, 1, 2, 4]


def test_call_rate_is_kept(seeded):
    reader, clock = reader_for(seeded, max_calls_per_minute=2)
    for _ in range(5):
        reader.read_departments()
    assert clock.sleeps == [60, 60], "the 3rd and the 5th call wait for the minute window"


def test_normalize_refuses_what_cannot_be_stored():
    with pytest.raises(WeComDataError, match="department without a valid id"):
        normalize_department({"id": "x"})
    with pytest.raises(WeComDataError, match="member without a userid"):
        normalize_member({"name": "no userid"})
    assert issubclass(WeComDataError, WeComResponseError), "callers catching the broader error still do"
    event = normalize_member({"userid": "a", "department": "3,4", "status": "2", "biz_mail": "a@example.com"})
    assert event == {"userid": "a", "department_ids": [3, 4], "status": "disabled", "email": "a@example.com"}


def chain(levels):
    """A department tree of ``levels`` levels, one department per level."""
    return {level: {"parent_wecom_id": level - 1} for level in range(1, levels + 1)}


def test_department_depth():
    check_department_depth(chain(15))  # WeCom's limit: accepted
    with pytest.raises(WeComDataError, match="16 levels deep"):
        check_department_depth(chain(16))
    with pytest.raises(WeComDataError, match="10000 levels deep"):
        check_department_depth(chain(10000))
    cycle = {1: {"parent_wecom_id": 2}, 2: {"parent_wecom_id": 1}}
    check_department_depth(cycle)  # a cycle ends where it closes (the mirror handles it)
