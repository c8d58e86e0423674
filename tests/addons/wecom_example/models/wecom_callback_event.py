"""The example answers a WeCom callback: a click on the application's menu item "My tickets".

wecom_base stores every callback WeCom posts and a cron dispatches it by name to
``_wecom_handle_event__<event>``: adding the method is all it takes.
"""

from odoo import _, models

MY_TICKETS_KEY = "wecom_example_my_tickets"


class WeComCallbackEvent(models.Model):
    _inherit = "wecom.callback.event"

    def _wecom_handle_event__click(self, data):
        """A menu click; the key ``wecom_example_my_tickets`` sends the member their open tickets.

        :param dict data: the decrypted callback XML (``EventKey``: the key of the menu item)
        :return: what was done, stored on the event
        """
        key = data.get("EventKey")
        if key != MY_TICKETS_KEY:
            other = getattr(super(), "_wecom_handle_event__click", None)  # another addon's menu items
            return other(data) if other else _("Ignored: menu key %(key)s.", key=key or "-")
        users = self._wecom_users_with_userid(self.from_user)
        if len(users) != 1:
            return _("Ignored: no single Odoo user has the WeCom user id %(userid)s.", userid=self.from_user or "-")
        tickets = (
            self.env["wecom.example.ticket"]
            .sudo()
            .search([("user_id", "=", users.id), ("state", "=", "open"), ("company_id", "=", self.company_id.id)])
        )
        lines = [_("Your open tickets: %(count)s", count=len(tickets))] + [f"- {ticket.name}" for ticket in tickets]
        message = (
            self.env["wecom.message"]
            .sudo()
            .wecom_send(self.application_id, userids=[self.from_user], content="\n".join(lines)[:2000])
        )
        return _(
            "Sent %(count)s open ticket(s) to %(user)s (message %(id)s).",
            count=len(tickets),
            user=users.name,
            id=message.id,
        )
