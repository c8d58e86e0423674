"""The JSON bodies the outbox sends: ``message/send`` for applications, ``webhook/send`` for group robots.

The common part is built by :meth:`_wecom_prepare_payload`, the type's own part by
``_wecom_prepare_payload__<msgtype>()`` (and ``_wecom_prepare_robot_payload__<msgtype>()`` where a robot's
body differs), so an addon adds a message type by adding that method. The shapes are in
``lib/payloads.py``; media are uploaded here, once.
"""

import base64
from datetime import timedelta

from odoo import _, fields, models
from odoo.exceptions import ValidationError

from ..lib import payloads


class WeComMessage(models.Model):
    _inherit = "wecom.message"

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
