"""The customer (external contact) mirror kept in sync: the full sync of an application (button and nightly cron)
and the per-customer refresh the ``change_external_contact`` callbacks use.

A full sync reads everything first (tags, follow users, then ``batch/get_by_user`` pages of 100 members), then
applies it inside one savepoint: a failed page leaves the mirror as it was. Every record (mirror, partner) is
compared before it is written, so a sync of unchanged customers writes nothing at all.
"""

import logging
import time
from collections import defaultdict
from datetime import datetime, timezone

from odoo import Command, _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import is_html_empty

from odoo.addons.wecom_base import compat
from odoo.addons.wecom_base.lib import WeComApiError, WeComDataError
from odoo.addons.wecom_base.tools import changed_values

from .wecom_external_contact import CONTACT_FIELDS, FOLLOW_FIELDS
from .wecom_external_follow import ADD_WAY_CODES

_logger = logging.getLogger(__name__)

PATH_TAG_LIST = "/cgi-bin/externalcontact/get_corp_tag_list"
PATH_FOLLOW_USERS = "/cgi-bin/externalcontact/get_follow_user_list"
PATH_BATCH = "/cgi-bin/externalcontact/batch/get_by_user"
PATH_GET = "/cgi-bin/externalcontact/get"
BATCH_USERS = 100  # userid_list: at most 100 members a call (path/92994)
BATCH_LIMIT = 100  # limit: at most 100 customers a page
MAX_PAGES = 100000  # a cursor that never ends is WeCom's bug, not a reason to loop forever
ERRCODES_NOT_CUSTOMER = (84061, 84051)  # not an external contact of the company / no such external_userid
APPLY_BATCH = 1000


def _text(value, size=None):
    if value is None or value is False:
        return False
    value = str(value).strip()
    return (value[:size] if size else value) or False


def normalize_contact(data):
    """``external_contact`` of a WeCom answer -> the values of ``wecom.external.contact``.

    :raise WeComDataError: it has no ``external_userid``
    """
    if not isinstance(data, dict) or not _text(data.get("external_userid")):
        raise WeComDataError(_("WeCom sent a customer without external_userid."))
    try:
        kind = int(data.get("type") or 1)
    except (TypeError, ValueError):
        kind = 1
    gender = str(data.get("gender") or 0)
    return {
        "name": _text(data.get("name")) or str(data["external_userid"]),
        "type": "wecom" if kind == 2 else "wechat",
        "corp_name": _text(data.get("corp_name")),
        "corp_full_name": _text(data.get("corp_full_name")),
        "position": _text(data.get("position")),
        "gender": gender if gender in ("0", "1", "2") else "0",
        "unionid": _text(data.get("unionid")),
        "avatar": _text(data.get("avatar")),
    }


def normalize_follow(data):
    """``follow_info`` (batch) or an item of ``follow_user`` (get) -> follower values; ``tag_ids`` are WeCom's
    corporate tag ids (personal tags, type 2, have no corporate id and are left out)."""
    if "tag_id" in data:
        tag_ids = [str(t) for t in data.get("tag_id") or () if t]
    else:
        tag_ids = [
            str(t["tag_id"])
            for t in data.get("tags") or ()
            if isinstance(t, dict) and t.get("tag_id") and int(t.get("type") or 1) == 1
        ]
    mobiles = [str(m).strip() for m in data.get("remark_mobiles") or () if str(m).strip()]
    add_date = False
    try:
        created = int(data.get("createtime") or 0)
        if created > 0:
            add_date = datetime.fromtimestamp(created, timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        add_date = False
    add_way = str(data.get("add_way") or 0)
    return {
        "remark": _text(data.get("remark")),
        "description": _text(data.get("description")),
        "remark_mobiles": ", ".join(mobiles) or False,
        "remark_corp_name": _text(data.get("remark_corp_name")),
        "add_date": add_date,
        "add_way": add_way if add_way in ADD_WAY_CODES else "0",
        "oper_userid": _text(data.get("oper_userid")),
        "add_state": _text(data.get("state")),
        "tag_ids": sorted(set(tag_ids)),
    }


class WeComApplication(models.Model):
    _inherit = "wecom.application"

    customer_sync = fields.Boolean(
        string="Sync Customers",
        tracking=True,
        help="Mirror the company's WeCom customers (external contacts) as partners, every night and from customer "
        "change callbacks. The application must be allowed to call the customer contact API (WeCom admin console: "
        "Customer Contact > API). One application per company.",
    )
    customer_sync_date = fields.Datetime(
        string="Customers Changed On", readonly=True, copy=False, help="When a sync last changed the customers."
    )
    customer_sync_summary = fields.Char(string="Last Customer Change", readonly=True, copy=False)
    customer_count = fields.Integer(compute="_compute_customer_count", string="Customers")

    @api.constrains("customer_sync", "company_id")
    def _check_customer_sync(self):
        for app in self.filtered("customer_sync"):
            other = app._wecom_company_holder("customer_sync")
            if other:
                raise ValidationError(
                    _(
                        "%(other)s already syncs the customers of %(company)s: one application per company.",
                        other=other.app_name,
                        company=app.company_id.name,
                    )
                )

    def _compute_customer_count(self):
        counts = dict(
            self.env["wecom.external.contact"]._read_group(
                [("application_id", "in", self.ids)], ["application_id"], ["__count"]
            )
        )
        for app in self:
            app.customer_count = counts.get(app, 0)

    def action_view_customers(self):
        """Button: the customers this application mirrors."""
        return self._wecom_records_action("wecom_crm.wecom_external_contact_action")

    @api.model
    def _wecom_customer_application(self, company):
        """The application that syncs the customers of ``company`` (empty when none)."""
        return self.sudo().search([("company_id", "=", company.id), ("customer_sync", "=", True)], limit=1)

    # ------------------------------------------------------------------ full sync
    def action_sync_external_contacts(self):
        """Button: read the customers from WeCom and apply them to the mirror and the partners now.

        :raise UserError: WeCom refused a call (the reason and what to do); nothing was changed
        """
        return self._wecom_sync_action(
            lambda app: app.sudo()._wecom_sync_external_contacts(),
            self._wecom_customer_summary,
            _("WeCom customers synced"),
        )

    def _wecom_customer_call(self, path, payload=None, method="POST", params=None):
        self.ensure_one()
        return self.sudo()._wecom_call(path, payload=payload, method=method, params=params)

    def _wecom_read_tag_groups(self):
        answer = self._wecom_customer_call(PATH_TAG_LIST, {})
        groups = answer.get("tag_group") or []
        if not isinstance(groups, list):
            raise WeComDataError(_("WeCom sent customer tags that are not a list."))
        return groups

    def _wecom_read_customers(self):
        """Every customer of every follow user, read with ``batch/get_by_user`` (100 members a call, each
        member's pages through its cursor). Nothing is written.

        :return: ``({external_userid: {"contact": values, "follows": {userid: values}}}, number of calls)``
        :raise WeComError: a call failed
        """
        calls = 1
        answer = self._wecom_customer_call(PATH_FOLLOW_USERS, method="GET")
        follow_users = [str(u) for u in answer.get("follow_user") or () if u]
        customers = {}
        for start in range(0, len(follow_users), BATCH_USERS):
            userids = follow_users[start : start + BATCH_USERS]
            cursor, seen = "", set()
            for _page in range(MAX_PAGES):
                calls += 1
                answer = self._wecom_customer_call(
                    PATH_BATCH, {"userid_list": userids, "cursor": cursor, "limit": BATCH_LIMIT}
                )
                for item in answer.get("external_contact_list") or ():
                    contact, follow = item.get("external_contact") or {}, item.get("follow_info") or {}
                    userid = _text(follow.get("userid"))
                    values = normalize_contact(contact)
                    entry = customers.setdefault(contact["external_userid"], {"contact": values, "follows": {}})
                    if userid:
                        entry["follows"][userid] = normalize_follow(follow)
                cursor = answer.get("next_cursor") or ""
                if not cursor:
                    break
                if cursor in seen:
                    raise WeComDataError(_("WeCom sent the same customer page cursor twice."))
                seen.add(cursor)
            _logger.info(
                "WeCom application %s: customers of %s/%s follow users read (%s customers)",
                self.id,
                min(start + BATCH_USERS, len(follow_users)),
                len(follow_users),
                len(customers),
            )
        return customers, calls

    def _wecom_read_customer(self, external_userid):
        """One customer with all its follow users (``externalcontact/get``, through its cursor), or None when
        WeCom says it is no customer of the company (any more)."""
        entry, cursor, seen = None, "", set()
        for _page in range(MAX_PAGES):
            params = {"external_userid": external_userid}
            if cursor:
                params["cursor"] = cursor
            try:
                answer = self._wecom_customer_call(PATH_GET, method="GET", params=params)
            except WeComApiError as exc:
                if exc.errcode in ERRCODES_NOT_CUSTOMER:
                    return None
                raise
            if entry is None:
                entry = {"contact": normalize_contact(answer.get("external_contact")), "follows": {}}
            for follow in answer.get("follow_user") or ():
                userid = _text(follow.get("userid"))
                if userid:
                    entry["follows"][userid] = normalize_follow(follow)
            cursor = answer.get("next_cursor") or ""
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        return entry

    def _wecom_sync_external_contacts(self):
        """Read every customer this application sees, then apply them to the mirror and the partners in one
        savepoint; customers no longer followed by anyone are archived.

        :return: ``{"contacts", "follows", "partners": stats, "tags", "calls", "seconds", "total", "changed"}``
        :raise WeComError: a WeCom call failed for good (nothing was written)
        """
        self.ensure_one()
        start = time.monotonic()
        tag_groups = self._wecom_read_tag_groups()
        customers, calls = self._wecom_read_customers()
        with self.env.cr.savepoint():
            stats = self._wecom_apply_customers(customers, tag_groups=tag_groups, full=True)
        stats.update(calls=calls + 1, seconds=round(time.monotonic() - start, 2), total=len(customers))
        summary = self._wecom_customer_summary(stats)
        _logger.info("WeCom application %s: customers synced: %s", self.id, summary)
        if stats["changed"]:  # unchanged customers write nothing, not even this
            self.sudo().write({"customer_sync_date": fields.Datetime.now(), "customer_sync_summary": summary})
        return stats

    def _wecom_refresh_customers(self, external_userids):
        """Read these customers again with ``externalcontact/get`` and apply them (a customer WeCom no longer
        knows loses its followers and is archived).

        :return: the stats of :meth:`_wecom_apply_customers`
        """
        self.ensure_one()
        customers = {}
        for external_userid in external_userids:
            entry = self._wecom_read_customer(external_userid)
            customers[external_userid] = entry or {"contact": None, "follows": {}}
        with self.env.cr.savepoint():
            return self._wecom_apply_customers(customers)

    def _wecom_drop_follow(self, external_userid, userid):
        """A member and a customer no longer follow each other (``del_external_contact``, ``del_follow_user``):
        the follower is removed from the mirror, the partner stays; without followers the customer is archived.

        :return: True when a follower was removed
        """
        self.ensure_one()
        contact = (
            self.env["wecom.external.contact"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_id.id), ("external_userid", "=", external_userid)], limit=1)
        )
        follows = contact.follow_ids.filtered(lambda f: f.userid.lower() == (userid or "").lower())
        if not follows:
            return False
        entry = contact._wecom_entry_from_mirror()
        for follow in follows:
            entry["follows"].pop(follow.userid, None)
        with self.env.cr.savepoint():
            self._wecom_apply_customers({external_userid: entry})
        return True

    @api.model
    def _wecom_customer_summary(self, stats):
        if not stats.get("changed"):
            return _("%(total)s customers, nothing changed", total=stats.get("total", 0))
        c, f, p = stats["contacts"], stats["follows"], stats["partners"]
        return _(
            "customers %(cc)s created, %(cu)s updated, %(ca)s archived; followers %(fc)s added, %(fu)s updated, "
            "%(fd)s removed; partners %(pc)s created, %(pu)s updated (%(total)s customers)",
            cc=c["created"],
            cu=c["updated"],
            ca=c["archived"],
            fc=f["created"],
            fu=f["updated"],
            fd=f["deleted"],
            pc=p["created"],
            pu=p["updated"],
            total=stats.get("total", 0),
        )

    @api.model
    def _cron_sync_external_contacts(self):
        """Nightly: sync the customers of every company (its application with *Sync Customers*), each company in
        its own transaction; one failure is recorded on its application and stops no other.

        :return: the number of applications whose sync failed
        """
        auto_commit = compat.may_commit(self.env.cr)
        apps = self.search([("customer_sync", "=", True)])
        failures = 0
        for index, app in enumerate(apps, 1):
            try:
                app._wecom_sync_external_contacts()
            except Exception as exc:  # noqa: BLE001 - one company's failure must not stop the others
                failures += 1
                app._wecom_record_error(exc)
                app.log_error(
                    _("Customer sync failed: %(error)s", error=app._wecom_error_message(exc)),
                    func="_cron_sync_external_contacts",
                )
            compat.report_progress(self.env, index, len(apps) - index)
            if auto_commit:
                compat.commit_batch(self.env, 1)
        return failures

    # ------------------------------------------------------------------ applying
    def _wecom_apply_tags(self, tag_groups, full=True):
        """Create, update (and with ``full``, archive) the company's customer tags and their partner categories.

        :return: the number of tags created, updated or archived
        """
        self.ensure_one()
        Tag = self.env["wecom.external.tag"].sudo().with_context(active_test=False)
        existing = {
            t.tag_id: t
            for t in Tag.search_fetch(
                [("company_id", "=", self.company_id.id)],
                ["tag_id", "name", "order", "group_id", "group_name", "group_order", "category_id", "active"],
            )
        }
        desired = {}
        for group in tag_groups or ():
            for tag in group.get("tag") or ():
                if not _text(tag.get("id")):
                    continue
                desired[str(tag["id"])] = {
                    "name": _text(tag.get("name")) or str(tag["id"]),
                    "order": int(tag.get("order") or 0),
                    "group_id": _text(group.get("group_id")),
                    "group_name": _text(group.get("group_name")) or _("Tags"),
                    "group_order": int(group.get("order") or 0),
                    "active": True,
                }
        wanted = defaultdict(set)
        for tag_id, values in desired.items():
            tag = existing.get(tag_id)
            wanted.setdefault(values["group_name"], set())  # its group's category, even when no tag needs one
            if not tag or not tag.category_id:
                wanted[values["group_name"]].add(values["name"])
        categories = Tag._wecom_categories(wanted) if wanted else {}
        changes, to_create = 0, []
        for tag_id, values in desired.items():
            tag = existing.get(tag_id)
            if tag is None:
                to_create.append(
                    {
                        **values,
                        "tag_id": tag_id,
                        "company_id": self.company_id.id,
                        "application_id": self.id,
                        "category_id": categories[(values["group_name"], values["name"])],
                    }
                )
                continue
            if not tag.category_id:
                values["category_id"] = categories[(values["group_name"], values["name"])]
            else:  # the category follows its tag: renamed, moved to the category of its new group
                category = tag.category_id.sudo()
                group_category = categories.get((values["group_name"], None))
                diff = changed_values(category, {"name": values["name"], "parent_id": group_category})
                if diff:
                    category.write(diff)
            diff = changed_values(tag, values)
            if diff:
                tag.write(diff)
                changes += 1
        if to_create:
            Tag.create(to_create)
            changes += len(to_create)
        if full:
            gone = Tag.browse([t.id for tag_id, t in existing.items() if tag_id not in desired and t.active])
            if gone:
                gone.write({"active": False})
                changes += len(gone)
        return changes

    def _wecom_apply_customers(self, customers, tag_groups=None, full=False):  # noqa: C901
        """Apply customers to the mirror (contacts, followers) and to their partners, comparing before writing.

        :param dict customers: ``{external_userid: {"contact": values | None, "follows": {userid: values}}}``;
            ``contact`` None: WeCom no longer knows the customer (only archived when mirrored)
        :param list tag_groups: WeCom's tag groups to apply first (None: keep the tags, unless a follower carries a
            tag id not mirrored yet: then the tags are read again)
        :param bool full: ``customers`` is everything: mirrored customers not in it are archived
        :return: ``{"contacts", "follows", "partners", "tags", "changed", "new_follows"}``
        """
        self.ensure_one()
        company = self.company_id
        env = self.env(context={**self.env.context, "tracking_disable": True, "mail_create_nolog": True}, su=True)
        Contact = env["wecom.external.contact"].with_context(active_test=False)
        Follow = env["wecom.external.follow"].with_context(active_test=False)
        Tag = env["wecom.external.tag"].with_context(active_test=False)
        stats = {
            "contacts": {"created": 0, "updated": 0, "archived": 0},
            "follows": {"created": 0, "updated": 0, "deleted": 0},
            "partners": {"created": 0, "updated": 0},
            "tags": 0,
        }
        if tag_groups is None:
            known = set(Tag.search([("company_id", "=", company.id)]).mapped("tag_id"))
            carried = {t for e in customers.values() for f in e["follows"].values() for t in f["tag_ids"]}
            if carried - known:
                tag_groups = self._wecom_read_tag_groups()
                stats["tags"] = self._wecom_apply_tags(tag_groups, full=False)
        else:
            stats["tags"] = self._wecom_apply_tags(tag_groups, full=full)
        tags = {
            t.tag_id: (t.id, t.category_id.id)
            for t in Tag.search_fetch([("company_id", "=", company.id)], ["tag_id", "category_id"])
        }
        managed_categories = {category for _tag, category in tags.values() if category}
        users = env["wecom.member"]._wecom_user_map(company)
        members = {
            m.userid.lower(): m.id
            for m in env["wecom.member"]
            .with_context(active_test=False)
            .search_fetch([("company_id", "=", company.id)], ["userid"])
        }

        def user_of(userid):
            return users.get((company.id, userid.lower()), False)

        domain = [("company_id", "=", company.id)]
        if not full:
            domain.append(("external_userid", "in", list(customers)))
        existing = {
            c.external_userid: c
            for c in Contact.search_fetch(domain, [*CONTACT_FIELDS, "external_userid", "partner_id", "active"])
        }
        follows = defaultdict(dict)
        for follow in Follow.search_fetch(
            [("contact_id", "in", [c.id for c in existing.values()])],
            ["contact_id", "userid", *FOLLOW_FIELDS, "member_id", "user_id", "tag_ids"],
        ):
            follows[follow.contact_id.id][follow.userid] = follow

        # partners: linked, else found by external_userid, else created below
        partners = env["res.partner"].with_context(active_test=False)
        partner_of = {ext: c.partner_id for ext, c in existing.items() if c.partner_id}
        missing = [ext for ext, e in customers.items() if e["contact"] and ext not in partner_of]
        for start in range(0, len(missing), APPLY_BATCH):
            for partner in partners.search_fetch(
                [("wecom_external_userid", "in", missing[start : start + APPLY_BATCH])],
                ["wecom_external_userid"],
                order="id",
            ):
                partner_of.setdefault(partner.wecom_external_userid, partner)
        linked = partners.browse([p.id for p in partner_of.values()])
        linked.fetch(["name", "function", "phone", "comment", "parent_id", "is_company", "user_id", "category_id"])
        linked.fetch(["wecom_external_userid"])
        corp_names = {
            e["contact"]["corp_full_name"] or e["contact"]["corp_name"]
            for e in customers.values()
            if e["contact"]
            and e["contact"]["type"] == "wecom"
            and (e["contact"]["corp_full_name"] or e["contact"]["corp_name"])
        }
        corp_partners = {}
        if corp_names:
            for partner in partners.search_fetch(
                [
                    ("is_company", "=", True),
                    ("name", "in", list(corp_names)),
                    ("company_id", "in", [company.id, False]),
                ],
                ["name"],
                order="id",
            ):
                corp_partners.setdefault(partner.name, partner.id)
            new_corps = sorted(corp_names - set(corp_partners))
            if new_corps:
                for partner in partners.create([{"name": name, "is_company": True} for name in new_corps]):
                    corp_partners[partner.name] = partner.id

        def partner_desired(entry):
            contact, follow_values = entry["contact"], entry["follows"]
            ordered = sorted(follow_values.items(), key=lambda item: (item[1]["add_date"] or datetime.max, item[0]))
            salesperson = next((user_of(u) for u, _v in ordered if user_of(u)), False)
            categories = {tags[t][1] for _u, v in ordered for t in v["tag_ids"] if t in tags and tags[t][1]}
            mobile = next(
                (v["remark_mobiles"].split(",")[0].strip() for _u, v in ordered if v["remark_mobiles"]), False
            )
            note = next(
                (
                    " — ".join(filter(None, [v["remark"], v["description"]]))
                    for _u, v in ordered
                    if v["remark"] or v["description"]
                ),
                False,
            )
            corp = contact["corp_full_name"] or contact["corp_name"]
            remark_corp = next((v["remark_corp_name"] for _u, v in ordered if v["remark_corp_name"]), False)
            return {
                "name": contact["name"],
                "function": contact["position"],
                "phone": mobile,
                "comment": note,
                "parent_id": corp_partners.get(corp, False) if contact["type"] == "wecom" else False,
                "company_name": remark_corp if contact["type"] == "wechat" else False,
                "user_id": salesperson,
                "followers": {user_of(u) for u in follow_values if user_of(u)},
                "category_ids": categories,
            }

        new_partners, partner_updates = [], 0
        for ext, entry in customers.items():
            if not entry["contact"] or ext in partner_of:
                continue
            desired = partner_desired(entry)
            values = {
                "name": desired["name"],
                "wecom_external_userid": ext,
                "category_id": [Command.set(sorted(desired["category_ids"]))],
            }
            for name in ("function", "phone", "parent_id", "company_name", "user_id"):
                if desired[name]:
                    values[name] = desired[name]
            if desired["comment"]:
                values["comment"] = desired["comment"]
            new_partners.append((ext, values))
        for start in range(0, len(new_partners), APPLY_BATCH):
            chunk = new_partners[start : start + APPLY_BATCH]
            created = partners.create([v for _e, v in chunk])
            for (ext, _values), partner in zip(chunk, created, strict=True):
                partner_of[ext] = partner
            created.invalidate_recordset()  # written; only their ids are used below: keep memory flat
            stats["partners"]["created"] += len(chunk)
        created_partners = {ext for ext, _v in new_partners}

        contacts_to_create, follows_to_create, new_follow_keys, to_unlink = [], [], [], Follow.browse()
        for ext, entry in customers.items():
            record = existing.get(ext)
            if entry["contact"] is None:  # gone from WeCom
                if record:
                    to_unlink |= Follow.browse([f.id for f in follows[record.id].values()])
                    if record.active:
                        record.active = False
                        stats["contacts"]["archived"] += 1
                continue
            partner = partner_of.get(ext)
            desired = {
                **entry["contact"],
                "partner_id": partner.id if partner else False,
                "active": bool(entry["follows"]),
            }
            if record is None:
                contacts_to_create.append(
                    {**desired, "external_userid": ext, "company_id": company.id, "application_id": self.id}
                )
            old_name = record.name if record else None
            if record is not None:
                diff = changed_values(record, desired)
                if diff:
                    record.write(diff)
                    if diff.get("active") is False:
                        stats["contacts"]["archived"] += 1
                    else:
                        stats["contacts"]["updated"] += 1
            if partner and ext not in created_partners:
                partner_updates += self._wecom_update_partner(
                    partner, partner_desired(entry), old_name, managed_categories, ext
                )
            current = follows[record.id] if record else {}
            for userid, values in entry["follows"].items():
                desired_follow = {
                    **values,
                    "tag_ids": sorted(tags[t][0] for t in values["tag_ids"] if t in tags),
                    "member_id": members.get(userid.lower(), False),
                    "user_id": user_of(userid),
                }
                follow = current.get(userid)
                if follow is None:
                    desired_follow["tag_ids"] = [Command.set(desired_follow["tag_ids"])]
                    follows_to_create.append((ext, {**desired_follow, "userid": userid}))
                    new_follow_keys.append((ext, userid))
                    continue
                diff = changed_values(follow, desired_follow)
                if diff:
                    follow.write(diff)
                    stats["follows"]["updated"] += 1
            gone = [f.id for userid, f in current.items() if userid not in entry["follows"]]
            to_unlink |= Follow.browse(gone)
        contact_ids = {ext: c.id for ext, c in existing.items()}
        for start in range(0, len(contacts_to_create), APPLY_BATCH):
            chunk = contacts_to_create[start : start + APPLY_BATCH]
            created = Contact.create(chunk)
            for values, contact in zip(chunk, created, strict=True):
                contact_ids[values["external_userid"]] = contact.id
            created.invalidate_recordset()
            stats["contacts"]["created"] += len(chunk)
        for start in range(0, len(follows_to_create), APPLY_BATCH):
            chunk = follows_to_create[start : start + APPLY_BATCH]
            Follow.create([{**values, "contact_id": contact_ids[ext]} for ext, values in chunk]).invalidate_recordset()
            stats["follows"]["created"] += len(chunk)
        if full:
            gone_contacts = Contact.browse([c.id for ext, c in existing.items() if ext not in customers])
            stale = Follow.browse([f.id for c in gone_contacts for f in follows[c.id].values()])
            to_unlink |= stale
            archived = gone_contacts.filtered("active")
            if archived:
                archived.write({"active": False})
                stats["contacts"]["archived"] += len(archived)
        if to_unlink:
            stats["follows"]["deleted"] += len(to_unlink)
            to_unlink.unlink()
        stats["partners"]["updated"] = partner_updates
        new_follows = Follow.browse()
        if new_follow_keys and not full:  # for the callbacks' hook; a full sync adds no customer of its own
            wanted_keys = set(new_follow_keys)
            new_follows = Follow.search(
                [("contact_id", "in", [contact_ids[ext] for ext, _u in new_follow_keys])]
            ).filtered(lambda f: (f.contact_id.external_userid, f.userid) in wanted_keys)
        stats["new_follows"] = new_follows
        stats["changed"] = bool(
            stats["tags"] or any(v for group in ("contacts", "follows", "partners") for v in stats[group].values())
        )
        return stats

    @api.model
    def _wecom_update_partner(self, partner, desired, old_name, managed_categories, external_userid):
        """Bring an existing partner in line with its customer, never overwriting what Odoo users typed: the name
        follows WeCom while it is still the customer's previous name; job position, phone, notes, company and
        company name are only filled when empty; the salesperson is set when there is none or when the current one
        no longer follows the customer; the partner categories of WeCom tags follow the tags (other categories
        are kept).

        :return: 1 when the partner was written, else 0
        """
        diff = {}
        if desired["name"] and partner.name != desired["name"] and (not partner.name or partner.name == old_name):
            diff["name"] = desired["name"]
        for name in ("function", "phone", "company_name"):
            if desired[name] and not partner[name]:
                diff[name] = desired[name]
        if desired["comment"] and is_html_empty(partner.comment):
            diff["comment"] = desired["comment"]
        if desired["parent_id"] and not partner.parent_id and not partner.is_company:
            diff["parent_id"] = desired["parent_id"]
        if (
            desired["user_id"]
            and partner.user_id.id != desired["user_id"]
            and (not partner.user_id or partner.user_id.id not in desired["followers"])
        ):
            diff["user_id"] = desired["user_id"]
        current = set(partner.category_id.ids) & managed_categories
        if current != desired["category_ids"]:
            diff["category_id"] = [Command.unlink(c) for c in sorted(current - desired["category_ids"])] + [
                Command.link(c) for c in sorted(desired["category_ids"] - current)
            ]
        if partner.wecom_external_userid != external_userid:
            diff["wecom_external_userid"] = external_userid
        if diff:
            partner.write(diff)
            return 1
        return 0
