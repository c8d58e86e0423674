"""What wecom_mail sent to whom: one row per notification or activity card a member got.

The rows say which document a member's reply goes to (the most recent one of the last 24 hours), which
activity a card's button acts on (its ``task_id``), and how many notifications wait unsent for a member
(more than :data:`~odoo.addons.wecom_mail.const.DIGEST_AFTER` are folded into one digest card). The cards
themselves are ``wecom.message`` rows of wecom_base's outbox: nothing here calls WeCom.
"""

import logging
import secrets
from collections import defaultdict
from urllib.parse import urlencode

import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext

from odoo.addons.wecom_base import compat

from .. import const

_logger = logging.getLogger(__name__)


def cut(text, max_chars, max_bytes=const.CARD_TEXT_BYTES, one_line=False):
    """``text`` within ``max_chars`` characters and ``max_bytes`` UTF-8 bytes, cut between characters (never
    inside one), with an ellipsis when something was cut.

    :param bool one_line: collapse every run of white space (newlines included) into one space
    """
    text = text or ""
    if one_line:
        text = " ".join(text.split())
    else:
        text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    while len(text.encode("utf-8")) > max_bytes:
        text = text[: len(text) - 2].rstrip() + "…"
    return text


def plain_text(html):
    """The text of an HTML body, as a person would read it (no markup, no Markdown-like link marks)."""
    if not html:
        return ""
    return html2plaintext(str(html)).replace("**", "").strip()


class WeComMailNotification(models.Model):
    _name = "wecom.mail.notification"
    _description = "WeCom Notification"
    _order = "id desc"
    _rec_name = "title"
    _check_company_auto = True

    user_id = fields.Many2one("res.users", string="Recipient", required=True, index=True, ondelete="cascade")
    member = fields.Char(string="WeCom User ID", required=True, index=True)
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    application_id = fields.Many2one(
        "wecom.application", string="Application", required=True, ondelete="cascade", check_company=True
    )
    kind = fields.Selection([("message", "Message"), ("activity", "Activity")], required=True, default="message")
    model = fields.Char(string="Document Model", index=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="model")
    title = fields.Char(string="Document")
    mail_message_id = fields.Many2one(
        "mail.message", string="Odoo Message", index="btree_not_null", ondelete="set null"
    )
    activity_id = fields.Many2one("mail.activity", string="Activity", index="btree_not_null", ondelete="set null")
    wecom_message_id = fields.Many2one(
        "wecom.message", string="WeCom Message", index="btree_not_null", ondelete="set null"
    )
    wecom_state = fields.Selection(related="wecom_message_id.state", string="WeCom State")
    digest = fields.Boolean(
        readonly=True, help="Sent within a digest card, with the other notifications that waited for this member."
    )
    task_id = fields.Char(string="Card Task ID", index="btree_not_null", copy=False)
    activity_state = fields.Selection(
        [("open", "To Do"), ("done", "Done"), ("gone", "Deleted")],
        help="What became of the activity of an activity card.",
    )

    # ------------------------------------------------------------------ links
    @api.model
    def _wecom_link(self, company, path):
        """The URL a card opens: ``path`` on ``web.base.url``; through WeCom's silent login when wecom_auth is
        installed and set up for ``company``, so that one tap lands on the document logged in."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        auth_application = getattr(company.sudo(), "_wecom_auth_application", None)
        if auth_application and auth_application():
            return f"{base}/wecom/auth/login?{urlencode({'redirect': path, 'company_id': company.id})}"
        return f"{base}{path}"

    @api.model
    def _wecom_document_path(self, model, res_id):
        if model == "discuss.channel":
            return f"/odoo/discuss?active_id=discuss.channel_{res_id}"
        if model and res_id:
            return f"/odoo/{model}/{res_id}"
        return "/odoo/discuss"

    # ------------------------------------------------------------------ queueing cards
    @api.model
    def _wecom_outbox(self, company):
        """``wecom.message`` as the superuser: the cards are the system's messages, not the poster's (who may
        not be a WeCom user), and no chatter entry or follower is added to them."""
        return (
            self.env["wecom.message"]
            .with_user(SUPERUSER_ID)
            .with_context(
                allowed_company_ids=company.ids,
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                tracking_disable=True,
                mail_notrack=True,
            )
        )

    @api.model
    def _wecom_deliver(self, entries):
        """Queue one card per entry in the outbox (or fold it into the member's digest card) and remember it.

        :param list entries: dicts with ``user`` (sudo ``res.users``, reachable), ``card`` (the ``wecom.message``
            values of its card: msgtype, title, description, url, content, card) and the values of its
            ``wecom.mail.notification`` row (``kind``, ``model``, ``res_id``, ``title``, ``mail_message_id``,
            ``activity_id``, ``task_id``, ...); a ``digest_card`` callable ``(user, rows) -> card values`` for
            the entries of kind ``message``
        :return: the new ``wecom.mail.notification`` rows (sudo)
        """
        if not entries:
            return self.browse()
        notifications = self.sudo()
        users = self.env["res.users"].union(*(entry["user"] for entry in entries))
        waiting = dict(
            notifications._read_group(
                [
                    ("user_id", "in", users.ids),
                    ("kind", "=", "message"),
                    ("digest", "=", False),
                    ("wecom_message_id.state", "=", "outgoing"),
                    ("wecom_message_id.claimed_at", "=", False),
                ],
                ["user_id"],
                ["__count"],
            )
        )
        waiting = {user.id: count for user, count in waiting.items()}
        singles, folded = [], defaultdict(list)
        for entry in entries:
            user = entry["user"]
            if entry["kind"] == "message" and waiting.get(user.id, 0) >= const.DIGEST_AFTER:
                folded[user].append(entry)
            else:
                singles.append(entry)
                if entry["kind"] == "message":
                    waiting[user.id] = waiting.get(user.id, 0) + 1
        rows = notifications.browse()
        by_company = defaultdict(list)
        for entry in singles:
            by_company[entry["user"].company_id].append(entry)
        for company, company_entries in by_company.items():
            app = company.wecom_notify_application_id
            messages = self._wecom_outbox(company).create(
                [
                    {
                        **entry["card"],
                        "channel": "application",
                        "application_id": app.id,
                        "company_id": company.id,
                        "user_ids": [(6, 0, entry["user"].ids)],
                    }
                    for entry in company_entries
                ]
            )
            rows |= notifications.create(
                [
                    {**self._wecom_row_vals(entry, app), "wecom_message_id": message.id}
                    for entry, message in zip(company_entries, messages, strict=True)
                ]
            )
            self._wecom_send(messages)
        for user, user_entries in folded.items():
            rows |= self._wecom_fold(user, user_entries)
        return rows

    @api.model
    def _wecom_row_vals(self, entry, app):
        keys = ("kind", "model", "res_id", "title", "mail_message_id", "activity_id", "task_id", "activity_state")
        return {
            **{key: entry[key] for key in keys if key in entry},
            "user_id": entry["user"].id,
            "member": entry["user"].wecom_userid,
            "company_id": app.company_id.id,
            "application_id": app.id,
        }

    @api.model
    def _wecom_send(self, messages):
        """Queue ``messages`` (validated as any outbox message); a refusal never stops the poster."""
        if not messages:
            return
        try:
            with self.env.cr.savepoint():
                messages.action_send()
        except UserError as error:  # ValidationError included
            _logger.warning("WeCom notifications not queued (%s message(s)): %s", len(messages), error)

    @api.model
    def _wecom_fold(self, user, entries):
        """Fold ``entries`` (notifications of ``user`` that would wait behind others) into the member's digest
        card: the one still waiting unsent when it can be taken, else a new one."""
        app = user.company_id.wecom_notify_application_id
        digest = self._wecom_open_digest(user, app)
        outbox = self._wecom_outbox(app.company_id)
        created = not digest
        if created:
            digest = outbox.create(
                {
                    **entries[0]["digest_card"](user, self.browse()),
                    "channel": "application",
                    "application_id": app.id,
                    "company_id": app.company_id.id,
                    "user_ids": [(6, 0, user.ids)],
                }
            )
        rows = self.sudo().create(
            [{**self._wecom_row_vals(entry, app), "wecom_message_id": digest.id, "digest": True} for entry in entries]
        )
        folded_rows = self.sudo().search([("wecom_message_id", "=", digest.id)], order="id")
        digest.with_user(SUPERUSER_ID).write(entries[0]["digest_card"](user, folded_rows))
        if created:
            self._wecom_send(digest)
        return rows

    @api.model
    def _wecom_open_digest(self, user, app):
        """The member's digest card still waiting unsent, locked so that no sender takes it meanwhile; an
        empty recordset when there is none or a sender has it."""
        row = self.sudo().search(
            [
                ("user_id", "=", user.id),
                ("application_id", "=", app.id),
                ("digest", "=", True),
                ("wecom_message_id.state", "=", "outgoing"),
                ("wecom_message_id.claimed_at", "=", False),
            ],
            order="id desc",
            limit=1,
        )
        digest = row.wecom_message_id
        if not digest:
            return digest
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                # a sender claims with FOR UPDATE SKIP LOCKED: while this lock holds, it skips the card
                locked = compat.try_lock_for_update(digest)
        except psycopg2.errors.SerializationFailure:
            locked = digest.browse()  # changed since this transaction began: being sent
        if not locked:
            return digest.browse()  # being sent right now: start a new digest
        locked.invalidate_recordset(["state", "claimed_at"])
        return locked if locked.state == "outgoing" and not locked.claimed_at else digest.browse()

    @api.model
    def _wecom_digest_card(self, user, rows):
        """The ``wecom.message`` values of the digest card of ``user`` folding ``rows`` (its notifications),
        in the user's language: how many messages on how many documents, the most recent first."""
        env = self.env(context=dict(self.env.context, lang=user.lang))
        documents = list(dict.fromkeys((row.model, row.res_id) for row in rows))
        titles = list(dict.fromkeys(row.title or "" for row in rows.sorted("id", reverse=True)))
        count = max(len(rows), 1)
        title = env._(
            "%(count)s new messages on %(documents)s documents", count=count, documents=max(len(documents), 1)
        )
        if len(documents) == 1:
            title = env._("%(count)s new messages", count=count)
        return {
            "msgtype": "template_card",
            "title": cut(title, const.CARD_TITLE_CHARS, const.CARD_TITLE_BYTES, one_line=True),
            "description": cut(env._("Odoo notifications"), const.CARD_DESC_CHARS, one_line=True),
            "content": cut("\n".join(filter(None, titles)), const.CARD_TEXT_CHARS),
            "url": self._wecom_link(
                user.company_id, self._wecom_document_path(*documents[0]) if len(documents) == 1 else "/odoo/discuss"
            ),
            "card": {},
        }

    # ------------------------------------------------------------------ activity cards
    @api.model
    def _wecom_new_task_id(self, activity):
        return f"{const.TASK_ID_PREFIX}{activity.id}_{secrets.token_hex(8)}"

    def _wecom_activity_outcome(self, user, key):
        """Act on a click on this activity card's button ``key`` by ``user`` (the clicking member's Odoo user,
        or empty) and say what happened.

        :return: ``(outcome, text)``: outcome is ``done``, ``already_done``, ``gone``, ``not_yours``,
            ``refused``, ``no_user`` or ``open``; text is what the card's button shows now
        """
        self.ensure_one()
        env = self.env(context=dict(self.env.context, lang=(user or self.user_id).lang))
        if key == const.BUTTON_OPEN:
            return "open", None
        if not user:
            return "no_user", env._("Not linked to Odoo")
        activity = self.activity_id.sudo().with_context(active_test=False)
        if self.activity_state == "done" or (activity and not activity.active):
            return "already_done", env._("Already done")
        if not activity.exists():
            return "gone", env._("No longer exists")
        if activity.user_id != user:
            return "not_yours", env._("Not yours")
        try:
            with self.env.cr.savepoint():
                activity.with_user(user).with_context(lang=user.lang).action_feedback()
        except UserError as error:  # AccessError included: nothing they could not do in Odoo
            _logger.info("WeCom: %s may not mark activity %s done: %s", user.login, activity.id, error)
            return "refused", env._("Not allowed")
        self.sudo().activity_state = "done"
        return "done", env._("Done")
