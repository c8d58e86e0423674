"""The WeCom directory mirror kept in sync: the full sync of an application (button and nightly cron) and the
incremental sync from ``change_contact`` callbacks.

A full sync reads everything first (:class:`~odoo.addons.wecom_base.lib.DirectoryReader`), then applies it inside
one savepoint: a failed page or a failed write leaves the mirror as it was. Every record is compared before it is
written, so a sync of an unchanged directory writes nothing at all.
"""

import logging
import time

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import compat, const
from ..lib import (
    DirectoryReader,
    WeComDataError,
    check_department_depth,
    normalize_department,
    normalize_member,
)
from ..lib.directory import MAX_DEPARTMENT_DEPTH
from ..tools import changed_values, company_lang

_logger = logging.getLogger(__name__)

EVENT_MODEL = "wecom.callback.event"
# change_contact XML elements -> the keys of normalize_member()
USER_EVENT_FIELDS = {
    "Name": "name",
    "Department": "department",
    "MainDepartment": "main_department",
    "Position": "position",
    "Status": "status",
    "Mobile": "mobile",
    "Email": "email",
    "BizMail": "biz_mail",
    "Avatar": "avatar",
}
PARTY_EVENT_FIELDS = {"Name": "name", "ParentId": "parentid", "Order": "order"}


def _empty_stats():
    return {"created": 0, "updated": 0, "archived": 0}


class WeComApplication(models.Model):
    _inherit = "wecom.application"

    directory_sync = fields.Boolean(
        string="Sync the Directory",
        tracking=True,
        help="Mirror the departments and members this application can see (WeCom > Directory), every night and "
        "from contact change callbacks. One application per company.",
    )
    directory_sync_date = fields.Datetime(
        string="Directory Changed On", readonly=True, copy=False, help="When a sync last changed the mirror."
    )
    directory_sync_summary = fields.Char(string="Last Directory Change", readonly=True, copy=False)
    directory_department_count = fields.Integer(compute="_compute_directory_counts", string="Departments")
    directory_member_count = fields.Integer(compute="_compute_directory_counts", string="Members")

    @api.constrains("directory_sync", "company_id")
    def _check_directory_sync(self):
        for app in self.filtered("directory_sync"):
            other = app._wecom_company_holder("directory_sync")
            if other:
                raise ValidationError(
                    _(
                        "%(other)s already syncs the directory of %(company)s: one application per company.",
                        other=other.app_name,
                        company=app.company_id.name,
                    )
                )

    def _compute_directory_counts(self):
        departments = dict(
            self.env["wecom.department"]._read_group(
                [("application_id", "in", self.ids)], ["application_id"], ["__count"]
            )
        )
        members = dict(
            self.env["wecom.member"]._read_group([("application_id", "in", self.ids)], ["application_id"], ["__count"])
        )
        for app in self:
            app.directory_department_count = departments.get(app, 0)
            app.directory_member_count = members.get(app, 0)

    def action_view_directory_departments(self):
        """Button: the departments this application mirrors."""
        return self._wecom_records_action("wecom_base.wecom_department_action")

    def action_view_directory_members(self):
        """Button: the members this application mirrors."""
        return self._wecom_records_action("wecom_base.wecom_member_action")

    # ------------------------------------------------------------------ full sync
    def action_sync_directory(self):
        """Button: read the directory from WeCom and apply it to the mirror now.

        The application becomes its company's directory source when the company has none (so that the contact
        change callbacks keep the mirror current); another application that is the source is named instead.

        :raise UserError: another application syncs the company's directory, or WeCom refused a call (the reason
            and what to do); nothing was changed
        """

        def sync(app):
            app._wecom_become_directory_source()
            return app._wecom_sync_directory()

        return self._wecom_sync_action(sync, self._wecom_directory_summary, _("WeCom directory synced"))

    @api.model
    def action_sync_company_directory(self):
        """Menu *Directory > Sync Directory*: sync the current company's directory from its directory source,
        or from its only enabled application (which becomes the source).

        :raise UserError: the company has no application to sync from, or several and none is the source
        """
        company = self.env.company
        source = self.search([("company_id", "=", company.id), ("directory_sync", "=", True)], limit=1)
        if not source:
            enabled = self.search([("company_id", "=", company.id), ("is_active", "=", True)])
            if len(enabled) != 1:
                raise UserError(
                    _(
                        "%(company)s has no application that syncs its directory: open the application whose "
                        "members Odoo should mirror and press Sync Directory there.",
                        company=company.name,
                    )
                    if enabled
                    else _("Create and enable a WeCom application of %(company)s first.", company=company.name)
                )
            source = enabled
        return source.action_sync_directory()

    def _wecom_become_directory_source(self):
        """Make this application its company's directory source, unless another one is.

        :raise UserError: another application of the company syncs its directory
        """
        self.ensure_one()
        if self.directory_sync:
            return
        source = self._wecom_company_holder("directory_sync")
        if source:
            raise UserError(
                _(
                    "%(app)s syncs the directory of %(company)s, and the contact change callbacks update its "
                    "mirror only: sync the directory from %(app)s, or untick Sync the Directory there first.",
                    app=source.app_name,
                    company=self.company_id.name,
                )
            )
        self.directory_sync = True

    def _wecom_directory_call(self, method, path, params=None, payload=None):
        return self._wecom_with_token(
            lambda client, token: client.call(path, token, payload=payload, method=method, params=params)
        )

    def _wecom_directory_progress(self, stage, done, total):
        if stage == "details" and done and (done % 1000 == 0 or done == total):
            _logger.info("WeCom application %s: directory details of %s/%s members read", self.id, done, total)
        elif stage != "details":
            _logger.info("WeCom application %s: directory %s read: %s", self.id, stage, done)

    def _wecom_sync_directory(self):
        """Read the whole directory this application sees, then apply it to the mirror in one savepoint.

        :return: ``{"departments": stats, "members": stats, "calls", "seconds", "changed"}`` with
            ``stats = {"created", "updated", "archived"}``
        :raise WeComError: a WeCom call failed for good (the mirror is unchanged)
        """
        self.ensure_one()
        start = time.monotonic()
        reader = DirectoryReader(self.sudo()._wecom_directory_call, progress=self._wecom_directory_progress)
        departments, members = reader.read_all()
        check_department_depth(departments)
        with self.env.cr.savepoint():
            department_stats, changed_departments = self._wecom_apply_departments(departments, full=True)
            member_stats, changed_members = self._wecom_apply_members(members, full=True)
            changed_departments._wecom_mirror_changed()
            changed_members._wecom_mirror_changed()
        stats = {
            "departments": department_stats,
            "members": member_stats,
            "calls": reader.calls,
            "seconds": round(time.monotonic() - start, 2),
            "total_departments": len(departments),
            "total_members": len(members),
        }
        stats["changed"] = bool(changed_departments or changed_members)
        _logger.info("WeCom application %s: directory synced: %s", self.id, self._wecom_directory_summary(stats))
        if stats["changed"]:  # an unchanged directory writes nothing, not even this
            # in the company's language (who reads it), not the nightly cron's
            app = self.sudo().with_context(lang=company_lang(self.company_id))
            summary = app._wecom_directory_summary(stats)
            app.write({"directory_sync_date": fields.Datetime.now(), "directory_sync_summary": summary})
            app.message_post(body=app.env._("Directory synced: %(summary)s", summary=summary))
        return stats

    @api.model
    def _wecom_directory_summary(self, stats):
        if not stats.get("changed"):
            return _(
                "%(departments)s departments and %(members)s members, nothing changed",
                departments=stats["total_departments"],
                members=stats["total_members"],
            )
        d, m = stats["departments"], stats["members"]
        return _(
            "departments %(dc)s created, %(du)s updated, %(da)s archived; members %(mc)s created, %(mu)s updated, "
            "%(ma)s archived (%(departments)s departments, %(members)s members)",
            dc=d["created"],
            du=d["updated"],
            da=d["archived"],
            mc=m["created"],
            mu=m["updated"],
            ma=m["archived"],
            departments=stats["total_departments"],
            members=stats["total_members"],
        )

    @api.model
    def _cron_sync_directory(self):
        """Nightly: sync the directory of every company (its application with *Sync the Directory*), each
        company in its own transaction; one failure is recorded on its application and stops no other.

        :return: the number of applications whose sync failed
        """
        auto_commit = compat.may_commit(self.env.cr)
        apps = self.search([("directory_sync", "=", True)])  # archived (disabled) applications are not found
        failures = 0
        for index, app in enumerate(apps, 1):
            try:
                app._wecom_sync_directory()
            except Exception as exc:  # noqa: BLE001 - one company's failure must not stop the others
                failures += 1
                app._wecom_record_error(exc)
                app.log_error(
                    _("Directory sync failed: %(error)s", error=app._wecom_error_message(exc)),
                    func="_cron_sync_directory",
                )
            # each company in its own transaction; the cron's progress counts companies (19.0 and 18.0 alike)
            compat.report_progress(self.env, index, len(apps) - index)
            if auto_commit:
                compat.commit_batch(self.env, 1)
        return failures

    # ------------------------------------------------------------------ applying to the mirror
    def _wecom_apply_departments(self, values_by_id, full):
        """Create, update (and with ``full``, archive) mirror departments from ``{wecom_id: values}``.

        ``values`` hold ``name``, ``parent_wecom_id`` and ``sequence``; with ``full=False`` (a callback) only the
        keys present are applied and nothing else is archived.

        :return: ``(stats, changed departments)``
        """
        self.ensure_one()
        Department = self.env["wecom.department"].sudo().with_context(active_test=False)
        company = self.company_id
        domain = [("company_id", "=", company.id)]
        if not full:
            wanted = set(values_by_id) | {v.get("parent_wecom_id") for v in values_by_id.values()}
            domain.append(("wecom_id", "in", [w for w in wanted if w]))
        existing = {
            d.wecom_id: d
            for d in Department.search_fetch(domain, ["wecom_id", "name", "parent_id", "sequence", "active"])
        }
        stats, changed, created = _empty_stats(), Department.browse(), set()
        pending = {wid: values for wid, values in values_by_id.items() if wid not in existing}
        while pending:  # parents first, so that a new child is created with its parent
            ready = [wid for wid, values in pending.items() if values.get("parent_wecom_id") not in pending]
            ready = ready or list(pending)  # a cycle in WeCom's answer: parents are set below
            records = Department.create(
                [
                    {
                        "wecom_id": wid,
                        "name": pending[wid].get("name") or str(wid),
                        "sequence": pending[wid].get("sequence") or 0,
                        "parent_id": existing[parent].id
                        if (parent := pending[wid].get("parent_wecom_id")) in existing
                        else False,
                        "company_id": company.id,
                        "application_id": self.id,
                    }
                    for wid in ready
                ]
            )
            for record in records:
                existing[record.wecom_id] = record
                created.add(record.wecom_id)
            for wid in ready:
                del pending[wid]
            changed |= records
            stats["created"] += len(records)
        for wid, values in values_by_id.items():
            record = existing[wid]
            desired = {"active": True, "application_id": self.id}
            if "name" in values:
                desired["name"] = values["name"]
            if "sequence" in values:
                desired["sequence"] = values["sequence"]
            if "parent_wecom_id" in values:
                parent = existing.get(values["parent_wecom_id"])
                desired["parent_id"] = parent.id if parent and parent != record else False
            diff = changed_values(record, desired)
            if diff:
                record.write(diff)
                changed |= record
                if wid not in created:
                    stats["updated"] += 1
        if full:
            gone = Department.browse([d.id for wid, d in existing.items() if wid not in values_by_id and d.active])
            if gone:
                gone.write({"active": False})
                changed |= gone
                stats["archived"] += len(gone)
        return stats, changed

    def _wecom_member_values(self, values, record, departments, users):
        """The mirror fields a member's WeCom values ask for (only those WeCom sent)."""
        desired = {"active": True, "application_id": self.id}
        for name in ("name", "position", "status", "mobile", "email", "avatar"):
            if name in values:
                desired[name] = values[name]
        if "department_ids" in values:
            desired["department_ids"] = {departments[w] for w in values["department_ids"] if w in departments}
            main = values.get("main_department")
            if main not in values["department_ids"]:  # WeCom's main department is one of the member's
                main = (values["department_ids"] or [0])[0]
            desired["main_department_id"] = departments.get(main, False)
        status = desired.get("status") or (record.status if record else "active")
        if status == "exited":
            desired["user_id"] = False  # an exited member unlinks
        else:
            desired["user_id"] = users.get((self.company_id.id, values["userid"].lower()), False)
        return desired

    def _wecom_apply_members(self, values_by_userid, full):
        """Create, update (and with ``full``, archive) mirror members from ``{userid: values}`` (see
        :func:`~odoo.addons.wecom_base.lib.normalize_member`); with ``full=False`` only the keys present are
        applied. Members that exited WeCom are unlinked from their Odoo users (archived with the company's
        *Archive Users Who Exit WeCom*).

        :return: ``(stats, changed members)``
        """
        self.ensure_one()
        Member = self.env["wecom.member"].sudo().with_context(active_test=False)
        company = self.company_id
        domain = [("company_id", "=", company.id)]
        if not full:
            domain.append(("userid", "in", list(values_by_userid)))
        fields_read = ["userid", "name", "position", "status", "mobile", "email", "avatar", "user_id", "active"]
        fields_read += ["department_ids", "main_department_id", "application_id"]
        existing = {m.userid: m for m in Member.search_fetch(domain, fields_read)}
        departments = {
            d.wecom_id: d.id
            for d in self.env["wecom.department"]
            .sudo()
            .search_fetch([("company_id", "=", company.id), ("active", "=", True)], ["wecom_id"])
        }
        users = Member._wecom_user_map(company)
        stats, changed = _empty_stats(), Member.browse()
        to_create, exited_userids = [], set()
        for userid, values in values_by_userid.items():
            record = existing.get(userid)
            desired = self._wecom_member_values(values, record, departments, users)
            if desired.get("status") == "exited" and (not record or record.status != "exited"):
                exited_userids.add(userid.lower())
            if "department_ids" in desired:
                desired["department_ids"] = sorted(desired["department_ids"])
            if record is None:
                desired.update(userid=userid, company_id=company.id, name=desired.get("name") or userid)
                desired["department_ids"] = [Command.set(desired.get("department_ids", []))]
                to_create.append(desired)
                continue
            diff = changed_values(record, desired)
            if diff:
                record.write(diff)
                changed |= record
                stats["updated"] += 1
        for start in range(0, len(to_create), const.DIRECTORY_APPLY_BATCH):
            records = Member.create(to_create[start : start + const.DIRECTORY_APPLY_BATCH])
            changed |= records
            stats["created"] += len(records)
        if full:
            gone = Member.browse(
                [m.id for userid, m in existing.items() if userid not in values_by_userid and m.active]
            )
            if gone:
                gone.write({"active": False})
                changed |= gone
                stats["archived"] += len(gone)
        if exited_userids:
            self._wecom_members_exited(exited_userids, users)
        return stats, changed

    def _wecom_members_exited(self, userids, users):
        """Unlink the Odoo users of members who exited WeCom; archive them too when the company asks for it."""
        user_ids = [users[(self.company_id.id, userid)] for userid in userids if (self.company_id.id, userid) in users]
        if not user_ids:
            return
        exited = self.env["res.users"].sudo().browse(user_ids)
        exited.write({"wecom_userid": False})
        if self.company_id.wecom_archive_exited_users:
            exited.filtered("active").write({"active": False})


class WeComCallbackEvent(models.Model):
    """``change_contact`` callbacks update the directory mirror (after the shipped handlers, which keep the Odoo
    users' WeCom User IDs in step), with the fields the event carries; WeCom is asked only for what is missing."""

    _inherit = EVENT_MODEL

    def _wecom_directory_application(self):
        self.ensure_one()
        return (
            self.env["wecom.application"]
            .sudo()
            .search([("company_id", "=", self.company_id.id), ("directory_sync", "=", True)], limit=1)
        )

    def _wecom_no_directory_source(self):
        return _(
            "Directory: not mirrored, no application of %(company)s syncs the directory (tick Sync the Directory on "
            "one, or press its Sync Directory).",
            company=self.company_id.name,
        )

    @staticmethod
    def _wecom_event_text(data, name):
        value = data.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def _wecom_mirror_user(self, data, deleted=False):
        app = self._wecom_directory_application()
        userid = self._wecom_event_text(data, "UserID")
        if not app:
            return self._wecom_no_directory_source()
        if not userid:
            return ""
        Member = self.env["wecom.member"].sudo().with_context(active_test=False)
        member = Member.search([("company_id", "=", app.company_id.id), ("userid", "=", userid)], limit=1)
        if deleted:
            if member.active or member.user_id:
                member.write({"active": False, "user_id": False})
                member._wecom_mirror_changed()
            return _("Directory: member %(userid)s archived.", userid=userid)
        new_userid = self._wecom_event_text(data, "NewUserID")
        if new_userid and member and new_userid != userid:
            member.write({"userid": new_userid})
        userid = new_userid or userid
        raw = {key: data[tag] for tag, key in USER_EVENT_FIELDS.items() if isinstance(data.get(tag), str)}
        if not member and not {"name", "department"} <= set(raw):
            # a member the mirror does not know yet, and the event does not say enough: ask WeCom
            raw = app._wecom_directory_call("GET", const.PATH_USER_GET, params={"userid": userid})
        values = normalize_member({**raw, "userid": userid})
        stats, changed = app._wecom_apply_members({userid: values}, full=False)
        changed._wecom_mirror_changed()
        if stats["created"]:
            return _("Directory: member %(userid)s added.", userid=userid)
        return _("Directory: member %(userid)s updated.", userid=userid)

    def _wecom_mirror_party(self, data, deleted=False):
        app = self._wecom_directory_application()
        raw_id = self._wecom_event_text(data, "Id")
        if not app:
            return self._wecom_no_directory_source()
        if not raw_id or not raw_id.isdigit():
            return ""
        wecom_id = int(raw_id)
        Department = self.env["wecom.department"].sudo().with_context(active_test=False)
        department = Department.search([("company_id", "=", app.company_id.id), ("wecom_id", "=", wecom_id)])
        if deleted:
            if department.active:
                department.write({"active": False})
                department._wecom_mirror_changed()
            return _("Directory: department %(id)s archived.", id=wecom_id)
        raw = {key: data[tag] for tag, key in PARTY_EVENT_FIELDS.items() if isinstance(data.get(tag), str)}
        if not department and "name" not in raw:
            answer = app._wecom_directory_call("GET", const.PATH_DEPARTMENT_LIST, params={"id": wecom_id})
            raw = next((d for d in answer.get("department") or [] if str(d.get("id")) == raw_id), raw)
        full = normalize_department({**raw, "id": wecom_id})
        values = {"name": full["name"]} if "name" in raw else {}
        if "parentid" in raw:
            values["parent_wecom_id"] = full["parent_wecom_id"]
            self._wecom_check_party_depth(Department, department, full["parent_wecom_id"])
        if "order" in raw:
            values["sequence"] = full["sequence"]
        stats, changed = app._wecom_apply_departments({wecom_id: values}, full=False)
        changed._wecom_mirror_changed()
        if stats["created"]:
            return _("Directory: department %(id)s added.", id=wecom_id)
        return _("Directory: department %(id)s updated.", id=wecom_id)

    def _wecom_check_party_depth(self, Department, department, parent_wecom_id):
        """A department event may not make the mirror deeper than WeCom allows (15 levels).

        :raise WeComDataError: the department (and its sub-departments) under that parent would be too deep
        """

        def levels(record):
            return len(record.parent_path.strip("/").split("/")) if record.parent_path else 0

        parent = Department.search(
            [("company_id", "=", department.company_id.id or self.company_id.id), ("wecom_id", "=", parent_wecom_id)],
            limit=1,
        )
        height = 1
        if department.parent_path:
            subtree = Department.search([("parent_path", "=like", f"{department.parent_path}%")])
            height = max(levels(record) for record in subtree) - levels(department) + 1
        if levels(parent) + height > MAX_DEPARTMENT_DEPTH:
            raise WeComDataError(
                f"department {department.wecom_id or '?'} under department {parent_wecom_id} would be "
                f"{levels(parent) + height} levels deep; WeCom allows at most {MAX_DEPARTMENT_DEPTH}"
            )

    @staticmethod
    def _wecom_join(result, note):
        return f"{result} {note}" if note else result

    def _wecom_change_contact__create_user(self, data):
        return self._wecom_join(super()._wecom_change_contact__create_user(data), self._wecom_mirror_user(data))

    def _wecom_change_contact__update_user(self, data):
        return self._wecom_join(super()._wecom_change_contact__update_user(data), self._wecom_mirror_user(data))

    def _wecom_change_contact__delete_user(self, data):
        result = super()._wecom_change_contact__delete_user(data)
        return self._wecom_join(result, self._wecom_mirror_user(data, deleted=True))

    def _wecom_change_contact__create_party(self, data):
        return self._wecom_mirror_party(data) or _("Ignored: contact change %(change)s.", change="create_party")

    def _wecom_change_contact__update_party(self, data):
        return self._wecom_mirror_party(data) or _("Ignored: contact change %(change)s.", change="update_party")

    def _wecom_change_contact__delete_party(self, data):
        result = self._wecom_mirror_party(data, deleted=True)
        return result or _("Ignored: contact change %(change)s.", change="delete_party")
