"""``wecom_send`` and ``wecom_send_robot``: what addon code and RPC clients call to queue a message.

This layer only turns arguments into field values: it checks their types (an RPC client gets
"Argument …: expected …" rather than a traceback) and resolves "record or id" in one place
(:meth:`_wecom_resolve`). Then it creates the message and queues it with ``action_send``, which runs
the model's rules (``_wecom_validate``, in ``wecom_message.py``), the same for the form, the composer,
Python and RPC; under ``wecom_send`` those rules name the argument to fix.
"""

import inspect

from odoo import api, models
from odoo.exceptions import AccessError, ValidationError

from .. import compat
from ..lib.payloads import DUPLICATE_CHECK_DEFAULT, split_ids

ARTICLE_KEYS = ("title", "description", "url", "picurl")


class WeComMessage(models.Model):
    _inherit = "wecom.message"

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
