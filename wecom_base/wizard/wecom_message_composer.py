from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools.misc import human_size

from .. import compat
from ..lib import payloads

# the types of application message the composer writes (template cards come from code and message templates)
COMPOSER_MSGTYPES = [
    ("text", "Text"),
    ("markdown", "Markdown"),
    ("textcard", "Text Card"),
    ("news", "News"),
    ("image", "Image"),
    ("file", "File"),
]


def _web_url(url):
    """``url`` when the preview may load it (an http(s) address), else None: no ``javascript:`` or ``data:``."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else None


class WeComMessageComposer(models.TransientModel):
    """ "Send WeCom message" from one or several users (or any record whose Action menu opens it).

    The composer only gathers the values: ``wecom.message.wecom_send`` creates the message and runs its rules
    (recipients, sizes, the attachment the author may read, who may send), so they are the same as for the form,
    Python and RPC.
    """

    _name = "wecom.message.composer"
    _description = "Send WeCom Message"

    application_id = fields.Many2one(
        "wecom.application",
        string="Application",
        required=True,
        domain="[('is_active', '=', True), ('company_id', 'in', allowed_company_ids)]",
        default=lambda self: self.env["wecom.application"].search(
            [("is_active", "=", True), ("company_id", "=", self.env.company.id)], limit=1
        ),
    )
    user_ids = fields.Many2many("res.users", string="Recipients", required=True)
    msgtype = fields.Selection(COMPOSER_MSGTYPES, string="Type", default="text", required=True)
    content = fields.Text()
    # text card
    title = fields.Char(help=f"At most {payloads.CARD_TITLE_MAX_BYTES} bytes.")
    description = fields.Text(help=f"At most {payloads.CARD_DESCRIPTION_MAX_BYTES} bytes.")
    url = fields.Char(string="URL", help="Opened when the recipient taps the card.")
    btntxt = fields.Char(
        string="Button Text",
        help=f"At most {payloads.BUTTON_TEXT_MAX_CHARS} characters; WeCom shows its own when empty.",
    )
    # news
    article_ids = fields.One2many("wecom.message.composer.article", "composer_id", string="Articles")
    # image and file
    res_model = fields.Char(string="Related Model", help="The model of the record the composer was opened from.")
    res_ids = fields.Char(
        string="Related Records", help="The ids of the records the composer was opened from, separated by commas."
    )
    attachment_choice_ids = fields.Many2many("ir.attachment", compute="_compute_attachment_choice_ids")
    attachment_id = fields.Many2one(
        "ir.attachment",
        string="Attachment",
        domain="[('id', 'in', attachment_choice_ids)]",
        help="An attachment of the record the composer was opened from.",
    )
    upload_file = fields.Binary(string="Upload", attachment=False, help="A new file, sent instead of an attachment.")
    upload_filename = fields.Char(string="File Name")
    send_now = fields.Boolean(help="Send at once instead of through the queue; a failure is shown at once.")
    missing_userid_names = fields.Char(compute="_compute_missing_userid_names")
    preview = fields.Html(compute="_compute_preview", sanitize_style=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        active_model = context.get("active_model")
        active_ids = context.get("active_ids") or ([context["active_id"]] if context.get("active_id") else [])
        if active_model == "res.users" and "user_ids" in fields_list:
            values["user_ids"] = [(6, 0, active_ids)]
        if active_model and active_model in self.env and active_model != self._name and active_ids:
            if "res_model" in fields_list:
                values["res_model"] = active_model
            if "res_ids" in fields_list:
                values["res_ids"] = ",".join(str(int(res_id)) for res_id in active_ids)
        return values

    @api.depends("user_ids.wecom_userid")
    def _compute_missing_userid_names(self):
        for composer in self:
            missing = composer.user_ids.filtered(lambda user: not user.wecom_userid)
            composer.missing_userid_names = ", ".join(missing.mapped("name")) or False

    def _wecom_res_ids(self):
        return [int(part) for part in (self.res_ids or "").split(",") if part.strip().isdigit()]

    @api.depends("res_model", "res_ids", "msgtype")
    def _compute_attachment_choice_ids(self):
        """The attachments of the records the composer was opened from that the user may read (images only for
        an image message). A choice is not a permission: sending checks the author's access again."""
        Attachment = self.env["ir.attachment"]
        for composer in self:
            res_ids = composer._wecom_res_ids()
            if not (composer.res_model and res_ids and composer.msgtype in ("image", "file")):
                composer.attachment_choice_ids = Attachment
                continue
            domain = [("res_model", "=", composer.res_model), ("res_id", "in", res_ids)]
            if composer.msgtype == "image":
                domain.append(("mimetype", "=like", "image/%"))
            composer.attachment_choice_ids = Attachment.search(domain, order="id desc", limit=200)

    @api.onchange("upload_file")
    def _onchange_upload_file(self):
        if self.upload_file and self.attachment_id:
            self.attachment_id = False

    @api.onchange("attachment_id")
    def _onchange_attachment_id(self):
        if self.attachment_id and self.upload_file:
            self.upload_file = False
            self.upload_filename = False

    # ------------------------------------------------------------------ preview
    @api.depends(
        "application_id",
        "msgtype",
        "content",
        "title",
        "description",
        "url",
        "btntxt",
        "article_ids.title",
        "article_ids.description",
        "article_ids.url",
        "article_ids.picurl",
        "attachment_id",
        "upload_file",
        "upload_filename",
    )
    def _compute_preview(self):
        """How the message will look in WeCom, roughly. Every value the user typed is escaped (markupsafe)."""
        for composer in self:
            body = getattr(composer, f"_wecom_preview__{composer.msgtype}", None)
            inner = body() if body else Markup()
            sender = escape(composer.application_id.app_name or self.env._("WeCom"))
            composer.preview = Markup(
                '<div class="o_wecom_preview bg-light border rounded p-3">'
                '<div class="small text-muted mb-2"><span class="fa fa-comments-o me-1"></span>%s</div>%s</div>'
            ) % (sender, inner or composer._wecom_preview_empty())

    def _wecom_preview_empty(self):
        return Markup('<div class="text-muted fst-italic">%s</div>') % self.env._("Nothing to preview yet.")

    def _wecom_preview_bubble(self, text):
        return (
            Markup(
                '<div class="d-inline-block bg-white border rounded px-3 py-2 text-break" '
                'style="white-space: pre-wrap; max-width: 100%%;">%s</div>'
            )
            % text
        )

    def _wecom_preview__text(self):
        return self._wecom_preview_bubble(self.content) if (self.content or "").strip() else None

    def _wecom_preview__markdown(self):
        if not (self.content or "").strip():
            return None
        note = Markup('<div class="small text-muted mt-1">%s</div>') % self.env._(
            "Markdown is shown as written; WeCom formats it."
        )
        return self._wecom_preview_bubble(self.content) + note

    def _wecom_preview__textcard(self):
        if not (self.title or self.description or self.url):
            return None
        url = Markup('<div class="small text-muted text-break mt-2">%s</div>') % self.url if self.url else Markup()
        return Markup(
            '<div class="card" style="max-width: 360px;"><div class="card-body">'
            '<div class="text-break mb-2"><strong>%s</strong></div>'
            '<div class="text-muted text-break" style="white-space: pre-wrap;">%s</div>%s</div>'
            '<div class="card-footer bg-white d-flex justify-content-between">'
            "<span>%s</span><span>›</span></div></div>"
        ) % (self.title or "", self.description or "", url, self.btntxt or self.env._("Details"))

    def _wecom_preview__news(self):
        articles = self.article_ids.sorted("sequence")
        if not articles:
            return None
        first, rest = articles[0], articles[1:]
        picture = _web_url(first.picurl)
        cover = (
            Markup(
                '<img src="%s" class="card-img-top" style="width: 100%%; height: 160px; object-fit: cover;" alt=""/>'
            )
            % picture
            if picture
            else Markup()
        )
        description = (
            Markup('<div class="small text-muted text-break mt-1">%s</div>') % first.description
            if first.description and not rest
            else Markup()
        )
        rows = Markup()
        for article in rest:
            thumb = _web_url(article.picurl)
            rows += Markup(
                '<li class="list-group-item d-flex justify-content-between align-items-center">'
                '<span class="text-break me-2">%s</span>%s</li>'
            ) % (
                article.title or "",
                Markup('<img src="%s" class="rounded" style="width: 40px; height: 40px; object-fit: cover;" alt=""/>')
                % thumb
                if thumb
                else Markup(),
            )
        listing = Markup('<ul class="list-group list-group-flush">%s</ul>') % rows if rows else Markup()
        return Markup(
            '<div class="card" style="max-width: 360px;">%s<div class="card-body">'
            '<div class="text-break"><strong>%s</strong></div>%s</div>%s</div>'
        ) % (cover, first.title or "", description, listing)

    def _wecom_preview_file_card(self, icon, name, size):
        size_line = Markup('<div class="small text-muted">%s</div>') % size if size else Markup()
        return Markup(
            '<div class="card" style="max-width: 320px;"><div class="card-body d-flex align-items-center">'
            '<span class="fa %s fa-2x text-muted me-3"></span>'
            '<div class="text-break"><strong>%s</strong>%s</div></div></div>'
        ) % (icon, name, size_line)

    def _wecom_preview_attachment(self):
        """``(attachment, name, size)`` of what would be sent, or None. An attachment the user may not read
        is not shown (and sending it is refused)."""
        if self.upload_file:
            return None, self.upload_filename or self.env._("New file"), None
        attachment = self.attachment_id
        if not attachment:
            return None
        try:
            compat.check_attachment_read(attachment)
        except AccessError:
            return None, self.env._("An attachment you may not read"), None
        return attachment, attachment.name, human_size(attachment.file_size) if attachment.file_size else None

    def _wecom_preview__image(self):
        chosen = self._wecom_preview_attachment()
        if not chosen:
            return None
        attachment, name, size = chosen
        if attachment and (attachment.mimetype or "").startswith("image/"):
            return Markup(
                '<img src="/web/image/%s" class="img-fluid rounded border bg-white" '
                'style="width: 180px; height: 180px; object-fit: contain;" alt="%s"/>'
            ) % (attachment.id, name)
        return self._wecom_preview_file_card("fa-file-image-o", name, size)

    def _wecom_preview__file(self):
        chosen = self._wecom_preview_attachment()
        if not chosen:
            return None
        return self._wecom_preview_file_card("fa-file-o", chosen[1], chosen[2])

    # ------------------------------------------------------------------ send
    def _wecom_send_values(self, attachment):
        """The arguments of ``wecom_send`` for the chosen type: only its own fields go to the message."""
        msgtype = self.msgtype
        values = {"msgtype": msgtype}
        if msgtype in ("text", "markdown"):
            values["content"] = self.content or None
        elif msgtype == "textcard":
            values.update(
                title=self.title or None,
                description=self.description or None,
                url=self.url or None,
                btntxt=self.btntxt or None,
            )
        elif msgtype == "news":
            values["articles"] = [
                {key: article[key] or False for key in ("title", "description", "url", "picurl")}
                for article in self.article_ids.sorted("sequence")
            ]
        elif msgtype in ("image", "file"):
            values["attachment"] = attachment.id or None
        return values

    def _wecom_upload(self):
        """The uploaded file as an attachment of the current user (no record yet: readable by them and the
        administrators); it is attached to the message once the message exists."""
        return self.env["ir.attachment"].create(
            {"name": self.upload_filename or "file", "datas": self.upload_file, "res_model": False, "res_id": False}
        )

    def action_send(self):
        self.ensure_one()
        # the rules (recipients, sizes, the attachment the author may read, who may send) are the message's:
        # wecom_send runs them; a refused message leaves nothing behind, an uploaded file neither
        with self.env.cr.savepoint():
            uploaded = self.msgtype in ("image", "file") and self.upload_file
            attachment = self._wecom_upload() if uploaded else self.attachment_id
            message = self.env["wecom.message"].wecom_send(
                self.application_id, users=self.user_ids, **self._wecom_send_values(attachment)
            )
            if uploaded:
                attachment.write({"res_model": "wecom.message", "res_id": message.id})
        if self.send_now:
            message.action_send_now()
        return {
            "type": "ir.actions.act_window",
            "res_model": "wecom.message",
            "res_id": message.id,
            "view_mode": "form",
            "target": "current",
        }


class WeComMessageComposerArticle(models.TransientModel):
    _name = "wecom.message.composer.article"
    _description = "WeCom News Article (composer)"
    _order = "sequence, id"

    composer_id = fields.Many2one("wecom.message.composer", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    title = fields.Char(help=f"At most {payloads.CARD_TITLE_MAX_BYTES} bytes.")
    description = fields.Char(help=f"At most {payloads.CARD_DESCRIPTION_MAX_BYTES} bytes.")
    url = fields.Char(string="URL")
    picurl = fields.Char(string="Picture URL")
