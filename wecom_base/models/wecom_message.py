import base64
import hashlib
import inspect
import json
import logging
import random
import time
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup
from psycopg2.extensions import TRANSACTION_STATUS_INTRANS

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.mail import generate_tracking_message_id

from .. import compat, const
from ..lib import WeComApiError, WeComError, WeComNetworkError, WeComTokenError
from ..lib.errcodes import VALIDATION, errcodes_of_kind
from .wecom_base import retention_cutoff, unlink_in_batches

_logger = logging.getLogger(__name__)


FINAL_STATES = ("sent", "partial", "exception", "cancel")
DUPLICATE_CHECK_MAX = 4 * 3600

# errcode -> failure_type of a message that failed for good
PERMANENT_FAILURE_TYPES = {const.ERRCODE_ALL_RECIPIENTS_INVALID: "recipients", 82001: "recipients"}


ROBOT_MSGTYPES = ("text", "markdown", "image", "news", "file", "template_card")


class RobotThrottled(Exception):
    """The robot sent its 20 messages of the minute: wait ``wait`` seconds."""

    def __init__(self, wait):
        super().__init__(f"robot rate limit, wait {wait:.0f} s")
        self.wait = wait


def _split_ids(value):
    """``"a|b, c"`` or ``["a", "b"]`` -> ``["a", "b", "c"]`` (empty parts dropped, order kept, no duplicates)."""
    if not value:
        return []
    if isinstance(value, str):
        parts = value.replace(",", "|").replace("\n", "|").split("|")
    else:
        parts = [str(part) for part in value]
    seen, result = set(), []
    for part in (p.strip() for p in parts):
        if part and part not in seen:
            seen.add(part)
            result.append(part)
    return result


def _utf8_len(text):
    return len((text or "").encode("utf-8"))


class WeComMessage(models.Model):
    """The WeCom outbox: one row per message, sent by a cron with retries, or at once by a button."""

    _name = "wecom.message"
    _inherit = ["wecom.base", "mail.thread"]
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
    content = fields.Text(help="Text or Markdown content (at most 2048 bytes).")
    title = fields.Char(help="Title of a text card or template card (text card: at most 128 bytes).")
    description = fields.Text(help="Description of a text card or template card (text card: at most 512 bytes).")
    url = fields.Char(string="URL")
    btntxt = fields.Char(string="Button Text", help="Text card button text (at most 4 characters).")
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
    duplicate_check_interval = fields.Integer(default=1800, help="Seconds (at most 4 hours).")

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
    try_count = fields.Integer(copy=False, readonly=True)
    next_try_date = fields.Datetime(copy=False, readonly=True, index=True)
    claimed_at = fields.Datetime(copy=False, readonly=True, help="When a sender took the message (in flight).")
    resend_duplicate_check = fields.Boolean(
        copy=False,
        readonly=True,
        help="The previous attempt may have reached WeCom: resend with WeCom's duplicate check on.",
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
    def _wecom_check_sender(self):
        if not (self.env.su or self.env.user.has_group(const.USER_GROUP)):
            raise AccessError(_("Only WeCom users can send WeCom messages."))

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
        users = _split_ids(self.user_ids.mapped("wecom_userid")) + _split_ids(self.to_userids)
        users = [user for user in dict.fromkeys(users) if user != "@all"]
        return {"touser": users, "toparty": _split_ids(self.to_partyids), "totag": _split_ids(self.to_tagids)}

    # ------------------------------------------------------------------ validation
    def _wecom_validate(self):
        """Check everything WeCom would check, before the message is queued.

        :raise ValidationError: naming the field that is wrong
        """
        for message in self:
            message._wecom_validate_channel()
            recipients = message._wecom_recipients() if message.channel == "application" else None
            if recipients is not None:
                if not any(recipients.values()):
                    raise ValidationError(_("Recipients: give at least one user, department or tag."))
                for key, label, limit in (
                    ("touser", _("users"), 1000),
                    ("toparty", _("departments"), 100),
                    ("totag", _("tags"), 100),
                ):
                    if len(recipients[key]) > limit:
                        raise ValidationError(
                            _(
                                "Recipients: at most %(limit)s %(what)s per message, got %(count)s.",
                                limit=limit,
                                what=label,
                                count=len(recipients[key]),
                            )
                        )
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

    def _wecom_check_bytes(self, field_label, value, limit):
        if _utf8_len(value) > limit:
            raise ValidationError(
                _(
                    "%(field)s: at most %(limit)s bytes in UTF-8, got %(size)s.",
                    field=field_label,
                    limit=limit,
                    size=_utf8_len(value),
                )
            )

    def _wecom_validate__text(self):
        if not (self.content or "").strip():
            raise ValidationError(_("Content: a text message needs content."))
        self._wecom_check_bytes(_("Content"), self.content, 2048)

    def _wecom_validate__markdown(self):
        if not (self.content or "").strip():
            raise ValidationError(_("Content: a markdown message needs content."))
        self._wecom_check_bytes(_("Content"), self.content, 4096 if self.channel == "robot" else 2048)

    def _wecom_validate__textcard(self):
        if not self.title or not self.description or not self.url:
            raise ValidationError(_("Title, Description, URL: a text card needs all three."))
        self._wecom_check_bytes(_("Title"), self.title, 128)
        self._wecom_check_bytes(_("Description"), self.description, 512)
        if self.btntxt and len(self.btntxt) > 4:
            raise ValidationError(_("Button Text: at most 4 characters."))

    def _wecom_validate__news(self):
        if not 1 <= len(self.article_ids) <= 8:
            raise ValidationError(
                _("Articles: a news message has 1 to 8 articles, got %(count)s.", count=len(self.article_ids))
            )
        for article in self.article_ids:
            if not article.title or not article.url:
                raise ValidationError(_("Articles: every article needs a title and a URL."))
            self._wecom_check_bytes(_("Article title"), article.title, 128)
            self._wecom_check_bytes(_("Article description"), article.description, 512)

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

    # ------------------------------------------------------------------ payloads
    def _wecom_prepare_payload(self):
        """The JSON body of ``message/send`` for this message.

        The common part (recipients, agent id, options) is built here; the type's own part by
        ``_wecom_prepare_payload__<msgtype>()``, so an addon adds a message type by adding that method.
        """
        self.ensure_one()
        builder = getattr(self, f"_wecom_prepare_payload__{self.msgtype}", None)
        if builder is None:
            raise ValidationError(_("Type: %(type)s cannot be sent by this channel.", type=self.msgtype))
        recipients = self._wecom_recipients()
        payload = {}
        for key in ("touser", "toparty", "totag"):
            if recipients[key]:
                payload[key] = "|".join(recipients[key])
        payload.update({"msgtype": self.msgtype, "agentid": self.application_id.agent_id})
        payload[self.msgtype] = builder()
        payload["safe"] = int(self.safe or 0)
        payload["enable_id_trans"] = int(self.enable_id_trans)
        duplicate_check = self.enable_duplicate_check or self.resend_duplicate_check
        payload["enable_duplicate_check"] = int(duplicate_check)
        if duplicate_check:
            interval = self.duplicate_check_interval or 1800
            if self.resend_duplicate_check:
                interval = DUPLICATE_CHECK_MAX
            payload["duplicate_check_interval"] = interval
        return payload

    def _wecom_prepare_payload__text(self):
        return {"content": self.content}

    def _wecom_prepare_payload__markdown(self):
        return {"content": self.content}

    def _wecom_prepare_payload__textcard(self):
        card = {"title": self.title, "description": self.description, "url": self.url}
        if self.btntxt:
            card["btntxt"] = self.btntxt
        return card

    def _wecom_prepare_payload__news(self):
        return {"articles": [article._wecom_payload() for article in self.article_ids]}

    def _wecom_prepare_payload__image(self):
        return {"media_id": self._wecom_media_id("image")}

    def _wecom_prepare_payload__file(self):
        return {"media_id": self._wecom_media_id("file")}

    def _wecom_prepare_payload__template_card(self):
        card = {
            "card_type": "text_notice",
            "main_title": {"title": self.title or "", "desc": self.description or ""},
            "card_action": {"type": 1, "url": self.url} if self.url else {"type": 0},
        }
        if self.content:
            card["sub_title_text"] = self.content
        card.update(self.card or {})
        return card

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

    # ------------------------------------------------------------------ the send API
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
        duplicate_check_interval=1800,
        **unknown,
    ):
        """Queue a WeCom application message; the outbox cron sends it (retries included).

        One call for addon code and for RPC clients (``execute_kw(db, uid, key, "wecom.message",
        "wecom_send", [application_id], {"userids": ["zhangsan"], "content": "Hello"})``).

        :param application: ``wecom.application`` record or id
        :param str msgtype: text, markdown, textcard, news, image, file or template_card
        :param str content: text/markdown content (≤ 2048 bytes), or a template card's sub-title
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
        :param int duplicate_check_interval: seconds, at most 14400
        :return: the queued message (its id over RPC)
        :raise AccessError: the caller is not a WeCom user
        :raise ValidationError: an argument is wrong (the message says which and why)
        """
        self._wecom_check_sender()
        self._wecom_check_send_arguments(application, unknown)
        vals = self._wecom_send_values(
            application=application,
            msgtype=msgtype,
            content=content,
            users=users,
            userids=userids,
            parties=parties,
            tags=tags,
            to_all=to_all,
            title=title,
            description=description,
            url=url,
            btntxt=btntxt,
            articles=articles,
            attachment=attachment,
            card=card,
            safe=safe,
            enable_id_trans=enable_id_trans,
            enable_duplicate_check=enable_duplicate_check,
            duplicate_check_interval=duplicate_check_interval,
        )
        with self.env.cr.savepoint():  # a refused message leaves nothing behind
            message = self.create(vals)
            message.action_send()
        return message

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
        :param str content: text (≤ 2048 bytes) or markdown (≤ 4096 bytes)
        :param mentioned_userids: text: WeCom user ids to @mention
        :param mentioned_mobiles: text: mobile numbers to @mention
        :param bool mention_all: text: @all
        :return: the queued message (its id over RPC)
        :raise AccessError: the caller is not a WeCom user
        :raise ValidationError: an argument is wrong
        """
        self._wecom_check_sender()
        if isinstance(robot, models.BaseModel):
            robot_record = robot if robot._name == "wecom.robot" and len(robot) == 1 else None
        elif isinstance(robot, int) and not isinstance(robot, bool):
            robot_record = self.env["wecom.robot"].browse(robot)
            try:
                robot_record = robot_record if robot_record.exists() else None
                if robot_record:
                    robot_record.check_access("read")
            except AccessError:
                robot_record = None
        else:
            robot_record = None
        if not robot_record:
            raise ValidationError(_("Argument robot: no WeCom group robot with id %(id)s.", id=robot))
        if msgtype not in ROBOT_MSGTYPES:
            raise ValidationError(
                _(
                    "Argument msgtype: %(value)r is not one of %(allowed)s.",
                    value=msgtype,
                    allowed=", ".join(ROBOT_MSGTYPES),
                )
            )
        vals = self._wecom_send_values(
            application=None,
            msgtype=msgtype,
            content=content,
            users=None,
            userids=None,
            parties=None,
            tags=None,
            to_all=False,
            title=title,
            description=description,
            url=url,
            btntxt=None,
            articles=articles,
            attachment=attachment,
            card=card,
            safe=0,
            enable_id_trans=False,
            enable_duplicate_check=False,
            duplicate_check_interval=1800,
        )
        for name, value in (("mentioned_userids", mentioned_userids), ("mentioned_mobiles", mentioned_mobiles)):
            if value and not isinstance(value, (str, list, tuple)):
                raise ValidationError(_("Argument %(name)s: expected a list of strings.", name=name))
        if not isinstance(mention_all, bool):
            raise ValidationError(_("Argument mention_all: expected true or false."))
        vals.update(
            {
                "channel": "robot",
                "robot_id": robot_record.id,
                "company_id": robot_record.company_id.id,
                "application_id": False,
                "mentioned_userids": "|".join(_split_ids(mentioned_userids)) or False,
                "mentioned_mobiles": "|".join(_split_ids(mentioned_mobiles)) or False,
                "mention_all": mention_all,
            }
        )
        with self.env.cr.savepoint():
            message = self.create(vals)
            message.action_send()
        return message

    def _wecom_check_send_arguments(self, application, unknown):
        """Refuse what Python would refuse with a bare ``TypeError`` (a traceback for an RPC client).

        :param application: the ``application`` argument of :meth:`wecom_send` (required)
        :param dict unknown: keyword arguments :meth:`wecom_send` does not take
        :raise ValidationError: naming the argument and why it is wrong
        """
        if unknown:
            known = [
                name
                for name, parameter in inspect.signature(WeComMessage.wecom_send).parameters.items()
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

    def _wecom_check_send_recipients(self, user_ids, to_userids, to_partyids, to_tagids, to_all):
        """Check the recipient arguments of :meth:`wecom_send`: at least one recipient unless ``to_all``,
        and WeCom's limits per message (1000 users, 100 departments, 100 tags).

        :raise ValidationError: naming the argument that is wrong and why
        """
        if to_all:
            return
        given_userids = _split_ids(to_userids)
        userids = [userid for userid in given_userids if userid != "@all"]
        parties, tags = _split_ids(to_partyids), _split_ids(to_tagids)
        if not (user_ids or userids or parties or tags):
            if given_userids:
                raise ValidationError(
                    self.env._(
                        'Argument userids: "@all" is not a recipient; pass to_all=True to send to everyone the '
                        "application sees."
                    )
                )
            raise ValidationError(
                self.env._(
                    "Recipients: give at least one user, department or tag (arguments users, userids, parties, tags), "
                    "or pass to_all=True to send to everyone the application sees."
                )
            )
        for name, values, label, limit in (
            ("userids", userids, self.env._("users"), 1000),
            ("parties", parties, self.env._("departments"), 100),
            ("tags", tags, self.env._("tags"), 100),
        ):
            if len(values) > limit:
                raise ValidationError(
                    self.env._(
                        "Argument %(name)s: at most %(limit)s %(what)s per message, got %(count)s.",
                        name=name,
                        limit=limit,
                        what=label,
                        count=len(values),
                    )
                )
        if user_ids:
            everyone = dict.fromkeys(self.env["res.users"].browse(user_ids).mapped("wecom_userid") + userids)
            everyone.pop(False, None)
            if len(everyone) > 1000:
                raise ValidationError(
                    self.env._(
                        "Arguments users and userids: at most 1000 users per message together, got %(count)s.",
                        count=len(everyone),
                    )
                )

    def _wecom_send_values(  # noqa: C901 - one check per documented argument of wecom_send, in order
        self,
        application,
        msgtype,
        content,
        users,
        userids,
        parties,
        tags,
        to_all,
        title,
        description,
        url,
        btntxt,
        articles,
        attachment,
        card,
        safe,
        enable_id_trans,
        enable_duplicate_check,
        duplicate_check_interval,
    ):
        def check_type(name, value, types, type_label):
            if value is not None and value is not False and not isinstance(value, types):
                raise ValidationError(
                    self.env._(
                        "Argument %(name)s: expected %(expected)s, got %(got)s.",
                        name=name,
                        expected=type_label,
                        got=type(value).__name__,
                    )
                )

        def ids_of(name, value, model):
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

        def id_list(name, value):
            check_type(name, value, (str, list, tuple), self.env._("a list of strings or a |-separated string"))
            if isinstance(value, (list, tuple)) and not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
            ):
                raise ValidationError(
                    self.env._("Argument %(name)s: every id must be a string or a number.", name=name)
                )
            return "|".join(_split_ids(value)) or False

        if application is None:
            app = self.env["wecom.application"]
        elif isinstance(application, models.BaseModel):
            if application._name != "wecom.application" or len(application) != 1:
                raise ValidationError(self.env._("Argument application: expected one wecom.application."))
            app = application
        elif isinstance(application, int) and not isinstance(application, bool):
            app = self.env["wecom.application"].browse(application)
            try:
                exists = bool(app.exists())
            except AccessError:
                exists = False
            if not exists:
                raise ValidationError(
                    self.env._("Argument application: no WeCom application with id %(id)s.", id=application)
                )
        else:
            raise ValidationError(
                self.env._(
                    "Argument application: expected a wecom.application id, got %(got)s.",
                    got=type(application).__name__,
                )
            )
        try:
            if app:
                app.check_access("read")
        except AccessError:
            raise ValidationError(
                self.env._("Argument application: no WeCom application with id %(id)s.", id=app.id)
            ) from None
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
            check_type(name, value, str, self.env._("a string"))
        check_type("to_all", to_all, bool, self.env._("true or false"))
        check_type("card", card, dict, self.env._("an object"))
        check_type("articles", articles, (list, tuple), self.env._("a list of objects"))
        if safe not in (0, 1, 2, "0", "1", "2"):
            raise ValidationError(self.env._("Argument safe: 0, 1 or 2."))
        check_type("duplicate_check_interval", duplicate_check_interval, int, self.env._("a number of seconds"))
        article_commands = []
        for article in articles or []:
            if not isinstance(article, dict):
                raise ValidationError(
                    self.env._("Argument articles: every article is an object with title, description, url, picurl.")
                )
            unknown = set(article) - {"title", "description", "url", "picurl"}
            if unknown:
                raise ValidationError(
                    self.env._("Argument articles: unknown keys %(keys)s.", keys=", ".join(sorted(unknown)))
                )
            article_commands.append(
                (0, 0, {key: article.get(key) or False for key in ("title", "description", "url", "picurl")})
            )
        attachment_ids = ids_of("attachment", attachment, "ir.attachment")
        user_ids = ids_of("users", users, "res.users")
        to_userids = id_list("userids", userids)
        to_partyids = id_list("parties", parties)
        to_tagids = id_list("tags", tags)
        if application is not None:
            self._wecom_check_send_recipients(user_ids, to_userids, to_partyids, to_tagids, to_all)
        return {
            "channel": "application",
            "application_id": app.id or False,
            "company_id": app.company_id.id or self.env.company.id,
            "msgtype": msgtype,
            "content": content or False,
            "user_ids": [(6, 0, user_ids)],
            "to_userids": to_userids,
            "to_partyids": to_partyids,
            "to_tagids": to_tagids,
            "to_all": bool(to_all),
            "title": title or False,
            "description": description or False,
            "url": url or False,
            "btntxt": btntxt or False,
            "article_ids": article_commands,
            "attachment_id": attachment_ids[0] if attachment_ids else False,
            "card": card or None,
            "safe": str(safe),
            "enable_id_trans": bool(enable_id_trans),
            "enable_duplicate_check": bool(enable_duplicate_check),
            "duplicate_check_interval": duplicate_check_interval or 1800,
        }

    # ------------------------------------------------------------------ buttons
    def action_send(self):
        """Queue the messages (validated first); the outbox cron sends them right away."""
        self._wecom_check_sender()
        todo = self.filtered(lambda m: m.state in ("draft", "exception", "cancel"))
        todo._wecom_validate()
        todo.write(
            {
                "state": "outgoing",
                "failure_type": False,
                "failure_reason": False,
                "try_count": 0,
                "next_try_date": False,
                "claimed_at": False,
            }
        )
        if todo:
            self.env.ref("wecom_base.ir_cron_wecom_message_queue")._trigger()
        return True

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
        pending.write({"state": "cancel", "next_try_date": False})
        return True

    def action_send_now(self):
        """Send at once (interactive): a failure raises a clear error and the message stays as it was."""
        self.ensure_one()
        self._wecom_check_sender()
        if self.state in ("sent", "partial"):
            raise UserError(_("This message was already sent."))
        self._wecom_validate()
        self._wecom_lock_for_send()
        self._wecom_send_one(raise_errors=True)
        return True

    def action_recall(self):
        """Recall sent application messages (WeCom allows it within 24 hours)."""
        self._wecom_check_sender()
        limit = fields.Datetime.now() - timedelta(hours=24)
        for message in self:
            if message.channel != "application" or message.state not in ("sent", "partial") or not message.msgid:
                raise UserError(_("Only sent application messages can be recalled."))
            if message.recalled:
                raise UserError(_("This message was already recalled."))
            if not message.sent_date or message.sent_date < limit:
                raise UserError(_("WeCom only recalls messages sent less than 24 hours ago."))
            try:
                message._wecom_call(const.PATH_MESSAGE_RECALL, payload={"msgid": message.msgid})
            except WeComError as exc:
                message.handle_wecom_error(exc)
            message.write({"recalled": True, "recall_date": fields.Datetime.now()})
            message.message_post(body=_("Recalled from WeCom."))
        return True

    def _wecom_lock_for_send(self):
        self.env.cr.execute("SELECT id FROM wecom_message WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", [self.id])
        if not self.env.cr.rowcount:
            raise UserError(_("This message is being sent right now; wait a moment."))
        self.invalidate_recordset()
        if self.state in ("sent", "partial"):
            raise UserError(_("This message was already sent."))
        lease = timedelta(seconds=self._wecom_claim_lease())
        if self.state == "outgoing" and self.claimed_at and self.claimed_at > fields.Datetime.now() - lease:
            raise UserError(_("This message is being sent right now; wait a moment."))

    # ------------------------------------------------------------------ sending
    def _wecom_max_tries(self):
        icp = self.env["ir.config_parameter"].sudo()
        try:
            return max(1, int(icp.get_param(const.PARAM_MESSAGE_MAX_TRIES) or const.MESSAGE_MAX_TRIES))
        except ValueError:
            return const.MESSAGE_MAX_TRIES

    def _wecom_send_one(self, raise_errors=False):
        """Send this message once: build, call, store the outcome (sent, partial, retry later or failed).

        :param bool raise_errors: interactive use: raise a translated error instead of storing a failure
        :raise UserError: only with ``raise_errors``, when WeCom refused or could not be reached
        """
        self.ensure_one()
        values, data = self._wecom_attempt(raise_errors=raise_errors)
        self.write(values)
        self._wecom_log_outcomes()
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
            }, None
        except WeComError as exc:
            if raise_errors:
                self.handle_wecom_error(exc)
            return self._wecom_failure_values(exc, try_count), None
        return self._wecom_success_values(data, try_count), data

    def _wecom_send__robot(self):
        robot = self.robot_id
        wait = self._wecom_robot_wait()
        if wait:
            raise RobotThrottled(wait)
        payload = self._wecom_prepare_robot_payload()
        return self._wecom_client().robot_send(robot._wecom_robot_key(), payload)

    def _wecom_robot_wait(self):
        """Seconds to wait before this robot may send again (WeCom accepts 20 messages a minute per robot)."""
        self.flush_model(["sent_date", "robot_id", "state", "channel"])
        self.env.cr.execute(
            """
            SELECT COUNT(*), MIN(sent_date) FROM wecom_message
             WHERE robot_id = %s AND channel = 'robot' AND state IN ('sent', 'partial')
               AND sent_date > CLOCK_TIMESTAMP() AT TIME ZONE 'UTC' - INTERVAL '60 seconds'
            """,
            [self.robot_id.id],
        )
        count, oldest = self.env.cr.fetchone()
        if count < const.ROBOT_MESSAGES_PER_MINUTE:
            return 0
        return max(1.0, 60 - (fields.Datetime.now() - oldest).total_seconds() + 1)

    def _wecom_prepare_robot_payload(self):
        """The JSON body of ``webhook/send``; the type's part comes from
        ``_wecom_prepare_robot_payload__<msgtype>()`` or, failing that, ``_wecom_prepare_payload__<msgtype>()``."""
        self.ensure_one()
        builder = getattr(self, f"_wecom_prepare_robot_payload__{self.msgtype}", None) or getattr(
            self, f"_wecom_prepare_payload__{self.msgtype}", None
        )
        if builder is None or self.msgtype not in ROBOT_MSGTYPES:
            raise ValidationError(_("Type: a group robot cannot send %(type)s messages.", type=self.msgtype))
        return {"msgtype": self.msgtype, self.msgtype: builder()}

    def _wecom_prepare_robot_payload__text(self):
        body = {"content": self.content}
        mentioned = _split_ids(self.mentioned_userids)
        if self.mention_all:
            mentioned.append("@all")
        if mentioned:
            body["mentioned_list"] = mentioned
        mobiles = _split_ids(self.mentioned_mobiles)
        if mobiles:
            body["mentioned_mobile_list"] = mobiles
        return body

    def _wecom_prepare_robot_payload__image(self):
        content = base64.b64decode(self.attachment_id.sudo().datas or b"")
        return {"base64": base64.b64encode(content).decode("ascii"), "md5": hashlib.md5(content).hexdigest()}

    def _wecom_prepare_robot_payload__file(self):
        if self._wecom_media_fresh():
            return {"media_id": self.media_id}
        attachment = self.attachment_id.sudo()
        media_id = self._wecom_client().robot_upload(
            self.robot_id._wecom_robot_key(),
            attachment.name or "file",
            base64.b64decode(attachment.datas or b""),
            mimetype=attachment.mimetype or "application/octet-stream",
        )
        self.write({"media_id": media_id, "media_uploaded_at": fields.Datetime.now()})
        return {"media_id": media_id}

    def _wecom_send__application(self):
        app = self.application_id
        payload = self._wecom_prepare_payload()
        return app._wecom_with_token(lambda client, token: client.send_message(token, payload))

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
            **invalid,
        }

    def _wecom_retry_delay(self, error, try_count=None):
        """Seconds to wait before the next try: exponential backoff with jitter (45009: at least a minute).

        :param int try_count: tries made so far, this one included (default: the stored count)
        """
        tries = self.try_count if try_count is None else try_count
        base = min(const.MESSAGE_RETRY_BASE * (2 ** max(tries - 1, 0)), const.MESSAGE_RETRY_MAX)
        if isinstance(error, WeComApiError) and error.errcode == const.ERRCODE_API_FREQ_LIMIT:
            base = max(base, 60)
        return base * random.uniform(0.8, 1.2)

    def _wecom_failure_values(self, error, try_count):
        reason = self._wecom_error_message(error)
        retryable = error.retryable or isinstance(error, WeComTokenError)
        if retryable and try_count < self._wecom_max_tries():
            return {
                "state": "outgoing",
                "try_count": try_count,
                "failure_reason": reason,
                "next_try_date": fields.Datetime.now() + timedelta(seconds=self._wecom_retry_delay(error, try_count)),
                "claimed_at": False,
                # a timeout or a dropped connection may hide a delivery: let WeCom drop a second copy
                "resend_duplicate_check": self.resend_duplicate_check or isinstance(error, WeComNetworkError),
            }
        if retryable:
            failure_type = "retry_exhausted"
            reason = _("Gave up after %(tries)s tries. Last error: %(reason)s", tries=try_count, reason=reason)
        elif error.kind in ("config", "response"):
            failure_type = "config"
        elif isinstance(error, WeComApiError) and error.errcode in PERMANENT_FAILURE_TYPES:
            failure_type = PERMANENT_FAILURE_TYPES[error.errcode]
        elif isinstance(error, WeComApiError) and error.errcode in errcodes_of_kind(VALIDATION):
            failure_type = "content"
        else:
            failure_type = "permanent"
        return {
            "state": "exception",
            "try_count": try_count,
            "failure_type": failure_type,
            "failure_reason": reason,
            "next_try_date": False,
            "claimed_at": False,
            "response": json.dumps(self.format_wecom_response(error), ensure_ascii=False),
        }

    # ------------------------------------------------------------------ the queue
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
        value = self.env["ir.config_parameter"].sudo().get_param(const.PARAM_MESSAGE_CLAIM_LEASE)
        return int(value) if value else const.MESSAGE_CLAIM_LEASE

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
            with self.env.registry.cursor() as cr:
                if not compat.registry_in_test_mode(self.env.registry):
                    cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", [const.PARAM_MESSAGE_CLAIM_LEASE])
                row = cr.fetchone()
                cr.execute(self._CLAIM_QUERY, [int(row[0]) if row else const.MESSAGE_CLAIM_LEASE, limit])
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
    def _wecom_due_count(self):
        """Messages a sender could claim now: due, and not in flight under a claim younger than the lease
        (counting those made a drain re-trigger itself in a loop until the lease of a dead sender ended).
        """
        self.flush_model(["state", "next_try_date", "claimed_at"])
        self.env.cr.execute(
            """
            SELECT COUNT(*) FROM wecom_message
             WHERE state = 'outgoing'
               AND (next_try_date IS NULL OR next_try_date <= CLOCK_TIMESTAMP() AT TIME ZONE 'UTC')
               AND (claimed_at IS NULL OR claimed_at < CLOCK_TIMESTAMP() AT TIME ZONE 'UTC' - %s * INTERVAL '1 second')
            """,
            [self._wecom_claim_lease()],
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _wecom_next_due_date(self):
        """When the first queued message that cannot be claimed now will be: at its retry date, or when
        the lease of its claim ends (its sender may have died). None when no message waits.

        :rtype: datetime or None
        """
        self.flush_model(["state", "next_try_date", "claimed_at"])
        self.env.cr.execute(
            """
            SELECT MIN(GREATEST(next_try_date, claimed_at + %s * INTERVAL '1 second'))
              FROM wecom_message
             WHERE state = 'outgoing' AND (next_try_date IS NOT NULL OR claimed_at IS NOT NULL)
            """,
            [self._wecom_claim_lease()],
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _cron_process_queue(self, batch_size=None, max_batches=None):
        """Drain due messages in batches: one try/except per message, a commit after each batch (except
        under tests), and a new trigger while a backlog remains.

        :param int batch_size: messages per batch (system parameter ``wecom_base.message_batch_size``)
        :param int max_batches: stop after this many batches (the cron is re-triggered for the rest)
        :return: the number of messages processed
        :rtype: int
        """
        icp = self.env["ir.config_parameter"].sudo()
        batch_size = batch_size or int(icp.get_param(const.PARAM_MESSAGE_BATCH_SIZE) or const.MESSAGE_BATCH_SIZE)
        max_batches = max_batches or const.MESSAGE_MAX_BATCHES_PER_RUN
        auto_commit = compat.may_commit(self.env.cr)
        lease = self._wecom_claim_lease()
        done = 0
        for _batch in range(max_batches):
            if auto_commit:
                # the next snapshot of this transaction must see the claims
                self.env.cr.commit()  # pylint: disable=invalid-commit
            messages = self._wecom_claim_batch(batch_size, own_transaction=auto_commit)
            if not messages:
                break
            # end the batch well within the claim lease, or another sender would take its messages again
            done += messages._wecom_send_batch(deadline=time.monotonic() + lease / 2)
            if auto_commit:
                # a batch sent is stored for good
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

    # Channels whose outcomes may wait for the end of the batch. Others (group robots, whose rate limit
    # counts the sends already stored, and channels added by other addons) are stored after each send.
    _WECOM_BATCHED_CHANNELS = ("application",)

    def _wecom_send_batch(self, deadline=None):
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
        :return: the number of messages tried
        :rtype: int
        """
        cr = self.env.cr
        batch_savepoint = cr.savepoint()
        outcomes, stored = [], 0
        released = self.browse()
        for index, message in enumerate(self):
            if deadline is not None and time.monotonic() > deadline:
                released = self[index:]
                _logger.warning(
                    "WeCom outbox: batch too slow, %s message(s) released unsent: %s", len(released), released.ids
                )
                outcomes += [(message_id, {"claimed_at": False}) for message_id in released.ids]
                break
            channel, try_count = message.channel, message.try_count
            try:
                values = message._wecom_attempt()[0]
            except Exception as exc:  # noqa: BLE001 - one message must never stop the others
                _logger.exception("WeCom outbox: message %s failed unexpectedly", message.id)
                if self._wecom_transaction_aborted():
                    batch_savepoint.rollback()  # raises when the connection is lost: the batch stops
                    self._wecom_store_outcomes(outcomes)  # again: the rollback undid those stored
                    stored = len(outcomes)
                values = self._wecom_unexpected_values(exc, try_count + 1)
            outcomes.append((message.id, values))
            if channel not in self._WECOM_BATCHED_CHANNELS:
                self._wecom_store_outcomes(outcomes[stored:])
                stored = len(outcomes)
        self._wecom_store_outcomes(outcomes[stored:])
        self.browse([message_id for message_id, _values in outcomes])._wecom_log_outcomes()
        batch_savepoint.close(rollback=False)
        return len(self) - len(released)

    def _wecom_log_outcomes(self):
        """Note each message's final outcome (sent, partially sent, failed) in its chatter, in one batch."""
        if not self:
            return
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, state, msgid, invalid_users, failure_reason FROM wecom_message "
            "WHERE id IN %s AND state IN ('sent', 'partial', 'exception')",
            [tuple(self.ids)],
        )
        bodies = {}
        for message_id, state, msgid, invalid_users, reason in self.env.cr.fetchall():
            if state == "sent":
                text = self.env._("Sent to WeCom (message id %(msgid)s).", msgid=msgid or "-")
            elif state == "partial":
                text = self.env._(
                    "Sent to WeCom (message id %(msgid)s); WeCom refused some recipients: %(invalid)s.",
                    msgid=msgid or "-",
                    invalid=invalid_users or "-",
                )
            else:
                text = self.env._("Not sent: %(reason)s", reason=reason or "-")
            bodies[message_id] = Markup("<p>%s</p>") % text
        if bodies:
            self.browse(list(bodies))._wecom_insert_notes(bodies)

    def _wecom_insert_notes(self, bodies):
        """Insert chatter notes ``{message id: html body}`` with one INSERT, as ``_message_log_batch`` would
        create them (internal notes, no notification), without the ORM's per-record work: the outbox logs
        every outcome of every batch."""
        author_id, email_from = self._message_compute_author(None, None, raise_on_email=False)
        reply_to = self.env["mail.thread"]._notify_get_reply_to(default=email_from)[False]
        subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        now = self.env.cr.now()
        rows, params = [], []
        for message_id, body in bodies.items():
            rows.append("(%s, %s, %s, 'notification', %s, true, %s, %s, %s, %s, false, %s, %s, %s, %s, %s)")
            params += [
                self._name,
                message_id,
                str(body),
                subtype_id,
                author_id,
                email_from,
                reply_to,
                generate_tracking_message_id("message-notify"),
                now,
                self.env.uid,
                now,
                self.env.uid,
                now,
            ]
        self.env.cr.execute(
            "INSERT INTO mail_message (model, res_id, body, message_type, subtype_id, is_internal, author_id,"
            " email_from, reply_to, message_id, email_add_signature, date, create_uid, create_date, write_uid,"
            f" write_date) VALUES {', '.join(rows)}",
            params,
        )
        self.invalidate_recordset(["message_ids"], flush=False)
        self.env["mail.message"].invalidate_model()

    def _wecom_transaction_aborted(self):
        """The current transaction failed (a query error) and refuses every query until rolled back."""
        return self.env.cr._cnx.info.transaction_status != TRANSACTION_STATUS_INTRANS

    @api.model
    def _wecom_unexpected_values(self, exc, try_count):
        return {
            "state": "exception",
            "try_count": try_count,
            "failure_type": "unknown",
            "failure_reason": _("Unexpected error: %(error)s", error=str(exc)),
            "next_try_date": False,
            "claimed_at": False,
        }

    @api.model
    def _wecom_store_outcomes(self, outcomes, isolate=True):
        """Store ``[(message id, values)]``: one ``UPDATE … FROM (VALUES …)`` per set of fields written
        (sent and partial share one), instead of an ORM write per message.

        Only plain stored columns may appear in ``values`` (no relational, translated or company-dependent
        field). Stored fields that depend on them are recomputed as after an ORM write. When an UPDATE
        fails (a value the database refuses), its rows are stored one by one and the row that fails gets an
        ``unknown`` failure instead, so the others are kept.

        :param bool isolate: fall back to row by row when an UPDATE fails (False: raise)
        """
        if not outcomes:
            return
        self.env.flush_all()  # pending ORM writes first, so that none overwrites an outcome later
        groups = defaultdict(list)
        for message_id, values in outcomes:
            groups[tuple(sorted(values))].append((message_id, values))
        cr = self.env.cr
        for fnames, rows in groups.items():
            try:
                with cr.savepoint(flush=False):
                    self._wecom_update_rows(fnames, rows)
            except Exception as exc:
                if not isolate or self._wecom_transaction_aborted():
                    raise
                if len(rows) > 1:
                    for row in rows:
                        self._wecom_store_outcomes([row])
                    continue
                message_id, values = rows[0]
                _logger.exception("WeCom outbox: could not store the outcome of message %s", message_id)
                self._wecom_store_outcomes(
                    [(message_id, self._wecom_unexpected_values(exc, values.get("try_count", 0)))], isolate=False
                )

    def _wecom_update_rows(self, fnames, rows):
        fields_ = [self._fields[name] for name in fnames]
        for field in fields_:
            if (
                not field.store
                or not field.column_type
                or field.relational
                or field.translate
                or field.company_dependent
            ):
                raise ValueError(f"{field} cannot be stored as a message outcome")
        cr = self.env.cr
        row_sql = "(%s::int4" + "".join(f", %s::{field.column_type[0]}" for field in fields_) + ")"
        params = [self.env.uid, cr.now()]
        for message_id, values in rows:
            params.append(message_id)
            for field in fields_:
                value = values[field.name]
                params.append(bool(value) if field.type == "boolean" else (None if value is False else value))
        columns = ", ".join(f'"{name}"' for name in fnames)
        assignments = ", ".join(f'"{name}" = v."{name}"' for name in fnames)
        cr.execute(
            f'UPDATE "{self._table}" AS m SET {assignments}, "write_uid" = %s, "write_date" = %s '
            f'FROM (VALUES {", ".join([row_sql] * len(rows))}) AS v("id", {columns}) WHERE m."id" = v."id"',
            params,
        )
        messages = self.browse([row[0] for row in rows])
        messages.invalidate_recordset([*fnames, "write_uid", "write_date"], flush=False)
        messages.modified(fnames)

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
                ("state", "in", ("sent", "partial", "cancel")),
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
        article = {"title": self.title, "url": self.url}
        if self.description:
            article["description"] = self.description
        if self.picurl:
            article["picurl"] = self.picurl
        return article
