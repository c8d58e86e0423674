"""The customer contact (客户联系, external contact) APIs of the mock WeCom (WECOM_PROTOCOL.md §2.14) over customers
that tests seed and change. Imported at the end of ``server.py``; it follows the directory block there: its state
hangs off ``MockState`` (emptied by every reset), its API handlers join ``Handler.ROUTES``, its control paths are
served before the others, and ``MockWeComControl`` gains the methods that drive them.

``POST /_mock/crm``           ``{"customers": [...], "tag_groups": [...], "follow_users": [...]}``: replace them
``POST /_mock/crm/generate``  ``{"customers": N, "follow_users": M, "tag_groups": G, "tags_per_group": T, "seed": S}``
``POST /_mock/crm/change``    ``{"customers": [...], "follows": [...], "delete_follows": [[external_userid, userid]],
                              "delete_customers": [...], "tag_groups": [...], "delete_tag_groups": [...],
                              "delete_tags": [...]}``: upsert (merged into what is there) and delete
``GET /_mock/crm``            what the mock holds

A customer is ``{"external_userid", "name", "type" 1|2, "corp_name", "corp_full_name", "position", "gender",
"unionid", "avatar", "follow_user": [{"userid", "remark", "description", "createtime", "tag_id": [...],
"remark_corp_name", "remark_mobiles": [...], "add_way", "oper_userid", "state"}]}``; a tag group is
``{"group_id", "group_name", "order", "tag": [{"id", "name", "order"}]}``.

Codes the mock chooses: 84061 for an external_userid it does not know (WeCom: "not external contact"), 40058 for
a bad ``userid_list`` (empty or over 100), ``limit`` (over 100) or ``cursor``. ``get`` pages follow users by 500.
"""

import json
import random

from .server import ERRCODE_INVALID_PARAMETER, MockWeComControl, plug_part

ERRCODE_NOT_EXTERNAL_CONTACT = 84061
BATCH_MAX_USERS = 100
BATCH_MAX_LIMIT = 100
BATCH_DEFAULT_LIMIT = 50
GET_FOLLOW_PAGE = 500
CONTACT_KEYS = ("name", "type", "corp_name", "corp_full_name", "position", "gender", "unionid", "avatar")
FOLLOW_KEYS = (
    "remark",
    "description",
    "createtime",
    "tag_id",
    "remark_corp_name",
    "remark_mobiles",
    "add_way",
    "oper_userid",
    "state",
)
_CORPS = ("腾讯科技", "Acme Trading", "华为技术", "Globex", "小米科技", "Initech")


def _follow(data, current=None):
    record = dict(current or {})
    record.update({k: v for k, v in data.items() if k in ("userid", *FOLLOW_KEYS) and v is not None})
    if not record.get("userid"):
        raise ValueError("a follow user needs a userid")
    record["userid"] = str(record["userid"])
    record["tag_id"] = [str(t) for t in record.get("tag_id") or ()]
    record["remark_mobiles"] = [str(m) for m in record.get("remark_mobiles") or ()]
    for key in ("remark", "description", "remark_corp_name", "oper_userid", "state"):
        record[key] = str(record.get(key) or "")
    record["createtime"] = int(record.get("createtime") or 0)
    record["add_way"] = int(record.get("add_way") or 0)
    return record


class MockCrm:
    """Customers, their follow users and the corporate tags of the mock company (callers hold ``MockState.lock``)."""

    def __init__(self):
        self.customers = {}  # external_userid -> {"external_contact": {...}, "follow_user": [follow, ...]}
        self.tag_groups = {}  # group_id -> {"group_id", "group_name", "order", "create_time", "tag": [...]}
        self.extra_follow_users = []  # members allowed customer contact without customers
        self._by_user = None  # userid -> [external_userid] in insertion order (rebuilt after a change)

    # ---------------------------------------------------------------- changing
    def _contact(self, data, current=None):
        contact = dict(current or {})
        contact.update({k: v for k, v in data.items() if k in ("external_userid", *CONTACT_KEYS) and v is not None})
        if not contact.get("external_userid"):
            raise ValueError("a customer needs an external_userid")
        contact["external_userid"] = str(contact["external_userid"])
        contact["name"] = str(contact.get("name") or contact["external_userid"])
        contact["type"] = int(contact.get("type") or 1)
        if contact["type"] not in (1, 2):
            raise ValueError("type must be 1 (WeChat) or 2 (WeCom of another company)")
        contact["gender"] = int(contact.get("gender") or 0)
        contact.setdefault("avatar", "")
        if contact["type"] == 2:
            contact.setdefault("corp_name", "")
            contact.setdefault("corp_full_name", contact.get("corp_name") or "")
            contact.setdefault("position", "")
        return contact

    def upsert_customer(self, data):
        current = self.customers.get(str(data.get("external_userid")))
        contact = self._contact(data, current and current["external_contact"])
        follows = current["follow_user"] if current else []
        if "follow_user" in data:
            follows = [_follow(f) for f in data.get("follow_user") or ()]
        self.customers[contact["external_userid"]] = {"external_contact": contact, "follow_user": follows}
        self._by_user = None

    def upsert_follow(self, data):
        """``{"external_userid", "userid", ...}``: one follow user of a customer, added or merged."""
        entry = self.customers.get(str(data.get("external_userid")))
        if entry is None:
            raise ValueError(f"unknown customer {data.get('external_userid')!r}")
        follows = entry["follow_user"]
        index = next((i for i, f in enumerate(follows) if f["userid"] == str(data.get("userid"))), None)
        if index is None:
            follows.append(_follow(data))
        else:
            follows[index] = _follow(data, follows[index])
        self._by_user = None

    def upsert_tag_group(self, data):
        group_id = str(data.get("group_id") or "")
        if not group_id:
            raise ValueError("a tag group needs a group_id")
        current = self.tag_groups.get(group_id, {})
        group = {
            "group_id": group_id,
            "group_name": str(data.get("group_name") or current.get("group_name") or group_id),
            "order": int(data.get("order") or current.get("order") or 0),
            "create_time": int(data.get("create_time") or current.get("create_time") or 1700000000),
            "tag": current.get("tag", []),
        }
        if "tag" in data:
            group["tag"] = [
                {
                    "id": str(t["id"]),
                    "name": str(t.get("name") or t["id"]),
                    "order": int(t.get("order") or 0),
                    "create_time": int(t.get("create_time") or 1700000000),
                }
                for t in data.get("tag") or ()
            ]
        self.tag_groups[group_id] = group

    def replace(self, customers=(), tag_groups=(), follow_users=()):
        self.customers, self.tag_groups, self._by_user = {}, {}, None
        self.extra_follow_users = [str(u) for u in follow_users or ()]
        for group in tag_groups or ():
            self.upsert_tag_group(group)
        for customer in customers or ():
            self.upsert_customer(customer)

    def change(
        self,
        customers=(),
        follows=(),
        delete_follows=(),
        delete_customers=(),
        tag_groups=(),
        delete_tag_groups=(),
        delete_tags=(),
        follow_users=None,
    ):
        for group in tag_groups or ():
            self.upsert_tag_group(group)
        for customer in customers or ():
            self.upsert_customer(customer)
        for follow in follows or ():
            self.upsert_follow(follow)
        for external_userid, userid in delete_follows or ():
            entry = self.customers.get(str(external_userid))
            if entry:
                entry["follow_user"] = [f for f in entry["follow_user"] if f["userid"] != str(userid)]
        for external_userid in delete_customers or ():
            self.customers.pop(str(external_userid), None)
        for group_id in delete_tag_groups or ():
            self.tag_groups.pop(str(group_id), None)
        gone_tags = {str(t) for t in delete_tags or ()}
        known = {t["id"] for g in self.tag_groups.values() for t in g["tag"]}
        for group in self.tag_groups.values():
            group["tag"] = [t for t in group["tag"] if t["id"] not in gone_tags]
        if delete_tag_groups or gone_tags:  # WeCom removes deleted tags from every customer
            known -= gone_tags
            for entry in self.customers.values():
                for follow in entry["follow_user"]:
                    follow["tag_id"] = [t for t in follow["tag_id"] if t in known]
        if follow_users is not None:
            self.extra_follow_users = [str(u) for u in follow_users]
        self._by_user = None

    def generate(self, customers=300, follow_users=3, tag_groups=2, tags_per_group=3, seed=0):
        """``customers`` customers (``wm0000001``...) over ``follow_users`` members (``sales001``...), tagged with
        ``tag_groups`` × ``tags_per_group`` tags (``et1_1``...); the same for the same ``seed``."""
        rng = random.Random(seed)
        userids = [f"sales{n:03d}" for n in range(1, int(follow_users) + 1)]
        groups = [
            {
                "group_id": f"etg{g}",
                "group_name": f"Group {g}",
                "order": g,
                "tag": [{"id": f"et{g}_{t}", "name": f"Tag {g}.{t}", "order": t} for t in range(1, tags_per_group + 1)],
            }
            for g in range(1, int(tag_groups) + 1)
        ]
        tag_ids = [t["id"] for g in groups for t in g["tag"]]
        people = []
        for number in range(1, int(customers) + 1):
            first = userids[(number - 1) % len(userids)]
            followers = [first]
            if len(userids) > 1 and rng.random() < 0.1:
                followers.append(rng.choice([u for u in userids if u != first]))
            kind = 2 if rng.random() < 0.2 else 1
            corp = rng.choice(_CORPS)
            people.append(
                {
                    "external_userid": f"wm{number:07d}",
                    "name": f"Customer {number:05d}",
                    "type": kind,
                    "gender": rng.choice((0, 1, 2)),
                    "avatar": f"https://wx.qlogo.cn/mmhead/mock/{number}",
                    **(
                        {"corp_name": corp, "corp_full_name": f"{corp} Co., Ltd.", "position": "Buyer"}
                        if kind == 2
                        else {}
                    ),
                    "follow_user": [
                        {
                            "userid": userid,
                            "remark": f"Remark {number}" if rng.random() < 0.5 else "",
                            "description": "",
                            "createtime": 1700000000 + number * 60 + index,
                            "tag_id": rng.sample(tag_ids, k=min(len(tag_ids), rng.randint(0, 2))),
                            "remark_mobiles": [f"139{number:08d}"] if rng.random() < 0.3 else [],
                            "add_way": rng.choice((1, 2, 3)),
                            "state": "",
                        }
                        for index, userid in enumerate(followers)
                    ],
                }
            )
        self.replace(people, groups)

    # ---------------------------------------------------------------- reading
    def follow_user_list(self):
        userids = dict.fromkeys(self.extra_follow_users)
        for entry in self.customers.values():
            for follow in entry["follow_user"]:
                userids.setdefault(follow["userid"], None)
        return list(userids)

    def by_user(self):
        if self._by_user is None:
            index = {}
            for external_userid, entry in self.customers.items():
                for follow in entry["follow_user"]:
                    index.setdefault(follow["userid"], []).append(external_userid)
            self._by_user = index
        return self._by_user

    def tag_names(self):
        return {t["id"]: (g["group_name"], t["name"]) for g in self.tag_groups.values() for t in g["tag"]}

    def snapshot(self):
        return json.loads(
            json.dumps(
                {
                    "customers": [
                        {**e["external_contact"], "follow_user": e["follow_user"]} for e in self.customers.values()
                    ],
                    "tag_groups": list(self.tag_groups.values()),
                    "follow_users": self.extra_follow_users,
                }
            )
        )


def api_get_follow_user_list(handler, query, body):
    if handler._token_app(query) is None:
        return None
    with handler.state.lock:
        userids = _crm(handler).follow_user_list()
    return handler._json({"errcode": 0, "errmsg": "ok", "follow_user": userids})


def api_batch_get_by_user(handler, query, body):
    checked = handler._app_payload(query, body)
    if checked is None:
        return None
    payload = checked[1]
    userids = payload.get("userid_list")
    if not isinstance(userids, list) or not userids or len(userids) > BATCH_MAX_USERS:
        return handler._err(ERRCODE_INVALID_PARAMETER, f"invalid userid_list: 1 to {BATCH_MAX_USERS} userids")
    limit, cursor = payload.get("limit", BATCH_DEFAULT_LIMIT), str(payload.get("cursor") or "")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= BATCH_MAX_LIMIT:
        return handler._err(ERRCODE_INVALID_PARAMETER, f"invalid limit: 1 to {BATCH_MAX_LIMIT}")
    if cursor and not (cursor.startswith("b") and cursor[1:].isdigit()):
        return handler._err(ERRCODE_INVALID_PARAMETER, "invalid cursor")
    offset = int(cursor[1:]) if cursor else 0
    rows = []
    with handler.state.lock:
        crm = _crm(handler)
        index = crm.by_user()
        pairs = [
            (str(userid), ext) for userid in dict.fromkeys(map(str, userids)) for ext in index.get(str(userid), ())
        ]
        for userid, external_userid in pairs[offset : offset + limit]:
            entry = crm.customers[external_userid]
            follow = next(f for f in entry["follow_user"] if f["userid"] == userid)
            rows.append({"external_contact": dict(entry["external_contact"]), "follow_info": dict(follow)})
        total = len(pairs)
    next_cursor = f"b{offset + limit}" if offset + limit < total else ""
    return handler._json({"errcode": 0, "errmsg": "ok", "external_contact_list": rows, "next_cursor": next_cursor})


def api_get(handler, query, body):
    if handler._token_app(query) is None:
        return None
    external_userid, cursor = query.get("external_userid") or "", query.get("cursor") or ""
    if cursor and not (cursor.startswith("f") and cursor[1:].isdigit()):
        return handler._err(ERRCODE_INVALID_PARAMETER, "invalid cursor")
    offset = int(cursor[1:]) if cursor else 0
    with handler.state.lock:
        crm = _crm(handler)
        entry = crm.customers.get(external_userid)
        if entry is None:
            return handler._err(ERRCODE_NOT_EXTERNAL_CONTACT, "not external contact")
        names = crm.tag_names()
        follows = []
        for follow in entry["follow_user"][offset : offset + GET_FOLLOW_PAGE]:
            item = {k: v for k, v in follow.items() if k != "tag_id"}
            item["tags"] = [
                {"group_name": names[t][0], "tag_name": names[t][1], "tag_id": t, "type": 1}
                for t in follow["tag_id"]
                if t in names
            ]
            follows.append(item)
        more = offset + GET_FOLLOW_PAGE < len(entry["follow_user"])
        contact = dict(entry["external_contact"])
    answer = {"errcode": 0, "errmsg": "ok", "external_contact": contact, "follow_user": follows}
    answer["next_cursor"] = f"f{offset + GET_FOLLOW_PAGE}" if more else ""
    return handler._json(answer)


def api_get_corp_tag_list(handler, query, body):
    checked = handler._app_payload(query, body, empty_ok=True)
    if checked is None:
        return None
    payload = checked[1]
    tag_filter = {str(t) for t in payload.get("tag_id") or ()}
    group_filter = {str(g) for g in payload.get("group_id") or ()}
    with handler.state.lock:
        groups = json.loads(json.dumps(list(_crm(handler).tag_groups.values())))
    if group_filter:
        groups = [g for g in groups if g["group_id"] in group_filter]
    elif tag_filter:
        for group in groups:
            group["tag"] = [t for t in group["tag"] if t["id"] in tag_filter]
        groups = [g for g in groups if g["tag"]]
    return handler._json({"errcode": 0, "errmsg": "ok", "tag_group": groups})


_crm = plug_part(
    "crm",
    MockCrm,
    "/_mock/crm",
    {
        ("GET", "/_mock/crm"): lambda handler, crm, data: crm.snapshot(),
        ("POST", "/_mock/crm"): lambda handler, crm, data: crm.replace(
            data.get("customers") or (), data.get("tag_groups") or (), data.get("follow_users") or ()
        ),
        ("POST", "/_mock/crm/generate"): lambda handler, crm, data: crm.generate(**data),
        ("POST", "/_mock/crm/change"): lambda handler, crm, data: crm.change(**data),
    },
    routes={
        "/cgi-bin/externalcontact/get_follow_user_list": api_get_follow_user_list,
        "/cgi-bin/externalcontact/batch/get_by_user": api_batch_get_by_user,
        "/cgi-bin/externalcontact/get": api_get,
        "/cgi-bin/externalcontact/get_corp_tag_list": api_get_corp_tag_list,
    },
)


def _control_set_crm(self, customers=(), tag_groups=(), follow_users=()):
    """Replace the mock's customers (see this module's docstring for their shape), corporate tag groups and the
    members with customer contact but no customer yet."""
    self._call(
        "POST",
        "/_mock/crm",
        {"customers": list(customers), "tag_groups": list(tag_groups), "follow_users": list(follow_users)},
    )


def _control_generate_crm(self, customers=300, follow_users=3, tag_groups=2, tags_per_group=3, seed=0):
    """Generated customers (``wm0000001``...) over members ``sales001``..., with tags ``et<g>_<t>``."""
    self._call(
        "POST",
        "/_mock/crm/generate",
        {
            "customers": customers,
            "follow_users": follow_users,
            "tag_groups": tag_groups,
            "tags_per_group": tags_per_group,
            "seed": seed,
        },
    )


def _control_change_crm(self, **changes):
    """Upsert ``customers``, ``follows`` (``{"external_userid", "userid", ...}``) and ``tag_groups``; delete
    ``delete_follows`` (``[external_userid, userid]`` pairs), ``delete_customers``, ``delete_tag_groups``,
    ``delete_tags``; ``follow_users`` replaces the members with customer contact but no customer."""
    self._call("POST", "/_mock/crm/change", changes)


def _control_crm(self):
    """``{"customers", "tag_groups", "follow_users"}`` as the mock holds them."""
    return self._call("GET", "/_mock/crm")


MockWeComControl.set_crm = _control_set_crm
MockWeComControl.generate_crm = _control_generate_crm
MockWeComControl.change_crm = _control_change_crm
MockWeComControl.crm = _control_crm
