"""``change_external_contact`` and ``change_external_tag`` callbacks update the customer mirror and the partners
when processed; the customer is read again with ``externalcontact/get`` when the event carries too little."""

import re

from odoo import _, models

_CHANGE_RE = re.compile(r"^[a-z0-9_]{1,64}$")


class WeComCallbackEvent(models.Model):
    _inherit = "wecom.callback.event"

    def _wecom_customer_app(self):
        """The application that syncs this event's company's customers: the event's own when it does."""
        self.ensure_one()
        app = self.application_id.sudo()
        if app and app.customer_sync:
            return app
        return self.env["wecom.application"]._wecom_customer_application(self.company_id)

    @staticmethod
    def _wecom_text(data, name):
        value = data.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def _wecom_handle_event__change_external_contact(self, data):
        change = self._wecom_text(data, "ChangeType") or ""
        handler = getattr(self, f"_wecom_external_contact__{change}", None) if _CHANGE_RE.match(change) else None
        if handler is None:
            return _("Ignored: customer change %(change)s.", change=change or "-")
        app = self._wecom_customer_app()
        if not app:
            return _("Ignored: no WeCom application syncs the customers of %(company)s.", company=self.company_id.name)
        external_userid = self._wecom_text(data, "ExternalUserID")
        if not external_userid:
            return _("Ignored: customer change %(change)s without ExternalUserID.", change=change)
        return handler(app, external_userid, self._wecom_text(data, "UserID"), data)

    def _wecom_customer_refreshed(self, app, external_userid, userid, added=False):
        stats = app._wecom_refresh_customers([external_userid])
        result = _(
            "Customer %(customer)s read from WeCom: %(summary)s",
            customer=external_userid,
            summary=app._wecom_customer_summary({**stats, "total": 1}),
        )
        if added and userid:
            follows = (
                self.env["wecom.external.follow"]
                .sudo()
                .search(
                    [
                        ("contact_id.company_id", "=", app.company_id.id),
                        ("contact_id.external_userid", "=", external_userid),
                        ("userid", "=", userid),
                    ]
                )
            )
            note = follows._wecom_followed_new()
            if note:
                result = f"{result}; {note}"
        return result

    def _wecom_external_contact__add_external_contact(self, app, external_userid, userid, data):
        return self._wecom_customer_refreshed(app, external_userid, userid, added=True)

    def _wecom_external_contact__add_half_external_contact(self, app, external_userid, userid, data):
        return self._wecom_customer_refreshed(app, external_userid, userid, added=True)

    def _wecom_external_contact__edit_external_contact(self, app, external_userid, userid, data):
        return self._wecom_customer_refreshed(app, external_userid, userid)

    def _wecom_external_contact__transfer_fail(self, app, external_userid, userid, data):
        result = self._wecom_customer_refreshed(app, external_userid, userid)
        reason = self._wecom_text(data, "FailReason") or "-"
        return _(
            "Transfer of customer %(customer)s to %(userid)s failed (%(reason)s). %(result)s",
            customer=external_userid,
            userid=userid or "-",
            reason=reason,
            result=result,
        )

    def _wecom_external_contact__del_external_contact(self, app, external_userid, userid, data):
        if app._wecom_drop_follow(external_userid, userid):
            return _(
                "%(userid)s deleted customer %(customer)s: follower removed.",
                userid=userid or "-",
                customer=external_userid,
            )
        return _(
            "%(userid)s deleted customer %(customer)s: not mirrored, nothing to do.",
            userid=userid or "-",
            customer=external_userid,
        )

    def _wecom_external_contact__del_follow_user(self, app, external_userid, userid, data):
        if app._wecom_drop_follow(external_userid, userid):
            return _(
                "Customer %(customer)s deleted %(userid)s: follower removed.",
                userid=userid or "-",
                customer=external_userid,
            )
        return _(
            "Customer %(customer)s deleted %(userid)s: not mirrored, nothing to do.",
            userid=userid or "-",
            customer=external_userid,
        )

    def _wecom_handle_event__change_external_tag(self, data):
        app = self._wecom_customer_app()
        if not app:
            return _("Ignored: no WeCom application syncs the customers of %(company)s.", company=self.company_id.name)
        with self.env.cr.savepoint():
            changes = app._wecom_apply_tags(app._wecom_read_tag_groups(), full=True)
        return _("Customer tags read from WeCom: %(count)s changed.", count=changes)
