"""The WeCom outbox: ``wecom.message``, one model in one file, in this order: its fields and rules, its
buttons, the payloads, ``wecom_send`` / ``wecom_send_robot`` (what addons and RPC clients call), one try and
its outcome, the queue and its drain, and storing outcomes.

Beside it: the drain's concurrent sends and an application's circuit during a batch in ``../outbox.py`` (not
models), the HTTP threads in ``../lib/sending.py``, the JSON shapes in ``../lib/payloads.py``; the circuit's row
per application in ``wecom_application_circuit.py`` and the pacing log per recipient in
``wecom_message_member_send.py``.
"""

import base64
import inspect
import json
import logging
import re
import time
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .. import compat, const
from ..lib import WeComApiError, WeComError, WeComNetworkError, payloads
from ..lib.errcodes import failure_type_for, is_retryable
from ..lib.flow_control import retry_delay
from ..lib.payloads import (
    DUPLICATE_CHECK_DEFAULT,
    DUPLICATE_CHECK_MAX,
    MAX_PARTIES,
    MAX_TAGS,
    MAX_USERS,
    ROBOT_MSGTYPES,
    split_ids,
    utf8_len,
)
from ..lib.sending import RobotThrottled, is_rate_error, is_transport_error
from ..outbox import Flight
from ..tools import (
    check_wecom_group,
    company_lang,
    number_param,
    retention_cutoff,
    short_transaction,
    unlink_in_batches,
)

_logger = logging.getLogger(__name__)

ARTICLE_KEYS = ("title", "description", "url", "picurl")

# markdown marks that make no sense in a title: headings, emphasis, quotes, list bullets, code, links' brackets
MARKDOWN_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+)|[*`~]+|(?<!\w)_+|_+(?!\w)|\[|\]\([^)]*\)")

# WeCom accepted the message (partial: it refused some recipients): it cannot be sent again, only recalled
SENT_STATES = ("sent", "partial")

# Written by the outbox alone (its buttons, its cron, Send Now): never by write()/create() of a user or an RPC
# client, whatever the view says. Their values come from WeCom's answers and the outbox's own bookkeeping.
OUTCOME_FIELDS = frozenset(
    {
        "state",
        "failure_type",
        "failure_reason",
        "queued_date",
        "try_count",
        "next_try_date",
        "claimed_at",
        "resend_duplicate_check",
        "wait_outage",
        "msgid",
        "sent_date",
        "response",
        "response_code",
        "invalid_users",
        "invalid_parties",
        "invalid_tags",
        "unlicensed_users",
        "recalled",
        "recall_date",
        "media_id",
        "media_uploaded_at",
    }
)
# Fixed once the message exists: the way it leaves and whose it is (a new message changes them).
FIXED_FIELDS = frozenset({"channel", "application_id", "robot_id", "company_id"})


class WeComSenderRefused(WeComError):
    """The author of a message may not send it (any more): a configuration failure, never retried."""

    kind = "config"


# Set while the outbox itself writes (a context variable, not a context key: an RPC client cannot set it).
_OUTBOX_WRITING = ContextVar("wecom_outbox_writing", default=False)


# The bus notification that tells the browser tabs of a message's readers that the outbox changed it (its
# payload: ``{"ids": [message id, ...]}``); static/src/views/wecom_message/ reloads the open form or list.
BUS_CHANGED = "wecom.message/changed"
# precommit data: ids of messages changed in this transaction outside a drain, notified when it commits
_PRECOMMIT_CHANGED = "wecom.message.changed"
# Set while a drain runs: the ids of the messages it changed, notified when it commits (not per message)
_DRAIN_CHANGED = ContextVar("wecom_outbox_changed", default=None)


@contextmanager
def outbox_writes():
    """Let the outbox's own code write the outcome fields of messages within this block."""
    token = _OUTBOX_WRITING.set(True)
    try:
        yield
    finally:
        _OUTBOX_WRITING.reset(token)


class WeComMessage(models.Model):
    """The WeCom outbox: one row per message, sent by a cron with retries, or at once by a button."""

    _name = "wecom.message"
    _inherit = ["wecom.base", "mail.thread"]
    _wecom_company_field = "company_id"
    _wecom_application_field = "application_id"
    _description = "WeCom Message"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    channel = fields.Selection(
        [("application", "Application"), ("robot", "Group Robot")],
        required=True,
        default="application",
        help="How the message reaches WeCom. Other addons add channels with selection_add.",
    )
    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        index=True,
        check_company=True,
        ondelete="restrict",
        default=lambda self: self._wecom_default_sending_application(),
    )
    robot_id = fields.Many2one("wecom.robot", string="Robot", index=True, check_company=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    msgtype = fields.Selection(
        [
            ("text", "Text"),
            ("markdown", "Markdown"),
            ("textcard", "Text Card"),
            ("news", "News"),
            ("image", "Image"),
            ("file", "File"),
            ("template_card", "Template Card"),
        ],
        string="Type",
        required=True,
        default="text",
    )

    # Recipients
    user_ids = fields.Many2many("res.users", string="Users", help="Odoo users; each needs a WeCom user id.")
    to_userids = fields.Char(string="WeCom User IDs", help="WeCom user ids separated by | or commas.")
    to_partyids = fields.Char(string="Department IDs", help="WeCom department ids separated by | or commas.")
    to_tagids = fields.Char(string="Tag IDs", help="WeCom tag ids separated by | or commas.")
    to_all = fields.Boolean(string="Everyone (@all)", help="Send to every member the application can see.")
    # Robot text mentions
    mentioned_userids = fields.Char(string="Mention User IDs", help="Robot text: WeCom user ids to @mention.")
    mentioned_mobiles = fields.Char(string="Mention Mobiles", help="Robot text: mobile numbers to @mention.")
    mention_all = fields.Boolean(string="Mention Everyone", help="Robot text: @all in the group.")

    # Content
    content = fields.Text(
        help=f"Text or Markdown content (at most {payloads.CONTENT_MAX_BYTES} bytes; robot markdown: "
        f"{payloads.ROBOT_MARKDOWN_MAX_BYTES})."
    )
    title = fields.Char(
        help=f"Title of a text card or template card (text card: at most {payloads.CARD_TITLE_MAX_BYTES} bytes)."
    )
    description = fields.Text(
        help="Description of a text card or template card (text card: at most "
        f"{payloads.CARD_DESCRIPTION_MAX_BYTES} bytes)."
    )
    url = fields.Char(string="URL")
    btntxt = fields.Char(
        string="Button Text", help=f"Text card button text (at most {payloads.BUTTON_TEXT_MAX_CHARS} characters)."
    )
    article_ids = fields.One2many("wecom.message.article", "message_id", string="Articles", copy=True)
    attachment_id = fields.Many2one("ir.attachment", string="Attachment", help="Image or file to send.")
    card = fields.Json(help="Extra template card fields (merged into the generated text_notice card).")
    media_id = fields.Char(copy=False, readonly=True)
    media_uploaded_at = fields.Datetime(copy=False, readonly=True)

    # Options
    safe = fields.Selection(
        [("0", "Shareable"), ("1", "Confidential"), ("2", "Within company only")], default="0", required=True
    )
    enable_id_trans = fields.Boolean(string="Translate IDs")
    enable_duplicate_check = fields.Boolean(string="Duplicate Check")
    duplicate_check_interval = fields.Integer(
        default=payloads.DUPLICATE_CHECK_DEFAULT, help=f"Seconds (at most {payloads.DUPLICATE_CHECK_MAX})."
    )

    # Delivery
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("outgoing", "Queued"),
            ("sent", "Sent"),
            ("partial", "Partially Sent"),
            ("exception", "Failed"),
            ("cancel", "Cancelled"),
        ],
        # not tracked: a chatter entry per state change would cost more than the send itself
        default="draft",
        required=True,
        index=True,
        copy=False,
    )
    failure_type = fields.Selection(
        [
            ("config", "Configuration"),
            ("recipients", "Invalid recipients"),
            ("content", "Invalid content"),
            ("retry_exhausted", "Retries exhausted"),
            ("permanent", "Refused by WeCom"),
            ("unknown", "Unexpected error"),
        ],
        copy=False,
    )
    failure_reason = fields.Text(copy=False, readonly=True)
    queued_date = fields.Datetime(
        copy=False, readonly=True, help="When the message was queued: it gives up on an outage only this long after."
    )
    try_count = fields.Integer(copy=False, readonly=True)
    next_try_date = fields.Datetime(copy=False, readonly=True, index=True)
    claimed_at = fields.Datetime(copy=False, readonly=True, help="When a sender took the message (in flight).")
    resend_duplicate_check = fields.Boolean(
        copy=False,
        readonly=True,
        help="The previous attempt may have reached WeCom: resend with WeCom's duplicate check on.",
    )
    wait_outage = fields.Boolean(
        copy=False,
        readonly=True,
        help="Not tried: it waits for WeCom to be reachable again, and is due as soon as it is.",
    )
    msgid = fields.Char(string="WeCom Message ID", copy=False, readonly=True, index=True)
    sent_date = fields.Datetime(copy=False, readonly=True)
    response = fields.Text(copy=False, readonly=True)
    response_code = fields.Char(copy=False, readonly=True)
    invalid_users = fields.Char(copy=False, readonly=True)
    invalid_parties = fields.Char(copy=False, readonly=True)
    invalid_tags = fields.Char(copy=False, readonly=True)
    unlicensed_users = fields.Char(copy=False, readonly=True)
    recalled = fields.Boolean(copy=False, readonly=True)
    recall_date = fields.Datetime(copy=False, readonly=True)

    @api.depends("msgtype", "content", "title", "article_ids.title", "attachment_id.name")
    def _compute_name(self):
        for message in self:
            text = message.title or message.content or (message.article_ids[:1].title) or message.attachment_id.name
            text = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
            if message.msgtype == "markdown":
                text = MARKDOWN_MARKS.sub("", text).strip()  # "## **Title**" reads "Title"
            message.name = (text[:60] + "…") if len(text) > 60 else (text or _("(no content)"))

    @api.model
    def _wecom_default_sending_application(self):
        """The company's application when it has exactly one enabled: a new message needs no choice then."""
        apps = self.env["wecom.application"].search(
            [("company_id", "=", self.env.company.id), ("is_active", "=", True)], limit=2
        )
        return apps if len(apps) == 1 else False

    # ------------------------------------------------------------------ access
    def _wecom_outbox_may_write(self):
        """Outcome fields are written by the outbox (inside :func:`outbox_writes`) or by code running as
        superuser (the cron, ``sudo()``), never through a user's or an RPC client's ``write()``."""
        return self.env.su or _OUTBOX_WRITING.get()

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("channel") == "robot":
                vals.setdefault("application_id", False)  # the default application is for application messages
        if not self._wecom_outbox_may_write():
            for vals in vals_list:
                forged = sorted(field for field in OUTCOME_FIELDS & vals.keys() if vals[field])
                if forged and not (forged == ["state"] and vals["state"] == "draft"):
                    raise AccessError(
                        _(
                            "%(fields)s: written by the outbox only. Create a draft and send it with Send "
                            "(or wecom_send).",
                            fields=", ".join(forged),
                        )
                    )
        if not self.env.su:
            attachments = self.env["ir.attachment"].browse(
                [vals["attachment_id"] for vals in vals_list if vals.get("attachment_id")]
            )
            self._wecom_check_attachment_access(attachments, self.env.user)
        return super().create(vals_list)

    def write(self, vals):
        if not self._wecom_outbox_may_write():
            forged = sorted(OUTCOME_FIELDS & vals.keys())
            if forged:
                raise AccessError(
                    _(
                        "%(fields)s: written by the outbox only. Use the buttons (Send, Cancel, Retry, Recall) "
                        "or wecom_send.",
                        fields=", ".join(forged),
                    )
                )
            for field in FIXED_FIELDS & vals.keys():
                if any(message._wecom_value_of(field) != (vals[field] or False) for message in self):
                    raise UserError(
                        _(
                            "%(field)s cannot change once a message exists: create a new message instead.",
                            field=self._fields[field]._description_string(self.env),
                        )
                    )
        if vals.get("attachment_id") and not self.env.su:
            self._wecom_check_attachment_access(self.env["ir.attachment"].browse(vals["attachment_id"]), self.env.user)
        result = super().write(vals)
        if OUTCOME_FIELDS & vals.keys():
            self._wecom_changed()
        return result

    def _wecom_value_of(self, field):
        """The value of ``field`` as ``write()`` takes it (a record's id)."""
        value = self[field]
        return value.id if isinstance(value, models.BaseModel) else value

    @api.model
    def _wecom_check_attachment_access(self, attachments, user):
        """``user`` may read each of ``attachments`` (another company's or record's file never leaves through
        WeCom). :raise AccessError: naming the attachment"""
        for attachment in attachments:
            try:
                compat.check_attachment_read(attachment.with_user(user))
            except AccessError as exc:
                raise AccessError(
                    _(
                        "Attachment: %(user)s may not read %(name)s, so it cannot be sent.",
                        user=user.name,
                        name=attachment.sudo().name,
                    )
                ) from exc

    def _wecom_check_author_access(self):
        """At send time, as the message's author: they may still send, use its application or robot (its
        company among theirs) and read its attachment. Messages created by the superuser (code, crons) pass.

        :raise AccessError: why the author may not send this message
        """
        self.ensure_one()
        author = self.create_uid
        if not author or author._is_superuser():
            return
        if not author.active or not author.has_group(const.USER_GROUP):
            raise AccessError(_("The author %(user)s may no longer send WeCom messages.", user=author.name))
        channel_record = self.application_id if self.channel == "application" else self.robot_id
        if self.company_id not in author.company_ids or (
            channel_record.company_id and channel_record.company_id not in author.company_ids
        ):
            raise AccessError(
                _(
                    "The author %(user)s may not send through %(channel)s of another company.",
                    user=author.name,
                    channel=channel_record.display_name or self.company_id.name,
                )
            )
        self._wecom_check_attachment_access(self.attachment_id, author)

    def _wecom_check_author_access_at_send(self):
        """:meth:`_wecom_check_author_access` as the outbox's failure: nothing is uploaded or sent.

        :raise WeComSenderRefused: the reason, stored as the message's failure
        """
        try:
            self._wecom_check_author_access()
        except AccessError as exc:
            raise WeComSenderRefused(str(exc.args[0] if exc.args else exc)) from exc

    def _wecom_check_sender(self):
        """Who may send: WeCom users (and sudo). Every way of sending (form, composer, Python, RPC) asks here."""
        check_wecom_group(self.env, const.USER_GROUP, _("Only WeCom users can send WeCom messages."))

    # ------------------------------------------------------------------ recipients
    def _wecom_recipients(self):
        """The message's recipients as WeCom expects them.

        :return: dict with ``touser``, ``toparty``, ``totag`` lists (``touser`` is ``["@all"]`` only when
            ``to_all`` was asked for explicitly)
        :raise ValidationError: an Odoo user has no WeCom user id
        """
        self.ensure_one()
        if self.to_all:
            return {"touser": ["@all"], "toparty": [], "totag": []}
        missing = self.user_ids.filtered(lambda user: not user.wecom_userid)
        if missing:
            raise ValidationError(
                _(
                    "Recipients: these users have no WeCom user id: %(users)s. Set it on the user (WeCom tab) or "
                    "remove them.",
                    users=", ".join(missing.mapped("name")),
                )
            )
        users = split_ids(self.user_ids.mapped("wecom_userid")) + split_ids(self.to_userids)
        users = [user for user in dict.fromkeys(users) if user != "@all"]
        return {"touser": users, "toparty": split_ids(self.to_partyids), "totag": split_ids(self.to_tagids)}

    # ------------------------------------------------------------------ validation
    def _wecom_from_arguments(self):
        """The message comes from ``wecom_send`` / ``wecom_send_robot``: an error names the argument to fix
        (``Argument userids: …``) rather than the field of the form."""
        return bool(self.env.context.get("wecom_send_arguments"))

    def _wecom_validate(self):
        """Check everything WeCom would check, before the message is queued: the one place of the rules,
        whether the message comes from the form, the composer, Python or RPC.

        :raise ValidationError: naming the field (or the argument of ``wecom_send``) that is wrong
        """
        for message in self:
            message._wecom_validate_channel()
            validator = getattr(message, f"_wecom_validate__{message.msgtype}", None)
            if validator:
                validator()
            if message.enable_duplicate_check and not (0 < message.duplicate_check_interval <= DUPLICATE_CHECK_MAX):
                raise ValidationError(
                    _("Duplicate check interval: between 1 and %(max)s seconds.", max=DUPLICATE_CHECK_MAX)
                )

    def _wecom_validate_channel(self):
        validator = getattr(self, f"_wecom_validate_channel__{self.channel}", None)
        if validator is None:
            raise ValidationError(_("Channel: %(channel)s cannot send messages.", channel=self.channel))
        validator()

    def _wecom_validate_channel__robot(self):
        robot = self.robot_id
        if not robot:
            raise ValidationError(_("Robot: choose the group robot that sends the message."))
        if not robot.active:
            raise ValidationError(_("Robot: %(robot)s is archived.", robot=robot.name))
        robot._wecom_robot_key()
        if self.msgtype not in ROBOT_MSGTYPES:
            if self._wecom_from_arguments():
                raise ValidationError(
                    _(
                        "Argument msgtype: %(value)r is not one of %(allowed)s.",
                        value=self.msgtype,
                        allowed=", ".join(ROBOT_MSGTYPES),
                    )
                )
            raise ValidationError(_("Type: a group robot cannot send %(type)s messages.", type=self.msgtype))

    def _wecom_validate_channel__application(self):
        app = self.application_id
        if not app:
            raise ValidationError(_("Application: choose the WeCom application that sends the message."))
        if not app.active or not app.is_active:
            raise ValidationError(_("Application: %(app)s is disabled.", app=app.app_name))
        if not app.company_id.wecom_corp_id:
            raise ValidationError(
                _("Application: the company %(company)s has no WeCom CorpID.", company=app.company_id.name)
            )
        self._wecom_validate_recipients()

    def _wecom_validate_recipients(self):
        """At least one recipient unless ``to_all``, and WeCom's limits per message (1000 users, 100
        departments, 100 tags); users and WeCom user ids count together, each person once."""
        if self.to_all:
            return
        from_arguments = self._wecom_from_arguments()
        given_userids = split_ids(self.to_userids)
        userids = [userid for userid in given_userids if userid != "@all"]
        parties, tags = split_ids(self.to_partyids), split_ids(self.to_tagids)
        if not (self.user_ids or userids or parties or tags):
            if given_userids and from_arguments:
                raise ValidationError(
                    _(
                        'Argument userids: "@all" is not a recipient; pass to_all=True to send to everyone the '
                        "application sees."
                    )
                )
            if from_arguments:
                raise ValidationError(
                    _(
                        "Recipients: give at least one user, department or tag (arguments users, userids, parties, "
                        "tags), or pass to_all=True to send to everyone the application sees."
                    )
                )
            raise ValidationError(_("Recipients: give at least one user, department or tag."))
        for name, values, label, limit in (
            ("userids", userids, _("users"), MAX_USERS),
            ("parties", parties, _("departments"), MAX_PARTIES),
            ("tags", tags, _("tags"), MAX_TAGS),
        ):
            if len(values) > limit:
                self._wecom_raise_over_limit(name, label, limit, len(values))
        users = self._wecom_recipients()["touser"]
        if len(users) > MAX_USERS:
            if from_arguments and self.user_ids:
                raise ValidationError(
                    _(
                        "Arguments users and userids: at most %(limit)s users per message together, got %(count)s.",
                        limit=MAX_USERS,
                        count=len(users),
                    )
                )
            self._wecom_raise_over_limit("userids", _("users"), MAX_USERS, len(users))

    def _wecom_raise_over_limit(self, argument, label, limit, count):
        if self._wecom_from_arguments():
            raise ValidationError(
                _(
                    "Argument %(name)s: at most %(limit)s %(what)s per message, got %(count)s.",
                    name=argument,
                    limit=limit,
                    what=label,
                    count=count,
                )
            )
        raise ValidationError(
            _(
                "Recipients: at most %(limit)s %(what)s per message, got %(count)s.",
                limit=limit,
                what=label,
                count=count,
            )
        )

    def _wecom_check_bytes(self, field_label, value, limit):
        if utf8_len(value) > limit:
            raise ValidationError(
                _(
                    "%(field)s: at most %(limit)s bytes in UTF-8, got %(size)s.",
                    field=field_label,
                    limit=limit,
                    size=utf8_len(value),
                )
            )

    def _wecom_validate__text(self):
        if not (self.content or "").strip():
            raise ValidationError(_("Content: a text message needs content."))
        self._wecom_check_bytes(_("Content"), self.content, payloads.CONTENT_MAX_BYTES)

    def _wecom_validate__markdown(self):
        if not (self.content or "").strip():
            raise ValidationError(_("Content: a markdown message needs content."))
        limit = payloads.ROBOT_MARKDOWN_MAX_BYTES if self.channel == "robot" else payloads.CONTENT_MAX_BYTES
        self._wecom_check_bytes(_("Content"), self.content, limit)

    def _wecom_validate__textcard(self):
        if not self.title or not self.description or not self.url:
            raise ValidationError(_("Title, Description, URL: a text card needs all three."))
        self._wecom_check_bytes(_("Title"), self.title, payloads.CARD_TITLE_MAX_BYTES)
        self._wecom_check_bytes(_("Description"), self.description, payloads.CARD_DESCRIPTION_MAX_BYTES)
        if self.btntxt and len(self.btntxt) > payloads.BUTTON_TEXT_MAX_CHARS:
            raise ValidationError(_("Button Text: at most %(limit)s characters.", limit=payloads.BUTTON_TEXT_MAX_CHARS))

    def _wecom_validate__news(self):
        if not 1 <= len(self.article_ids) <= payloads.NEWS_MAX_ARTICLES:
            raise ValidationError(
                _(
                    "Articles: a news message has 1 to %(limit)s articles, got %(count)s.",
                    limit=payloads.NEWS_MAX_ARTICLES,
                    count=len(self.article_ids),
                )
            )
        for article in self.article_ids:
            if not article.title or not article.url:
                raise ValidationError(_("Articles: every article needs a title and a URL."))
            self._wecom_check_bytes(_("Article title"), article.title, payloads.CARD_TITLE_MAX_BYTES)
            self._wecom_check_bytes(_("Article description"), article.description, payloads.CARD_DESCRIPTION_MAX_BYTES)

    def _wecom_validate__image(self):
        if not self.attachment_id:
            raise ValidationError(_("Attachment: an image message needs an image."))
        if not (self.attachment_id.mimetype or "").startswith("image/"):
            raise ValidationError(_("Attachment: %(name)s is not an image.", name=self.attachment_id.name))
        if self.channel == "robot":
            if self.attachment_id.mimetype not in ("image/png", "image/jpeg"):
                raise ValidationError(_("Attachment: a group robot sends JPG or PNG images only."))
            if self.attachment_id.file_size > 2 * 1024 * 1024:
                raise ValidationError(_("Attachment: a group robot image may be at most 2 MB."))
        if self.attachment_id.file_size > 10 * 1024 * 1024:
            raise ValidationError(_("Attachment: an image may be at most 10 MB."))

    def _wecom_validate__file(self):
        if not self.attachment_id:
            raise ValidationError(_("Attachment: a file message needs a file."))
        if self.attachment_id.file_size > 20 * 1024 * 1024:
            raise ValidationError(_("Attachment: a file may be at most 20 MB."))

    def _wecom_validate__template_card(self):
        if not self.title and not (self.card or {}).get("main_title"):
            raise ValidationError(_("Title: a template card needs a title."))
        if self.card and not isinstance(self.card, dict):
            raise ValidationError(_("Card: must be a JSON object."))

    # ------------------------------------------------------------------ buttons
    def action_send(self):
        """Queue the messages (validated first); the outbox cron sends them right away."""
        self._wecom_check_sender()
        todo = self.filtered(lambda m: m.state in ("draft", "exception", "cancel"))
        todo._wecom_validate()
        with outbox_writes():
            todo._wecom_queue()
        if todo:
            self.env.ref("wecom_base.ir_cron_wecom_message_queue")._trigger()
        return True

    def _wecom_queue(self):
        self.write(
            {
                "state": "outgoing",
                "failure_type": False,
                "failure_reason": False,
                "try_count": 0,
                "next_try_date": False,
                "claimed_at": False,
                "queued_date": fields.Datetime.now(),
            }
        )

    def action_retry(self):
        """Queue failed or cancelled messages again."""
        failed = self.filtered(lambda m: m.state in ("exception", "cancel"))
        if not failed:
            raise UserError(_("Only failed or cancelled messages can be retried."))
        return failed.action_send()

    def action_cancel(self):
        """Cancel messages that are not sent yet."""
        self._wecom_check_sender()
        pending = self.filtered(lambda m: m.state in ("draft", "outgoing", "exception"))
        if not pending:
            raise UserError(_("Only messages not sent yet can be cancelled."))
        with outbox_writes():
            pending.write({"state": "cancel", "next_try_date": False})
        return True

    def action_send_now(self):
        """Send at once (interactive): a failure raises a clear error and the message stays as it was."""
        self.ensure_one()
        self._wecom_check_sender()
        if self.state in SENT_STATES:
            raise UserError(_("This message was already sent."))
        self._wecom_validate()
        with outbox_writes():
            self._wecom_lock_for_send()
            self._wecom_send_one(raise_errors=True)
        return True

    def action_recall(self):
        """Recall sent application messages (WeCom allows it within 24 hours)."""
        self._wecom_check_sender()
        limit = fields.Datetime.now() - timedelta(hours=24)
        for message in self:
            if message.channel != "application" or message.state not in SENT_STATES or not message.msgid:
                raise UserError(_("Only sent application messages can be recalled."))
            if message.recalled:
                raise UserError(_("This message was already recalled."))
            if not message.sent_date or message.sent_date < limit:
                raise UserError(_("WeCom only recalls messages sent less than 24 hours ago."))
            try:
                message._wecom_call(const.PATH_MESSAGE_RECALL, payload={"msgid": message.msgid})
            except WeComError as exc:
                message.handle_wecom_error(exc)
            with outbox_writes():
                message.write({"recalled": True, "recall_date": fields.Datetime.now()})
            message.message_post(body=_("Recalled from WeCom."))
        return True

    def _wecom_lock_for_send(self):
        if not compat.try_lock_for_update(self):
            raise UserError(_("This message is being sent right now; wait a moment."))
        self.invalidate_recordset()
        if self.state in SENT_STATES:
            raise UserError(_("This message was already sent."))
        lease = timedelta(seconds=self._wecom_claim_lease())
        if self.state == "outgoing" and self.claimed_at and self.claimed_at > fields.Datetime.now() - lease:
            raise UserError(_("This message is being sent right now; wait a moment."))

    # ------------------------------------------------------------------ housekeeping
    @api.autovacuum
    def _gc_wecom_messages(self):
        """Nightly: delete sent, partially sent and cancelled messages finished before the retention period
        (failed and queued ones stay for an admin)."""
        cutoff = retention_cutoff(self.env)
        if not cutoff:
            return 0
        count = unlink_in_batches(
            self.sudo().with_context(active_test=False),
            [
                ("state", "in", (*SENT_STATES, "cancel")),
                "|",
                ("sent_date", "<", cutoff),
                "&",
                ("sent_date", "=", False),
                ("write_date", "<", cutoff),
            ],
        )
        if count:
            _logger.info("WeCom housekeeping: deleted %s message(s) finished before %s", count, cutoff)
        return count

    # ================================================================== payloads
    # The JSON bodies the outbox sends: ``message/send`` for applications, ``webhook/send`` for group robots.
    #
    # The common part is built by :meth:`_wecom_prepare_payload`, the type's own part by
    # ``_wecom_prepare_payload__<msgtype>()`` (and ``_wecom_prepare_robot_payload__<msgtype>()`` where a robot's
    # body differs), so an addon adds a message type by adding that method. The shapes are in
    # ``lib/payloads.py``; media are uploaded here, once.

    def _wecom_prepare_payload(self, recipients=None):
        """The JSON body of ``message/send`` for this message.

        The common part (recipients, agent id, options) is built here; the type's own part by
        ``_wecom_prepare_payload__<msgtype>()``, so an addon adds a message type by adding that method.

        :param dict recipients: :meth:`_wecom_recipients` of this message, when the caller has it already
            (the outbox reads them once for the pacing and the payload)
        """
        self.ensure_one()
        self._wecom_check_author_access_at_send()
        builder = getattr(self, f"_wecom_prepare_payload__{self.msgtype}", None)
        if builder is None:
            raise ValidationError(_("Type: %(type)s cannot be sent by this channel.", type=self.msgtype))
        duplicate_check = None
        if self.resend_duplicate_check:
            # the previous try may have reached WeCom: let WeCom drop a second copy, for as long as it can
            duplicate_check = payloads.DUPLICATE_CHECK_MAX
        elif self.enable_duplicate_check:
            duplicate_check = self.duplicate_check_interval or payloads.DUPLICATE_CHECK_DEFAULT
        return payloads.application_message(
            self.msgtype,
            builder(),
            self.application_id.agent_id,
            recipients or self._wecom_recipients(),
            safe=self.safe,
            enable_id_trans=self.enable_id_trans,
            duplicate_check=duplicate_check,
        )

    def _wecom_prepare_payload__text(self):
        return payloads.text(self.content)

    def _wecom_prepare_payload__markdown(self):
        return payloads.text(self.content)

    def _wecom_prepare_payload__textcard(self):
        return payloads.textcard(self.title, self.description, self.url, self.btntxt)

    def _wecom_prepare_payload__news(self):
        return payloads.news(article._wecom_payload() for article in self.article_ids)

    def _wecom_prepare_payload__image(self):
        return payloads.media(self._wecom_media_id("image"))

    def _wecom_prepare_payload__file(self):
        return payloads.media(self._wecom_media_id("file"))

    def _wecom_prepare_payload__template_card(self):
        return payloads.template_card(self.title, self.description, self.url, self.content, extra=self.card)

    # ------------------------------------------------------------------ group robots
    def _wecom_prepare_robot_payload(self):
        """The JSON body of ``webhook/send``; the type's part comes from
        ``_wecom_prepare_robot_payload__<msgtype>()`` or, failing that, ``_wecom_prepare_payload__<msgtype>()``."""
        self.ensure_one()
        self._wecom_check_author_access_at_send()
        builder = getattr(self, f"_wecom_prepare_robot_payload__{self.msgtype}", None) or getattr(
            self, f"_wecom_prepare_payload__{self.msgtype}", None
        )
        if builder is None:  # which types a robot sends is a rule of _wecom_validate_channel__robot
            raise ValidationError(_("Type: a group robot cannot send %(type)s messages.", type=self.msgtype))
        return payloads.robot_message(self.msgtype, builder())

    def _wecom_prepare_robot_payload__text(self):
        return payloads.robot_text(
            self.content,
            mentioned=payloads.split_ids(self.mentioned_userids),
            mention_all=self.mention_all,
            mobiles=payloads.split_ids(self.mentioned_mobiles),
        )

    def _wecom_prepare_robot_payload__image(self):
        return payloads.robot_image(base64.b64decode(self.attachment_id.sudo().datas or b""))

    def _wecom_prepare_robot_payload__file(self):
        if self._wecom_media_fresh():
            return payloads.media(self.media_id)
        attachment = self.attachment_id.sudo()
        media_id = self._wecom_client().robot_upload(
            self.robot_id._wecom_robot_key(),
            attachment.name or "file",
            base64.b64decode(attachment.datas or b""),
            mimetype=attachment.mimetype or "application/octet-stream",
        )
        self.write({"media_id": media_id, "media_uploaded_at": fields.Datetime.now()})
        return payloads.media(media_id)

    # ------------------------------------------------------------------ media
    def _wecom_media_fresh(self):
        """The uploaded media is still usable: WeCom keeps it 3 days (half a day of margin)."""
        fresh_until = fields.Datetime.now() - timedelta(days=2, hours=12)
        return bool(self.media_id and self.media_uploaded_at and self.media_uploaded_at > fresh_until)

    def _wecom_media_id(self, media_type):
        """Upload the attachment once (``media/upload``; WeCom keeps it 3 days) and return its media id."""
        if self._wecom_media_fresh():
            return self.media_id
        attachment = self.attachment_id.sudo()
        content = base64.b64decode(attachment.datas or b"")
        media_id = self.application_id._wecom_with_token(
            lambda client, token: client.upload_media(
                token, media_type, attachment.name or "file", content, attachment.mimetype or "application/octet-stream"
            )
        )
        self.write({"media_id": media_id, "media_uploaded_at": fields.Datetime.now()})
        return media_id

    # ================================================================== the RPC and Python API
    # ``wecom_send`` and ``wecom_send_robot``: what addon code and RPC clients call to queue a message.
    #
    # This layer only turns arguments into field values: it checks their types (an RPC client gets
    # "Argument …: expected …" rather than a traceback) and resolves "record or id" in one place
    # (:meth:`_wecom_resolve`). Then it creates the message and queues it with ``action_send``, which runs
    # the model's rules (``_wecom_validate``, in ``wecom_message.py``), the same for the form, the composer,
    # Python and RPC; under ``wecom_send`` those rules name the argument to fix.

    @api.model
    @compat.returns_record
    def wecom_send(
        self,
        application=None,
        msgtype="text",
        content=None,
        users=None,
        userids=None,
        parties=None,
        tags=None,
        to_all=False,
        title=None,
        description=None,
        url=None,
        btntxt=None,
        articles=None,
        attachment=None,
        card=None,
        safe=0,
        enable_id_trans=False,
        enable_duplicate_check=False,
        duplicate_check_interval=DUPLICATE_CHECK_DEFAULT,
        **unknown,
    ):
        """Queue a WeCom application message; the outbox cron sends it (retries included).

        One call for addon code and for RPC clients (``execute_kw(db, uid, key, "wecom.message",
        "wecom_send", [application_id], {"userids": ["zhangsan"], "content": "Hello"})``).

        :param application: ``wecom.application`` record or id
        :param str msgtype: text, markdown, textcard, news, image, file or template_card
        :param str content: text/markdown content (``payloads.CONTENT_MAX_BYTES``), or a template card's sub-title
        :param users: ``res.users`` records or ids (each needs a WeCom user id)
        :param userids: WeCom user ids (list or ``|``-separated string)
        :param parties: WeCom department ids
        :param tags: WeCom tag ids
        :param bool to_all: send to everyone the application sees (``@all``); never implied
        :param str title: text card / template card title
        :param str description: text card / template card description
        :param str url: text card / template card link
        :param str btntxt: text card button text
        :param list articles: news articles, dicts with title, description, url, picurl (1 to 8)
        :param attachment: ``ir.attachment`` record or id (image and file)
        :param dict card: extra template card fields
        :param int safe: 0 shareable, 1 confidential, 2 company only
        :param bool enable_id_trans: let WeCom translate ids
        :param bool enable_duplicate_check: let WeCom drop an identical message within the interval
        :param int duplicate_check_interval: seconds, at most ``payloads.DUPLICATE_CHECK_MAX``
        :return: the queued message (its id over RPC)
        :raise AccessError: the caller is not a WeCom user
        :raise ValidationError: an argument is wrong (the message says which and why)
        """
        self._wecom_check_sender()
        self._wecom_check_send_arguments(application, unknown)
        app = self._wecom_resolve("application", application, "wecom.application", self.env._("WeCom application"))
        vals = self._wecom_content_values(
            msgtype, content, title, description, url, articles, attachment, card, btntxt=btntxt
        )
        self._wecom_check_argument_type("to_all", to_all, bool, self.env._("true or false"))
        if safe not in (0, 1, 2, "0", "1", "2"):
            raise ValidationError(self.env._("Argument safe: 0, 1 or 2."))
        self._wecom_check_argument_type(
            "duplicate_check_interval", duplicate_check_interval, int, self.env._("a number of seconds")
        )
        vals.update(
            {
                "channel": "application",
                "application_id": app.id,
                "company_id": app.company_id.id,
                "user_ids": [(6, 0, self._wecom_resolve_many("users", users, "res.users"))],
                "to_userids": self._wecom_id_list("userids", userids),
                "to_partyids": self._wecom_id_list("parties", parties),
                "to_tagids": self._wecom_id_list("tags", tags),
                "to_all": bool(to_all),
                "safe": str(safe),
                "enable_id_trans": bool(enable_id_trans),
                "enable_duplicate_check": bool(enable_duplicate_check),
                "duplicate_check_interval": duplicate_check_interval or DUPLICATE_CHECK_DEFAULT,
            }
        )
        return self._wecom_create_and_queue(vals)

    @api.model
    @compat.returns_record
    def wecom_send_robot(
        self,
        robot,
        msgtype="text",
        content=None,
        mentioned_userids=None,
        mentioned_mobiles=None,
        mention_all=False,
        title=None,
        description=None,
        url=None,
        articles=None,
        attachment=None,
        card=None,
    ):
        """Queue a group robot message; the outbox sends at most 20 a minute per robot, deferring the rest.

        :param robot: ``wecom.robot`` record or id
        :param str msgtype: text, markdown, image, news, file or template_card
        :param str content: text or markdown (``payloads.CONTENT_MAX_BYTES``, ``ROBOT_MARKDOWN_MAX_BYTES``)
        :param mentioned_userids: text: WeCom user ids to @mention
        :param mentioned_mobiles: text: mobile numbers to @mention
        :param bool mention_all: text: @all
        :return: the queued message (its id over RPC)
        :raise AccessError: the caller is not a WeCom user
        :raise ValidationError: an argument is wrong
        """
        self._wecom_check_sender()
        robot = self._wecom_resolve("robot", robot, "wecom.robot", self.env._("WeCom group robot"))
        vals = self._wecom_content_values(msgtype, content, title, description, url, articles, attachment, card)
        for name, value in (("mentioned_userids", mentioned_userids), ("mentioned_mobiles", mentioned_mobiles)):
            if value and not isinstance(value, (str, list, tuple)):
                raise ValidationError(self.env._("Argument %(name)s: expected a list of strings.", name=name))
        if not isinstance(mention_all, bool):
            raise ValidationError(self.env._("Argument mention_all: expected true or false."))
        vals.update(
            {
                "channel": "robot",
                "robot_id": robot.id,
                "company_id": robot.company_id.id,
                "application_id": False,
                "mentioned_userids": "|".join(split_ids(mentioned_userids)) or False,
                "mentioned_mobiles": "|".join(split_ids(mentioned_mobiles)) or False,
                "mention_all": mention_all,
            }
        )
        return self._wecom_create_and_queue(vals)

    @api.model
    def _wecom_create_and_queue(self, vals):
        """Create the message and queue it; the model's rules run on it, naming the arguments of
        ``wecom_send``. A refused message leaves nothing behind."""
        with self.env.cr.savepoint():
            message = self.create(vals)
            message.with_context(wecom_send_arguments=True).action_send()
        return message

    # ------------------------------------------------------------------ arguments
    def _wecom_check_send_arguments(self, application, unknown):
        """Refuse what Python would refuse with a bare ``TypeError`` (a traceback for an RPC client).

        :param application: the ``application`` argument of :meth:`wecom_send` (required)
        :param dict unknown: keyword arguments :meth:`wecom_send` does not take
        :raise ValidationError: naming the argument and why it is wrong
        """
        if unknown:
            known = [
                name
                for name, parameter in inspect.signature(type(self).wecom_send).parameters.items()
                if name != "self" and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ]
            raise ValidationError(
                self.env._(
                    "Argument %(names)s: wecom_send has no such argument. It takes %(known)s.",
                    names=", ".join(sorted(unknown)),
                    known=", ".join(known),
                )
            )
        if application is None or application is False:
            raise ValidationError(
                self.env._(
                    "Argument application: missing; give the id of the WeCom application that sends the message."
                )
            )

    @api.model
    def _wecom_resolve(self, name, value, model, label):
        """ "Record or id" for one record: a record of ``model``, or the id of one the caller may read.

        :param str label: what the record is, for the error (``WeCom application``)
        :raise ValidationError: naming the argument
        """
        if isinstance(value, models.BaseModel):
            if value._name != model or len(value) != 1:
                raise ValidationError(self.env._("Argument %(name)s: expected one %(model)s.", name=name, model=model))
            record = value
        elif isinstance(value, int) and not isinstance(value, bool):
            record = self.env[model].browse(value)
        else:
            raise ValidationError(
                self.env._(
                    "Argument %(name)s: expected a %(model)s id, got %(got)s.",
                    name=name,
                    model=model,
                    got=type(value).__name__,
                )
            )
        try:
            if not record.exists():
                raise AccessError(model)
            record.check_access("read")
        except AccessError:
            raise ValidationError(
                self.env._("Argument %(name)s: no %(what)s with id %(id)s.", name=name, what=label, id=record.id)
            ) from None
        return record

    @api.model
    def _wecom_resolve_many(self, name, value, model):
        """ "Records or ids": the ids of existing ``model`` records.

        :raise ValidationError: naming the argument
        """
        if not value:
            return []
        if isinstance(value, models.BaseModel):
            if value._name != model:
                raise ValidationError(
                    self.env._("Argument %(name)s: expected %(model)s records.", name=name, model=model)
                )
            return value.ids
        values = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValidationError(
                self.env._("Argument %(name)s: expected a list of %(model)s ids.", name=name, model=model)
            )
        records = self.env[model].browse(values).exists()
        if len(records) != len(set(values)):
            raise ValidationError(
                self.env._(
                    "Argument %(name)s: unknown %(model)s ids %(ids)s.",
                    name=name,
                    model=model,
                    ids=sorted(set(values) - set(records.ids)),
                )
            )
        return records.ids

    @api.model
    def _wecom_check_argument_type(self, name, value, types, type_label):
        if value is not None and value is not False and not isinstance(value, types):
            raise ValidationError(
                self.env._(
                    "Argument %(name)s: expected %(expected)s, got %(got)s.",
                    name=name,
                    expected=type_label,
                    got=type(value).__name__,
                )
            )

    @api.model
    def _wecom_id_list(self, name, value):
        """WeCom ids (list or ``|``-separated string) -> the stored ``a|b`` form."""
        self._wecom_check_argument_type(
            name, value, (str, list, tuple), self.env._("a list of strings or a |-separated string")
        )
        if isinstance(value, (list, tuple)) and not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
        ):
            raise ValidationError(self.env._("Argument %(name)s: every id must be a string or a number.", name=name))
        return "|".join(split_ids(value)) or False

    @api.model
    def _wecom_content_values(self, msgtype, content, title, description, url, articles, attachment, card, btntxt=None):
        """The content arguments shared by both send methods, checked for type, as field values."""
        msgtypes = dict(self._fields["msgtype"]._description_selection(self.env))
        if msgtype not in msgtypes:
            raise ValidationError(
                self.env._(
                    "Argument msgtype: %(value)r is not one of %(allowed)s.", value=msgtype, allowed=", ".join(msgtypes)
                )
            )
        for name, value in (
            ("content", content),
            ("title", title),
            ("description", description),
            ("url", url),
            ("btntxt", btntxt),
        ):
            self._wecom_check_argument_type(name, value, str, self.env._("a string"))
        self._wecom_check_argument_type("card", card, dict, self.env._("an object"))
        self._wecom_check_argument_type("articles", articles, (list, tuple), self.env._("a list of objects"))
        article_commands = []
        for article in articles or []:
            if not isinstance(article, dict):
                raise ValidationError(
                    self.env._("Argument articles: every article is an object with title, description, url, picurl.")
                )
            unknown = set(article) - set(ARTICLE_KEYS)
            if unknown:
                raise ValidationError(
                    self.env._("Argument articles: unknown keys %(keys)s.", keys=", ".join(sorted(unknown)))
                )
            if not (article.get("title") and article.get("url")):
                # both are required columns: refused here rather than by the database
                raise ValidationError(self.env._("Argument articles: every article needs a title and a URL."))
            article_commands.append((0, 0, {key: article.get(key) or False for key in ARTICLE_KEYS}))
        attachment_ids = self._wecom_resolve_many("attachment", attachment, "ir.attachment")
        return {
            "msgtype": msgtype,
            "content": content or False,
            "title": title or False,
            "description": description or False,
            "url": url or False,
            "btntxt": btntxt or False,
            "article_ids": article_commands,
            "attachment_id": attachment_ids[0] if attachment_ids else False,
            "card": card or None,
        }

    # ================================================================== one try
    # One try of a message and how it ends: send it (application or group robot) and turn WeCom's answer,
    # or the error, into the message's next values (sent, partial, retry later, failed).
    #
    # :meth:`WeComMessage._wecom_failure_values` is the one place that maps an error to a failure type and
    # decides between a retry and giving up.

    # ------------------------------------------------------------------ settings
    @api.model
    def _wecom_outbox_settings(self):
        """The outbox's system parameters, read once per batch (bad values fall back to the defaults)."""

        def number(key, default, cast=int, minimum=0):
            return number_param(self.env, key, default, cast=cast, minimum=minimum)

        return {
            "max_tries": number(const.PARAM_MESSAGE_MAX_TRIES, const.MESSAGE_MAX_TRIES, minimum=1),
            "concurrency": min(
                number(const.PARAM_MESSAGE_CONCURRENCY, const.MESSAGE_CONCURRENCY, minimum=1),
                const.MESSAGE_CONCURRENCY_MAX,
            ),
            "retry_base": number(const.PARAM_MESSAGE_RETRY_BASE, const.MESSAGE_RETRY_BASE, float, 0.1),
            "retry_max": number(const.PARAM_MESSAGE_RETRY_MAX, const.MESSAGE_RETRY_MAX, float, 0.1),
            "expiry_hours": number(const.PARAM_MESSAGE_EXPIRY_HOURS, const.MESSAGE_EXPIRY_HOURS, float),
            "member_per_minute": number(const.PARAM_MEMBER_RATE_PER_MINUTE, const.MEMBER_RATE_PER_MINUTE),
            "member_per_hour": number(const.PARAM_MEMBER_RATE_PER_HOUR, const.MEMBER_RATE_PER_HOUR),
        }

    # ------------------------------------------------------------------ one try
    def _wecom_send_one(self, raise_errors=False):
        """Send this message once: build, call, store the outcome (sent, partial, retry later or failed).

        :param bool raise_errors: interactive use: raise a translated error instead of storing a failure
        :raise UserError: only with ``raise_errors``, when WeCom refused or could not be reached
        """
        self.ensure_one()
        values, data = self._wecom_attempt(raise_errors=raise_errors)
        self.write(values)
        if data and self.channel == "application":
            self.env["wecom.message.member.send"]._wecom_record([(self.application_id.id, self._wecom_paced_members())])
        self._wecom_outcomes_stored()
        return data

    def _wecom_attempt(self, raise_errors=False):
        """Send this message once (build, call WeCom) and return its outcome without storing it.

        :param bool raise_errors: interactive use: raise a translated error instead of returning a failure
        :return: ``(values, data)``: the field values of the outcome (sent, partial, retry later or failed)
            and WeCom's answer (None when the send failed or was deferred)
        :raise UserError: only with ``raise_errors``, when WeCom refused or could not be reached
        """
        self.ensure_one()
        sender = getattr(self, f"_wecom_send__{self.channel}")
        try_count = self.try_count + 1
        try:
            data = sender()
        except RobotThrottled as throttled:
            # not a failure (no try counted): the robot's minute is full, the message waits for the next one
            return {
                "state": "outgoing",
                "next_try_date": fields.Datetime.now() + timedelta(seconds=throttled.wait),
                "claimed_at": False,
                "wait_outage": False,
            }, None
        except WeComError as exc:
            if raise_errors:
                self.handle_wecom_error(exc)
            return self._wecom_failure_values(exc, try_count), None
        return self._wecom_success_values(data, try_count), data

    def _wecom_send__application(self):
        app = self.application_id
        payload = self._wecom_prepare_payload()
        return app._wecom_with_token(lambda client, token: client.send_message(token, payload))

    def _wecom_send__robot(self):
        robot = self.robot_id
        wait_seconds = self._wecom_robot_wait()
        if wait_seconds:
            raise RobotThrottled(wait_seconds)
        payload = self._wecom_prepare_robot_payload()
        return self._wecom_client().robot_send(robot._wecom_robot_key(), payload)

    def _wecom_robot_wait(self):
        """Seconds to wait before this robot may send again (WeCom accepts 20 messages a minute per robot)."""
        since = fields.Datetime.now() - timedelta(seconds=60)
        sent = self.search(
            [
                ("robot_id", "=", self.robot_id.id),
                ("channel", "=", "robot"),
                ("state", "in", SENT_STATES),
                ("sent_date", ">", since),
            ],
            order="sent_date",
        )
        if len(sent) < const.ROBOT_MESSAGES_PER_MINUTE:
            return 0
        return max(1.0, 60 - (fields.Datetime.now() - sent[0].sent_date).total_seconds() + 1)

    def _wecom_paced_members(self, recipients=None):
        """The members WeCom counts this message against (its user ids; not known for departments, tags,
        @all).

        :param dict recipients: :meth:`_wecom_recipients` of this message, when the caller has it already
        """
        self.ensure_one()
        if self.to_all:
            return []
        return (recipients or self._wecom_recipients())["touser"]

    # ------------------------------------------------------------------ outcomes
    def _wecom_success_values(self, data, try_count):
        invalid = {
            "invalid_users": data.get("invaliduser") or False,
            "invalid_parties": data.get("invalidparty") or False,
            "invalid_tags": data.get("invalidtag") or False,
            "unlicensed_users": "|".join(data["unlicenseduser"])
            if isinstance(data.get("unlicenseduser"), list)
            else (data.get("unlicenseduser") or False),
        }
        partial = any(invalid.values())
        return {
            "state": "partial" if partial else "sent",
            "try_count": try_count,
            "msgid": data.get("msgid") or False,
            "response_code": data.get("response_code") or False,
            "sent_date": fields.Datetime.now(),
            "response": json.dumps(self.format_wecom_response(data), ensure_ascii=False),
            "failure_type": False,
            "failure_reason": False,
            "next_try_date": False,
            "claimed_at": False,
            "wait_outage": False,
            **invalid,
        }

    def _wecom_retry_delay(self, error, try_count=None):
        """Seconds to wait before the next try: exponential backoff with jitter, from the system parameters
        ``wecom_base.message_retry_base`` / ``message_retry_max`` (45009: at least a minute).

        :param int try_count: tries made so far, this one included (default: the stored count)
        """
        settings = self._wecom_outbox_settings()
        tries = self.try_count if try_count is None else try_count
        minimum = 0
        if isinstance(error, WeComApiError) and error.errcode == const.ERRCODE_API_FREQ_LIMIT:
            minimum = 60
        return retry_delay(tries, settings["retry_base"], settings["retry_max"], minimum=minimum)

    def _wecom_expired(self, settings):
        """Queued longer ago than ``wecom_base.message_expiry_hours``: an outage may fail it now."""
        queued = self.queued_date or self.create_date or fields.Datetime.now()
        return queued < fields.Datetime.now() - timedelta(hours=settings["expiry_hours"])

    def _wecom_reader_lang(self):
        """The language a message's outcome is written in: its author's (who reads it), else its company's; never
        the language of the cron that sent it."""
        self.ensure_one()
        return self.create_uid.lang or company_lang(self.company_id)

    def _wecom_failure_values(self, error, try_count):
        """What a failed try leaves: a retry later, or a failure with its type and reason.

        Transport failures (network, HTTP 5xx, -1) and WeCom's rate limits (45009, 45033) are retried until
        the message is older than ``wecom_base.message_expiry_hours``, not a count of tries; other
        retryable errors (a token WeCom keeps refusing) up to ``wecom_base.message_max_tries`` tries;
        content and configuration errors fail at once, with the failure type of the errcode table
        (:func:`~odoo.addons.wecom_base.lib.errcodes.failure_type_for`).
        """
        self = self.with_context(lang=self._wecom_reader_lang())  # noqa: PLW0642 - _() reads the frame's self
        settings = self._wecom_outbox_settings()
        reason = self._wecom_error_message(error)
        retryable = is_retryable(error)
        by_age = is_transport_error(error) or is_rate_error(error)
        give_up = self._wecom_expired(settings) if by_age else try_count >= settings["max_tries"]
        if retryable and not give_up:
            return {
                "state": "outgoing",
                "try_count": try_count,
                "failure_reason": reason,
                "next_try_date": fields.Datetime.now() + timedelta(seconds=self._wecom_retry_delay(error, try_count)),
                "claimed_at": False,
                "wait_outage": False,
                # a timeout or a dropped connection may hide a delivery: let WeCom drop a second copy
                "resend_duplicate_check": self.resend_duplicate_check or isinstance(error, WeComNetworkError),
            }
        failure_type = failure_type_for(error)
        if retryable and by_age:
            reason = _(
                "Gave up: not sent within %(hours)s hours of being queued. Last error: %(reason)s",
                hours="%g" % settings["expiry_hours"],  # noqa: UP031 - no f-string in _(): babel evals it
                reason=reason,
            )
        elif retryable:
            reason = _("Gave up after %(tries)s tries. Last error: %(reason)s", tries=try_count, reason=reason)
        return {
            "state": "exception",
            "try_count": try_count,
            "failure_type": failure_type,
            "failure_reason": reason,
            "next_try_date": False,
            "claimed_at": False,
            "wait_outage": False,
            "response": json.dumps(self.format_wecom_response(error), ensure_ascii=False),
        }

    @api.model
    def _wecom_unexpected_values(self, exc, try_count):
        return {
            "state": "exception",
            "try_count": try_count,
            "failure_type": "unknown",
            "failure_reason": _("Unexpected error: %(error)s", error=str(exc)),
            "next_try_date": False,
            "claimed_at": False,
            "wait_outage": False,
        }

    # ================================================================== the queue and the drain
    # The outbox queue: claims, the cron's drain and concurrent sends.
    #
    # A drain claims a batch (``FOR NO KEY UPDATE SKIP LOCKED`` in a short transaction of its own), sends it,
    # and stores every outcome in the cron's transaction, committed after each batch. Application messages go
    # out concurrently (``outbox.Flight``: up to ``wecom_base.message_concurrency`` requests in flight, HTTP on
    # threads that never touch the cursor), gated by the application's circuit (``wecom_application_circuit.py``)
    # and by the pacing of each member (``wecom_message_member_send.py``); other channels one after the other.
    # One try and its outcome values are in the section "one try", storing them (and the hook that runs after) in
    # "outcomes".

    # ------------------------------------------------------------------ claims
    # FOR NO KEY UPDATE SKIP LOCKED and a claim in one statement: the ORM has neither
    _CLAIM_QUERY = """
        WITH due AS (
            SELECT id, claimed_at IS NOT NULL AS recovered
              FROM wecom_message
             WHERE state = 'outgoing'
               AND (next_try_date IS NULL OR next_try_date <= CLOCK_TIMESTAMP() AT TIME ZONE 'UTC')
               AND (claimed_at IS NULL OR claimed_at < CLOCK_TIMESTAMP() AT TIME ZONE 'UTC' - %s * INTERVAL '1 second')
             ORDER BY COALESCE(next_try_date, create_date), id
             LIMIT %s
               FOR NO KEY UPDATE SKIP LOCKED
        )
        UPDATE wecom_message m
           SET claimed_at = CLOCK_TIMESTAMP() AT TIME ZONE 'UTC',
               resend_duplicate_check = m.resend_duplicate_check OR due.recovered
          FROM due
         WHERE m.id = due.id
     RETURNING m.id, due.recovered
    """

    @api.model
    def _wecom_claim_lease(self):
        """Seconds after which a claimed message whose sender never finished is taken to be lost."""
        return number_param(self.env, const.PARAM_MESSAGE_CLAIM_LEASE, const.MESSAGE_CLAIM_LEASE, minimum=1)

    @api.model
    def _wecom_claim_batch(self, limit, own_transaction=False):
        """Take up to ``limit`` due messages for this sender; other senders skip them.

        Rows are locked with ``FOR UPDATE SKIP LOCKED`` and stamped ``claimed_at``; a message whose
        claim is older than the lease (its sender died) is due again and is resent with WeCom's duplicate
        check on.

        :param bool own_transaction: claim in a short READ COMMITTED transaction of its own, committed at
            once (production). The caller's transaction must be committed first, so that its next snapshot
            sees the claims. Otherwise the claim runs in the current transaction and its row locks hold
            until that transaction ends (tests).
        :return: the claimed messages
        """
        if own_transaction:
            # nothing may touch self.env.cr before the claim is committed: its snapshot must see the claim
            with short_transaction(self.env) as cr:
                cr.execute(self._CLAIM_QUERY, [self.with_env(self.env(cr=cr))._wecom_claim_lease(), limit])
                rows = cr.fetchall()
        else:
            self.env.flush_all()
            self.env.cr.execute(self._CLAIM_QUERY, [self._wecom_claim_lease(), limit])
            rows = self.env.cr.fetchall()
        recovered = [row[0] for row in rows if row[1]]
        if recovered:
            _logger.warning(
                "WeCom outbox: resending %s message(s) left in flight by a stopped sender: %s",
                len(recovered),
                recovered,
            )
        messages = self.browse([row[0] for row in rows])
        messages.invalidate_recordset(["claimed_at", "resend_duplicate_check"])
        return messages

    @api.model
    def _wecom_due_domain(self):
        """Messages a sender could claim now: due, and not in flight under a claim younger than the lease."""
        now = fields.Datetime.now()
        lease_end = now - timedelta(seconds=self._wecom_claim_lease())
        return [
            ("state", "=", "outgoing"),
            "|",
            ("next_try_date", "=", False),
            ("next_try_date", "<=", now),
            "|",
            ("claimed_at", "=", False),
            ("claimed_at", "<", lease_end),
        ]

    @api.model
    def _wecom_due_count(self):
        """How many messages a sender could claim now (counting claims within their lease made a drain
        re-trigger itself in a loop until the lease of a dead sender ended)."""
        return self.search_count(self._wecom_due_domain())

    @api.model
    def _wecom_next_due_date(self):
        """When the first queued message that cannot be claimed now will be: at its retry date, or when
        the lease of its claim ends (its sender may have died). None when no message waits.

        :rtype: datetime or None
        """
        dates = []
        [(next_try,)] = self._read_group(
            [("state", "=", "outgoing"), ("claimed_at", "=", False), ("next_try_date", "!=", False)],
            aggregates=["next_try_date:min"],
        )
        if next_try:
            dates.append(next_try)
        [(claimed,)] = self._read_group(
            [("state", "=", "outgoing"), ("claimed_at", "!=", False)], aggregates=["claimed_at:min"]
        )
        if claimed:
            dates.append(claimed + timedelta(seconds=self._wecom_claim_lease()))
        return min(dates) if dates else None

    # ------------------------------------------------------------------ the drain
    @api.model
    def _cron_process_queue(self, batch_size=None, max_batches=None):
        """Drain due messages in batches: one try/except per message, a commit after each batch (except
        under tests), and a new trigger while a backlog remains.

        :param int batch_size: messages per batch (system parameter ``wecom_base.message_batch_size``)
        :param int max_batches: stop after this many batches (the cron is re-triggered for the rest)
        :return: the number of messages processed
        :rtype: int
        """
        batch_size = batch_size or number_param(
            self.env, const.PARAM_MESSAGE_BATCH_SIZE, const.MESSAGE_BATCH_SIZE, minimum=1
        )
        max_batches = max_batches or const.MESSAGE_MAX_BATCHES_PER_RUN
        auto_commit = compat.may_commit(self.env.cr)
        lease = self._wecom_claim_lease()
        done = 0
        flight = Flight(self)
        with self._wecom_gather_changes():
            for _batch in range(max_batches):
                if auto_commit:
                    # the next snapshot of this transaction must see the claims
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                messages = self._wecom_claim_batch(batch_size, own_transaction=auto_commit)
                if not messages:
                    break
                # end the batch well within the claim lease, or another sender would take its messages again
                done += messages._wecom_send_batch(deadline=time.monotonic() + lease / 2, flight=flight)
                if auto_commit:
                    # a batch sent is stored for good, and its messages' open views are told
                    self._wecom_notify_gathered()
                    self.env.cr.commit()  # pylint: disable=invalid-commit
            if flight.running or flight.finished or flight.replays or flight.outcomes:
                # the last batch's sends still in flight
                flight.new_batch()
                flight.finish()
                flight.store_collected(force=True)
                if auto_commit:
                    self._wecom_notify_gathered()
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        remaining = self._wecom_due_count()
        compat.report_progress(self.env, done, remaining)
        cron = self.env.ref("wecom_base.ir_cron_wecom_message_queue")
        if remaining:
            cron._trigger()
        else:
            # the next retry or lease end, not the cron's next interval (up to 5 minutes later)
            next_due = self._wecom_next_due_date()
            if next_due and not self.env["ir.cron.trigger"].sudo().search_count(
                [("cron_id", "=", cron.id), ("call_at", "<=", next_due)], limit=1
            ):
                cron._trigger(at=next_due)
        return done

    # Channels sent concurrently, their outcomes stored at the end of the batch. Others (group robots,
    # whose rate limit counts the sends already stored, and channels added by other addons) are sent one
    # after the other and stored after each send.
    _WECOM_BATCHED_CHANNELS = ("application",)

    def _wecom_send_batch(self, deadline=None, flight=None):
        """Send these claimed messages once each and store every outcome.

        One message's failure never stops or undoes the others, without a savepoint per message: an
        attempt writes nothing on its usual path, its outcome is kept in memory, and the batch's outcomes
        are stored together (:meth:`_wecom_store_outcomes`). A failure that aborted the transaction is
        rolled back to the batch's savepoint and the outcomes gathered so far are stored again: a message
        sent is never forgotten (it would be resent). A lost database connection stops the batch: what is
        not stored is resent after the claim lease, with WeCom's duplicate check.

        :param float deadline: ``time.monotonic()`` after which no message is sent any more (slow answers,
            timeouts): the rest is released unsent, due again at once, before its claim could expire while
            this sender still holds it (another sender would send it too)
        :param flight: the drain's concurrent sends (:class:`Flight`): the sends of this batch still in
            flight at its end are stored with the next batch. Without it, the batch waits for its own sends.
        :return: the number of messages tried
        :rtype: int
        """
        batch_savepoint = self.env.cr.savepoint()
        outcomes, stored = [], 0
        released = self.browse()
        own_flight = flight is None
        flight = flight or Flight(self)
        flight.new_batch()
        flight.load(self.filtered(lambda m: m.channel in self._WECOM_BATCHED_CHANNELS))
        for index, message in enumerate(self):
            if message.channel in self._WECOM_BATCHED_CHANNELS:
                flight.make_room(message.application_id)  # before the deadline: waiting may pass it
            if deadline is not None and time.monotonic() > deadline:
                released = self[index:]
                _logger.warning(
                    "WeCom outbox: batch too slow, %s message(s) released unsent: %s", len(released), released.ids
                )
                outcomes += [(message_id, {"claimed_at": False}) for message_id in released.ids]
                break
            channel, try_count = message.channel, message.try_count
            try:
                if channel in self._WECOM_BATCHED_CHANNELS:
                    flight.submit(message)
                    continue
                values = message._wecom_attempt()[0]
            except Exception as exc:  # noqa: BLE001 - one message must never stop the others
                _logger.exception("WeCom outbox: message %s failed unexpectedly", message.id)
                if self._wecom_transaction_aborted():
                    batch_savepoint.rollback()  # raises when the connection is lost: the batch stops
                    self._wecom_store_outcomes(outcomes)  # again: the rollback undid those stored
                    flight.restore()
                    stored = len(outcomes)
                values = self._wecom_unexpected_values(exc, try_count + 1)
            outcomes.append((message.id, values))
            if channel not in self._WECOM_BATCHED_CHANNELS:
                self._wecom_store_outcomes(outcomes[stored:])
                stored = len(outcomes)
        if own_flight:
            flight.finish()
        flight.store_collected(force=True)
        self._wecom_store_outcomes(outcomes[stored:])
        batch_savepoint.close(rollback=False)
        return len(self) - len(released)

    # ================================================================== outcomes
    # Storing the outcomes of the outbox's tries, and what happens once they are stored.
    #
    # The drain keeps each try's outcome in memory (the section "one try" computes the values) and stores a
    # chunk of them at once with :meth:`WeComMessage._wecom_store_outcomes`; :meth:`_wecom_outcomes_stored` then
    # runs on the messages of the chunk (the hook for addons; it notes partial sends and failures in the chatter).

    @api.model
    def _wecom_store_outcomes(self, outcomes, isolate=True):
        """Store ``[(message id, values)]`` (a later outcome of a message wins), then call
        :meth:`_wecom_outcomes_stored` on those messages.

        When the store fails (a value the database refuses), the outcomes are stored one by one and the one
        that fails gets an ``unknown`` failure instead, so the others are kept.

        :param bool isolate: fall back to one by one when the store fails (False: raise)
        """
        if not outcomes:
            return
        self.env.flush_all()  # pending writes first, so that a failure below is the outcomes' own
        try:
            with self.env.cr.savepoint():  # flushed before it is released: a refused value fails here
                messages = self._wecom_write_outcomes(outcomes)
        except Exception as exc:
            if not isolate or self._wecom_transaction_aborted():
                raise
            if len(outcomes) > 1:
                for outcome in outcomes:
                    self._wecom_store_outcomes([outcome])
                return
            message_id, values = outcomes[0]
            _logger.exception("WeCom outbox: could not store the outcome of message %s", message_id)
            self._wecom_store_outcomes(
                [(message_id, self._wecom_unexpected_values(exc, values.get("try_count", 0)))], isolate=False
            )
            return
        messages._wecom_outcomes_stored()

    @api.model
    def _wecom_write_outcomes(self, outcomes):
        """Write ``[(message id, values)]`` with ``write()``, once per set of equal values (as ``sms.sms``
        stores its outcomes): the ORM's cache, dependents, constraints and flush stay its own, and the
        database gets one ``UPDATE`` per set of fields when the chunk is flushed.

        An override of ``write()`` sees the outcomes; to react to them, override :meth:`_wecom_outcomes_stored`.

        :return: the messages written
        """
        merged = {}
        for message_id, values in outcomes:
            merged.setdefault(message_id, {}).update(values)
        groups = {}  # values as a key -> (values, [message id, ...])
        for message_id, values in merged.items():
            try:
                key = tuple(sorted(values.items()))
                hash(key)
            except TypeError:  # a value that cannot be a key: a group of its own
                key = ("message", message_id)
            groups.setdefault(key, (values, []))[1].append(message_id)
        for values, ids in groups.values():
            self.browse(ids).with_context(tracking_disable=True).write(values)
        return self.browse(list(merged))

    def _wecom_outcomes_stored(self):
        """Called on the messages whose outcomes were just stored, in the cron's transaction (their new
        state, ``msgid``, ``failure_reason``… are in the cache). Addons override it to react to sends and
        failures; the default notes the outcomes an admin acts on (:meth:`_wecom_log_outcomes`)."""
        self._wecom_log_outcomes()

    def _wecom_log_outcomes(self):
        """Note the outcomes an admin acts on in the messages' chatter: partial sends and failures.

        A plain "sent" is not noted: the state, the sent date and WeCom's message id say it, and a note per
        message would cost the drain more than the send. The failure stays in the chatter after a retry clears
        ``failure_reason``.
        """
        bodies = {}
        for message in self.filtered(lambda m: m.state in ("partial", "exception")):
            message = message.with_context(lang=message._wecom_reader_lang())  # noqa: PLW2901
            if message.state == "partial":
                text = message.env._(
                    "Sent to WeCom (message id %(msgid)s); WeCom refused some recipients: %(invalid)s.",
                    msgid=message.msgid or "-",
                    invalid=message.invalid_users or message.invalid_parties or message.invalid_tags or "-",
                )
            else:
                text = message.env._("Not sent: %(reason)s", reason=message.failure_reason or "-")
            bodies[message.id] = Markup("<p>%s</p>") % text
        if bodies:
            self.browse(list(bodies))._message_log_batch(bodies)
        # and in WeCom > Configuration > Logs: one entry per reason, with the messages' ids
        failed = {}
        for message in self.filtered(lambda m: m.state == "exception"):
            failed.setdefault(message.failure_reason or "-", []).append(message.id)
        for reason, ids in failed.items():
            self.browse(ids)._wecom_note_failure(f"{len(ids)} message(s) not sent: {reason}", "send")

    # ------------------------------------------------------------------ telling the open views
    # A form or list of messages open in a browser reloads itself when the outbox changes its messages (the
    # wecom_message_form / wecom_message_list views): one bus notification per reader, with the ids changed, sent
    # when the transaction commits (the bus creates its rows in precommit and wakes the tabs after the commit).

    def _wecom_changed(self):
        """The outbox changed these messages: a drain notifies them with the rest of its batch
        (:meth:`_wecom_gather_changes`); any other transaction (a button, Send Now, code) when it commits."""
        gathered = _DRAIN_CHANGED.get()
        if gathered is not None:
            gathered.update(self.ids)
            return
        data = self.env.cr.precommit.data
        if _PRECOMMIT_CHANGED not in data:
            data[_PRECOMMIT_CHANGED] = set()
            model = self.browse()

            @self.env.cr.precommit.add
            def notify():
                model.browse(sorted(data.pop(_PRECOMMIT_CHANGED, ())))._wecom_bus_notify()

        data[_PRECOMMIT_CHANGED].update(self.ids)

    @contextmanager
    def _wecom_gather_changes(self):
        """Within this block (a drain), the messages the outbox changes are notified together: at each
        :meth:`_wecom_notify_gathered` (right before the drain commits a batch) and at the end of the block.
        A flushing savepoint runs the precommit hooks, and the drain stores a chunk of outcomes (a robot's
        message alone) in one: left to the precommit, every chunk would be a notification."""
        token = _DRAIN_CHANGED.set(set())
        try:
            yield
            self._wecom_notify_gathered()
        finally:
            _DRAIN_CHANGED.reset(token)

    def _wecom_notify_gathered(self):
        """Notify the messages the drain changed since the last call (they are stored with its transaction)."""
        gathered = _DRAIN_CHANGED.get()
        if gathered:
            ids = sorted(gathered)
            gathered.clear()
            self.browse(ids)._wecom_bus_notify()

    def _wecom_bus_notify(self):
        """Send :data:`BUS_CHANGED` (``{"ids": [...]}``) once to each partner who may read some of these messages,
        with the ids it may read: their authors (if still WeCom users of the message's company) and the WeCom
        managers of the messages' companies. Nobody else learns that a message exists or changed."""
        messages = self.sudo().exists()
        if not messages:
            return
        users = self.env["res.users"].sudo()
        managers = users.search([(compat.ALL_USER_GROUPS, "in", self.env.ref(const.MANAGER_GROUP).id)])
        company_managers = {}  # company -> its WeCom managers
        wecom_users = {}  # author -> whether they are a WeCom user
        readers = defaultdict(list)  # partner -> ids of messages it may read
        for message in messages:
            company = message.company_id
            if company not in company_managers:
                company_managers[company] = managers.filtered(lambda user: company in user.company_ids)  # noqa: B023
            seen = company_managers[company]
            author = message.create_uid
            if author and author not in seen and author.active and company in author.company_ids:
                if author not in wecom_users:
                    wecom_users[author] = author.has_group(const.USER_GROUP)
                if wecom_users[author]:
                    seen |= author
            for partner in seen.partner_id:
                readers[partner].append(message.id)
        for partner, ids in readers.items():
            compat.bus_send(partner, BUS_CHANGED, {"ids": ids})

    def _wecom_transaction_aborted(self):
        """The current transaction failed (a query error) and refuses every query until rolled back."""
        return compat.transaction_aborted(self.env.cr)


class WeComMessageArticle(models.Model):
    _name = "wecom.message.article"
    _description = "WeCom News Article"
    _order = "sequence, id"

    message_id = fields.Many2one("wecom.message", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    title = fields.Char(required=True)
    description = fields.Char()
    url = fields.Char(string="URL", required=True)
    picurl = fields.Char(string="Picture URL")

    def _wecom_payload(self):
        return payloads.article(self.title, self.url, description=self.description, picurl=self.picurl)
