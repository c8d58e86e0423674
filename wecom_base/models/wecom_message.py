"""The WeCom outbox: the message, its rules and its buttons.

Where the rest lives: the arguments of ``wecom_send`` / ``wecom_send_robot`` (what addons and RPC
clients call) in ``wecom_message_send.py``; the JSON bodies in ``wecom_message_payload.py`` (shapes in
``lib/payloads.py``); one try and its outcome (retry or failure type) in ``wecom_message_attempt.py``;
claims, the drain and its concurrent sends in ``wecom_message_queue.py``; an application channel's outages
in ``wecom_message_channel.py``; the pacing per member in ``wecom_message_member_send.py``.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .. import compat, const
from ..lib import WeComError, payloads
from ..lib.payloads import (
    DUPLICATE_CHECK_MAX,
    MAX_PARTIES,
    MAX_TAGS,
    MAX_USERS,
    ROBOT_MSGTYPES,
    split_ids,
    utf8_len,
)
from ..tools import check_wecom_group, retention_cutoff, unlink_in_batches

_logger = logging.getLogger(__name__)

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
        "wecom.application", string="Application", index=True, check_company=True, ondelete="restrict"
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
    failure_reason = fields.Text(copy=False)
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
            message.name = (text[:60] + "…") if len(text) > 60 else (text or _("(no content)"))

    # ------------------------------------------------------------------ access
    def _wecom_outbox_may_write(self):
        """Outcome fields are written by the outbox (inside :func:`outbox_writes`) or by code running as
        superuser (the cron, ``sudo()``), never through a user's or an RPC client's ``write()``."""
        return self.env.su or _OUTBOX_WRITING.get()

    @api.model_create_multi
    def create(self, vals_list):
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
        return super().write(vals)

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
