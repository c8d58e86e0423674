"""Reading a company's WeCom directory (departments and members) as an application sees it.

Pure Python: no Odoo. :class:`DirectoryReader` reads everything first (so a failed page changes nothing in
Odoo), pages ``user/list_id`` with its cursor, keeps under WeCom's call rate and retries busy answers.

Which APIs, and why (self-built applications under the 2022 rules, WECOM_PROTOCOL.md §2.7, §2.9):

- ``department/list`` once: the tree with names (``simplelist`` has no names, and a self-built application's
  secret may still call ``list`` within its visible range).
- ``user/list_id`` (cursor, 10,000 rows a page): the complete set of members the application may see, including
  members visible one by one outside any visible department.
- ``user/list?department_id=D&fetch_child=0`` once per department that has members: their details in one call per
  department (500 calls for 500 departments, where ``user/get`` would need one call per member and hit WeCom's
  10,000 calls a minute on a large directory).
- ``user/get`` only for the members ``user/list`` did not return, or for everyone when WeCom closes ``user/list``
  to the secret (48002, or 48009 for the contacts secret from a new IP).

Since 2022-06-20 new applications get no mobile, e-mail or avatar: they are kept only when WeCom sends them.
"""

import time
from collections import deque

from .. import const
from .errcodes import API_CLOSED, has_trait
from .exceptions import WeComApiError, WeComDataError, WeComNetworkError, WeComRetryableError


def _text(value, size=255):
    return value.strip()[:size] if isinstance(value, str) and value.strip() else False


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


MAX_DEPARTMENT_DEPTH = 15  # WeCom allows 15 levels of departments, the root included


def department_depths(departments):
    """``{wecom_id: level}`` of ``departments`` (``{wecom_id: {"parent_wecom_id": …}}``), the root at level 1;
    a parent outside ``departments`` counts as level 0, a cycle stops where it closes."""
    depths = {}
    for wecom_id in departments:
        chain, seen, current = [], set(), wecom_id
        while current in departments and current not in depths and current not in seen:
            chain.append(current)
            seen.add(current)
            current = departments[current].get("parent_wecom_id")
        base = depths.get(current, 0)
        for level, node in enumerate(reversed(chain), start=1):
            depths[node] = base + level
    return depths


def check_department_depth(departments, limit=MAX_DEPARTMENT_DEPTH):
    """:raise WeComDataError: a department is deeper than WeCom allows (nothing of such a tree is kept)"""
    depths = department_depths(departments)
    deepest = max(depths, key=depths.get, default=None)
    if deepest is not None and depths[deepest] > limit:
        raise WeComDataError(
            f"WeCom returned a department tree {depths[deepest]} levels deep (department {deepest}); "
            f"WeCom allows at most {limit}"
        )


def normalize_department(data):
    """A ``department/list`` row as ``{"wecom_id", "name", "parent_wecom_id", "sequence"}``.

    :raise WeComDataError: the row has no usable id
    """
    department_id = _int(data.get("id")) if isinstance(data, dict) else None
    if department_id is None or department_id <= 0:
        raise WeComDataError(f"WeCom returned a department without a valid id: {str(data)[:200]}")
    return {
        "wecom_id": department_id,
        "name": _text(data.get("name")) or str(department_id),
        "parent_wecom_id": _int(data.get("parentid")) or 0,
        "sequence": _int(data.get("order")) or 0,
    }


def normalize_member(data):
    """A ``user/list`` / ``user/get`` member (or the fields of a ``change_contact`` event, already mapped to the
    same keys) as the values the mirror keeps; keys WeCom did not send are left out.

    :raise WeComDataError: the member has no userid
    """
    userid = _text(data.get("userid"), 64) if isinstance(data, dict) else False
    if not userid:
        raise WeComDataError(f"WeCom returned a member without a userid: {str(data)[:200]}")
    values = {"userid": userid}
    if "name" in data:
        values["name"] = _text(data.get("name")) or userid
    if "department" in data:
        departments = data.get("department") or []
        if isinstance(departments, (int, str)):
            departments = str(departments).split(",")
        values["department_ids"] = [d for d in (_int(item) for item in departments) if d and d > 0]
    if "main_department" in data:
        values["main_department"] = _int(data.get("main_department")) or 0
    if "position" in data:
        values["position"] = _text(data.get("position")) or False
    if "status" in data:
        values["status"] = const.MEMBER_STATUS.get(_int(data.get("status")), "active")
    for key in ("mobile", "email", "avatar"):
        if key in data:
            values[key] = _text(data.get(key), 1024) or False
    if not values.get("email") and _text(data.get("biz_mail")):
        values["email"] = _text(data.get("biz_mail"))
    return values


class DirectoryReader:
    """Read the whole directory an application sees.

    :param call: ``call(method, path, params=None, payload=None)`` -> WeCom's decoded answer; raises
        :class:`WeComError` (the caller renews tokens)
    :param progress: ``progress(stage, done, total)``, called as pages arrive (``departments``, ``ids``,
        ``details``)
    :param int max_calls_per_minute: the reader waits rather than go faster
    """

    def __init__(
        self,
        call,
        progress=None,
        max_calls_per_minute=const.DIRECTORY_MAX_CALLS_PER_MINUTE,
        retry_waits=const.DIRECTORY_RETRY_WAITS,
        freq_limit_wait=const.DIRECTORY_FREQ_LIMIT_WAIT,
        sleep=None,
        clock=None,
    ):
        self._call = call
        self._progress = progress or (lambda stage, done, total: None)
        self.max_calls_per_minute = max_calls_per_minute
        self.retry_waits = tuple(retry_waits)
        self.freq_limit_wait = freq_limit_wait
        # looked up at call time, so that tests may patch time.sleep
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))
        self._clock = clock or time.monotonic
        self._recent = deque()
        self.calls = 0

    # ------------------------------------------------------------------ one call
    def _throttle(self):
        window = 60.0
        now = self._clock()
        while self._recent and now - self._recent[0] >= window:
            self._recent.popleft()
        if len(self._recent) >= self.max_calls_per_minute:
            self._sleep(window - (now - self._recent[0]))
            self._recent.popleft()
        self._recent.append(self._clock())

    def call(self, method, path, params=None, payload=None):
        """One WeCom call under the rate limit; busy answers and network failures are retried."""
        for attempt in range(len(self.retry_waits) + 1):
            self._throttle()
            self.calls += 1
            try:
                return self._call(method, path, params=params, payload=payload)
            except (WeComRetryableError, WeComNetworkError) as exc:
                if attempt >= len(self.retry_waits):
                    raise
                frequency = isinstance(exc, WeComApiError) and exc.errcode == const.ERRCODE_API_FREQ_LIMIT
                self._sleep(self.freq_limit_wait if frequency else self.retry_waits[attempt])
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ the whole directory
    def read_all(self):
        """Read departments and members.

        :return: ``(departments, members)``: ``{wecom_id: values}`` (parents before children) and
            ``{userid: values}`` (see :func:`normalize_department`, :func:`normalize_member`)
        :raise WeComError: a call failed for good; nothing was applied anywhere
        """
        departments = self.read_departments()
        rows = self.read_member_ids()
        members = self.read_member_details(rows, departments)
        return departments, members

    def read_departments(self):
        answer = self.call("GET", const.PATH_DEPARTMENT_LIST)
        items = answer.get("department")
        if not isinstance(items, list):
            raise WeComDataError("WeCom's department/list answer has no department list.")
        departments = {}
        for item in items:
            department = normalize_department(item)
            departments[department["wecom_id"]] = department
        self._progress("departments", len(departments), len(departments))
        return departments

    def read_member_ids(self):
        """``{userid: [department ids]}`` from every ``user/list_id`` page, in WeCom's order."""
        rows, cursor, seen_cursors = {}, "", set()
        while True:
            payload = {"limit": const.USER_LIST_ID_LIMIT}
            if cursor:
                payload["cursor"] = cursor
            answer = self.call("POST", const.PATH_USER_LIST_ID, payload=payload)
            page = answer.get("dept_user")
            if not isinstance(page, list):
                raise WeComDataError("WeCom's user/list_id answer has no dept_user list.")
            for row in page:
                userid = _text(row.get("userid"), 64) if isinstance(row, dict) else False
                if not userid:
                    raise WeComDataError(f"WeCom's user/list_id returned a row without a userid: {str(row)[:200]}")
                department = _int(row.get("department"))
                departments = rows.setdefault(userid, [])
                if department and department not in departments:
                    departments.append(department)
            self._progress("ids", len(rows), 0)
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                return rows
            if cursor in seen_cursors:
                raise WeComDataError("WeCom's user/list_id returned the same cursor twice.")
            seen_cursors.add(cursor)

    def read_member_details(self, rows, departments):
        """Details of every member of ``rows``: ``user/list`` per department, ``user/get`` for the rest."""
        members = {}
        wanted = set(rows)
        by_department = []
        for department_ids in rows.values():
            by_department.extend(department_ids)
        department_ids = [d for d in dict.fromkeys(by_department) if d in departments or not departments]
        for department_id in department_ids:
            try:
                answer = self.call(
                    "GET", const.PATH_USER_LIST, params={"department_id": department_id, "fetch_child": 0}
                )
            except WeComApiError as exc:
                if not has_trait(exc, API_CLOSED):
                    raise
                break  # closed to this secret: user/get one by one below
            for item in answer.get("userlist") or []:
                member = normalize_member(item)
                if member["userid"] in wanted:
                    members[member["userid"]] = member
            self._progress("details", len(members), len(wanted))
        missing = [userid for userid in rows if userid not in members]
        for userid in missing:
            answer = self.call("GET", const.PATH_USER_GET, params={"userid": userid})
            members[userid] = normalize_member(answer)
            self._progress("details", len(members), len(wanted))
        # list_id's departments are the visible truth; a member's detail may list departments it cannot see
        for userid, member in members.items():
            member.setdefault("department_ids", rows[userid])
        return {userid: members[userid] for userid in rows}
