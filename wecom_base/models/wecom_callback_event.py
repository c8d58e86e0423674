"""The inbox of application callbacks: one record per message or event WeCom posted, stored once.

The controller stores the decrypted XML at once (``_wecom_store``) and answers WeCom; a cron then
processes the inbox. Processing dispatches by name, so an addon handles a new kind by adding a method::

    class WeComCallbackEvent(models.Model):
        _inherit = "wecom.callback.event"

        def _wecom_handle_event__click(self, data):
            ...  # data: the decrypted XML as a dict
            return "what was done"  # stored as the event's result

``_wecom_handle_event__<event>`` handles ``MsgType=event`` (``<event>`` is the ``Event`` element in
lower case), ``_wecom_handle_message__<msgtype>`` every other message type. Kinds nobody handles are
marked done as ignored. ``_wecom_reply_event__<event>`` / ``_wecom_reply_message__<msgtype>`` may return
a passive reply (a dict of reply XML elements); they run while WeCom waits, so they must be quick.
"""

import hashlib
import logging
import re
from datetime import datetime, timezone

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .. import compat, const
from ..lib import WeComCryptoError, parse_xml
from ..tools import company_lang, retention_cutoff, unlink_in_batches

_logger = logging.getLogger(__name__)

_KIND_RE = re.compile(r"^[a-z0-9_]{1,64}$")
PROCESS_CRON_XMLID = "wecom_base.ir_cron_wecom_callback_events"


class WeComCallbackEvent(models.Model):
    _name = "wecom.callback.event"
    _description = "WeCom Callback Event"
    _order = "id desc"
    _rec_name = "kind"

    callback_id = fields.Many2one(
        "wecom.callback", string="Callback", required=True, ondelete="cascade", index=True, readonly=True
    )
    application_id = fields.Many2one(related="callback_id.application_id", store=True, index=True)
    company_id = fields.Many2one(related="callback_id.company_id", store=True, index=True)
    msg_type = fields.Char(string="Message Type", readonly=True, index=True)
    event = fields.Char(readonly=True, index=True)
    change_type = fields.Char(readonly=True)
    kind = fields.Char(compute="_compute_kind")
    agent_id = fields.Integer(string="AgentId", readonly=True)
    from_user = fields.Char(
        string="From", readonly=True, index=True, help='The WeCom UserID of the sender ("sys" for system events).'
    )
    to_user = fields.Char(string="To", readonly=True)
    wecom_create_time = fields.Datetime(
        string="Sent On", readonly=True, help="The CreateTime WeCom gave the message or event."
    )
    msg_id = fields.Char(string="MsgId", readonly=True)
    content = fields.Text(readonly=True, help="The text of a text message.")
    dedupe_key = fields.Char(required=True, readonly=True, copy=False)
    raw_xml = fields.Text(string="Decrypted XML", readonly=True)
    state = fields.Selection(
        [("new", "New"), ("done", "Done"), ("error", "Failed")],
        default="new",
        required=True,
        readonly=True,
        index=True,
    )
    result = fields.Text(readonly=True, help="What processing did, or why the event was ignored.")
    error_reason = fields.Text(string="Failure Reason", readonly=True)
    attempts = fields.Integer(readonly=True, default=0)
    processed_date = fields.Datetime(string="Processed On", readonly=True)

    locals().update(
        compat.sql_constraints(
            dedupe_key_uniq=(
                "unique(dedupe_key)",
                "This WeCom callback was already received (WeCom retries deliveries).",
            ),
        )
    )

    @api.depends("msg_type", "event", "change_type")
    def _compute_kind(self):
        for record in self:
            if record.msg_type == "event":
                record.kind = " / ".join(filter(None, [record.event, record.change_type])) or "event"
            else:
                record.kind = record.msg_type or _("unknown")

    # ------------------------------------------------------------------ storing (controller)
    @api.model
    def _wecom_dedupe_key(self, target, data, raw):
        """The key under which a delivery is stored once.

        Messages carry a MsgId; events mostly don't, and distinct events share sender and second
        (``FromUserName=sys``), so they are keyed by a hash of the whole decrypted XML and the AgentID.
        """
        agent = str(data.get("AgentID") or "").strip()
        msg_id = data.get("MsgId")
        if isinstance(msg_id, str) and msg_id.strip():
            return f"msg:{target.application_id}:{agent}:{msg_id.strip()}"[:200]
        digest = hashlib.sha256(agent.encode() + b"\0" + raw).hexdigest()
        return f"sha256:{target.application_id}:{digest}"

    @api.model
    def _wecom_event_vals(self, target, data, raw):
        """The column values of a new event (override to add your own stored fields)."""

        def text(name, size=255):
            value = data.get(name)
            return value.strip()[:size] if isinstance(value, str) and value.strip() else None

        create_time = None
        raw_time = text("CreateTime", 20)
        if raw_time and raw_time.isdigit():
            try:
                create_time = datetime.fromtimestamp(int(raw_time), timezone.utc).replace(tzinfo=None)
            except (OverflowError, OSError, ValueError):
                create_time = None
        agent = text("AgentID", 20)
        msg_type = text("MsgType", 64)
        content = data.get("Content") if msg_type == "text" else None
        return {
            "callback_id": target.id,
            "application_id": target.application_id,
            "company_id": target.company_id,
            "msg_type": msg_type,
            "event": text("Event", 64),
            "change_type": text("ChangeType", 64),
            "agent_id": int(agent) if agent and agent.isdigit() and len(agent) < 10 else 0,
            "from_user": text("FromUserName", 128),
            "to_user": text("ToUserName", 128),
            "wecom_create_time": create_time,
            "msg_id": text("MsgId", 64),
            "content": content if isinstance(content, str) else None,
            "dedupe_key": self._wecom_dedupe_key(target, data, raw),
            "raw_xml": raw.decode("utf-8"),
            "state": "new",
            "attempts": 0,
        }

    @api.model
    def _wecom_insert(self, vals):
        """Insert one event unless its dedupe key is stored already, and trigger its processing.

        Dedupe: ``ON CONFLICT DO NOTHING`` in one statement, since this runs for every callback while WeCom
        waits. Two deliveries of the same message may race; when the other commits first, PostgreSQL answers
        this REPEATABLE READ transaction with a serialization failure: the key is stored, so this delivery is
        a duplicate. It is caught here, under a savepoint, rather than left to Odoo, which would replay the
        whole request after a random sleep of up to 2 s.

        Trigger: see :meth:`_wecom_trigger_processing` (a trigger row per event, one wake-up per burst).

        :return: the new event's id, or None for a duplicate
        """
        columns = ["create_uid", "write_uid", "create_date", "write_date"]
        now = SQL("(NOW() AT TIME ZONE 'UTC')")
        # no user: WeCom posted it (and no foreign-key check on the same res_users row by every callback)
        uid = SQL("NULL")
        values = [uid, uid, now, now]
        for name, value in vals.items():
            field = self._fields[name]
            if not (field.store and field.column_type) or name in columns:
                raise ValueError(f"{name} is not a stored column of {self._name}")
            columns.append(name)
            values.append(SQL("%s", value))
        query = SQL(
            """
            SAVEPOINT wecom_event_insert;
            INSERT INTO %(table)s (%(columns)s) VALUES (%(values)s)
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """,
            table=SQL.identifier(self._table),
            columns=SQL(", ").join(SQL.identifier(column) for column in columns),
            values=SQL(", ").join(values),
        )
        try:
            # the savepoint travels with the statement; nothing needs to release it
            self.env.cr.execute(query, log_exceptions=False)
        except psycopg2.errors.SerializationFailure:
            self.env.cr.execute("ROLLBACK TO SAVEPOINT wecom_event_insert")
            return None
        row = self.env.cr.fetchone()
        if not row:
            return None
        self._wecom_trigger_processing()
        return row[0]

    @api.model
    def _wecom_store(self, target, raw, with_reply=True):
        """Store one decrypted callback message, once, and trigger its processing.

        It is stored in the request's transaction (one database connection per callback request); the
        request commits before WeCom gets its answer.

        :param target: the callback it arrived at (a ``wecom.callback`` record or a ``CallbackTarget``)
        :param bytes raw: the decrypted XML
        :param bool with_reply: also run the passive reply hook of a new event
        :return: ``(event_id, reply_xml)``; ``event_id`` is None for a delivery already stored,
            ``reply_xml`` is None without a passive reply
        :raise WeComCryptoError: ``xml`` when the decrypted XML is malformed or holds a DTD / entities
        """
        if isinstance(target, models.BaseModel):
            target = target._wecom_target()
        data = parse_xml(raw)
        vals = self._wecom_event_vals(target, data, raw)
        # the event's company, given rather than read from the user: no query for it (ORM defaults ask)
        return self.sudo().with_context(allowed_company_ids=[target.company_id])._wecom_store_vals(vals, with_reply)

    @api.model
    def _wecom_store_vals(self, vals, with_reply):
        event_id = self._wecom_insert(vals)
        if not event_id:
            return None, None
        reply = None
        # the reply hook is looked up on the values at hand: a kind nobody answers costs no query
        if with_reply and self._wecom_hook_name("_wecom_reply_", vals.get("msg_type"), vals.get("event")):
            event = self.browse(event_id)
            try:
                with self.env.cr.savepoint():
                    reply = event._wecom_passive_reply()
            except Exception:  # noqa: BLE001 - the event is stored: answer WeCom anyway
                _logger.exception("WeCom callback event %s: the passive reply failed; answering without one", event_id)
        return event_id, reply

    @api.model
    def _wecom_cron_id(self):
        """The id of the processing cron (cached lookup: no query once warm)."""
        return self.env["ir.model.data"]._xmlid_to_res_id(PROCESS_CRON_XMLID, raise_if_not_found=True)

    @api.model
    def _wecom_trigger_processing(self):
        """Make the processing cron due now. Each event gets a trigger row of its own (a cron run that began
        before this transaction commits cannot delete it, so the cron always runs again after it); the cron
        workers are woken (``ir.cron._trigger()``) only when no other trigger was due: once per burst of
        callbacks, not once per callback (a wake-up opens a connection to the ``postgres`` database)."""
        cron = self.env["ir.cron"].browse(self._wecom_cron_id()).sudo()
        triggers = self.env["ir.cron.trigger"].sudo()
        now = fields.Datetime.now()
        if cron.active and triggers.search_count([("cron_id", "=", cron.id), ("call_at", "<=", now)], limit=1):
            triggers.create({"cron_id": cron.id, "call_at": now})
        else:
            cron._trigger()

    # ------------------------------------------------------------------ data and dispatch
    def _wecom_data(self):
        """The decrypted XML as a dict (``{tag: text | dict | list}``)."""
        self.ensure_one()
        try:
            return parse_xml((self.raw_xml or "").encode("utf-8"))
        except WeComCryptoError:
            return {}

    def _wecom_handler_name(self, prefix):
        """``<prefix>event__<event>`` or ``<prefix>message__<msgtype>``, or None when the kind is unusable."""
        self.ensure_one()
        return self._wecom_method_name(prefix, self.msg_type, self.event)

    @api.model
    def _wecom_method_name(self, prefix, msg_type, event):
        if msg_type == "event":
            kind, name = "event", (event or "").lower()
        else:
            kind, name = "message", (msg_type or "").lower()
        if not _KIND_RE.match(name):
            return None
        return f"{prefix}{kind}__{name}"

    @api.model
    def _wecom_hook_name(self, prefix, msg_type, event):
        """The name of the ``<prefix>…`` method for this kind when this model defines one, else None."""
        name = self._wecom_method_name(prefix, msg_type, event)
        return name if name and callable(getattr(self, name, None)) else None

    def _wecom_dispatch(self):
        """Run the handler of this event and return the result to store (a string)."""
        self.ensure_one()
        method_name = self._wecom_handler_name("_wecom_handle_")
        handler = getattr(self, method_name, None) if method_name else None
        if handler is None:
            if self.msg_type == "event":
                return _("Ignored: no handler for the event %(event)s.", event=self.event or "-")
            return _("Ignored: no handler for the message type %(type)s.", type=self.msg_type or "-")
        result = handler(self._wecom_data())
        return str(result) if result else _("Processed.")

    def _wecom_process(self):
        """Process events one by one; a failure marks that event failed and never stops the others.

        Results and reasons are written in the language of the event's company (who reads them), not the cron's.
        """
        for event in self:
            event = event.with_context(lang=company_lang(event.company_id))  # noqa: PLW2901
            try:
                with self.env.cr.savepoint():
                    result = event._wecom_dispatch()
                    event.write(
                        {
                            "state": "done",
                            "result": result,
                            "error_reason": False,
                            "attempts": event.attempts + 1,
                            "processed_date": fields.Datetime.now(),
                        }
                    )
            except Exception as exc:  # noqa: BLE001 - one event must never stop the others
                _logger.warning(
                    "WeCom callback event %s (%s) failed: %s",
                    event.id,
                    event.kind,
                    exc,
                    exc_info=not isinstance(exc, UserError),
                )
                event.write(
                    {
                        "state": "error",
                        "error_reason": str(exc) or type(exc).__name__,
                        "attempts": event.attempts + 1,
                        "processed_date": fields.Datetime.now(),
                    }
                )
        return True

    @api.model
    def _cron_process_events(self, batch_size=const.EVENT_BATCH_SIZE, max_batches=const.EVENT_MAX_BATCHES_PER_RUN):
        """Process new events in batches (rows claimed with SKIP LOCKED), committing after each batch
        except under tests, and re-trigger while a backlog remains.

        :return: the number of events processed
        """
        auto_commit = compat.may_commit(self.env.cr)
        done = 0
        for _batch in range(max_batches):
            self.env.flush_all()  # the query below must see what the previous batch wrote
            self.env.cr.execute(
                """
                SELECT id FROM wecom_callback_event
                 WHERE state = 'new'
                 ORDER BY id
                 LIMIT %s
                   FOR NO KEY UPDATE SKIP LOCKED
                """,
                [batch_size],
            )
            events = self.browse([row[0] for row in self.env.cr.fetchall()])
            if not events:
                break
            events._wecom_process()
            done += len(events)
            if auto_commit:
                # one batch per transaction (cron)
                compat.commit_batch(self.env, len(events))
        self.env.flush_all()
        self.env.cr.execute("SELECT COUNT(*) FROM wecom_callback_event WHERE state = 'new'")
        remaining = self.env.cr.fetchone()[0]
        compat.report_progress(self.env, done, remaining)
        if remaining and done:  # more than a run takes: run again at once (events stored since have their triggers)
            self.env["ir.cron"].browse(self._wecom_cron_id()).sudo()._trigger()
        return done

    @api.autovacuum
    def _gc_wecom_callback_events(self):
        """Nightly: delete events processed before the retention period (failed and new ones stay)."""
        cutoff = retention_cutoff(self.env)
        if not cutoff:
            return 0
        count = unlink_in_batches(self.sudo(), [("state", "=", "done"), ("processed_date", "<", cutoff)])
        if count:
            _logger.info("WeCom housekeeping: deleted %s callback event(s) processed before %s", count, cutoff)
        return count

    # ------------------------------------------------------------------ passive reply
    def _wecom_passive_reply(self):
        """The reply XML of the reply hook of this event, or None.

        A hook (``_wecom_reply_event__<event>`` / ``_wecom_reply_message__<msgtype>``) returns None or a
        dict of reply elements, for instance ``{"MsgType": "text", "Content": "Got it"}``; ToUserName,
        FromUserName and CreateTime are filled in.
        """
        self.ensure_one()
        method_name = self._wecom_handler_name("_wecom_reply_")
        hook = getattr(self, method_name, None) if method_name else None
        if hook is None:
            return None
        reply = hook(self._wecom_data())
        if not reply:
            return None
        if not isinstance(reply, dict):
            raise UserError(_("A WeCom passive reply must be a dict of XML elements."))
        from lxml import etree  # noqa: PLC0415 - only needed for replies

        root = etree.Element("xml")
        elements = {
            "ToUserName": self.from_user or "",
            "FromUserName": self.to_user or self.company_id.wecom_corp_id or "",
            "CreateTime": str(int(datetime.now(timezone.utc).timestamp())),
            **reply,
        }
        for tag, value in elements.items():
            child = etree.SubElement(root, tag)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                child.text = str(value)
            else:
                child.text = etree.CDATA(str(value))
        return etree.tostring(root, encoding="unicode")

    # ------------------------------------------------------------------ buttons
    def action_retry(self):
        """Button: process failed events again (by the cron, at once)."""
        failed = self.filtered(lambda event: event.state == "error")
        if not failed:
            raise UserError(_("Only failed events can be retried."))
        failed.write({"state": "new", "error_reason": False})
        self._wecom_trigger_processing()
        return True

    def action_process_now(self):
        """Button: process the selected new or failed events now."""
        pending = self.filtered(lambda event: event.state in ("new", "error"))
        if not pending:
            raise UserError(_("These events were processed already."))
        compat.try_lock_for_update(pending)._wecom_process()
        return True

    # ------------------------------------------------------------------ shipped handlers
    def _wecom_handle_message__text(self, data):
        content = data.get("Content") if isinstance(data.get("Content"), str) else ""
        _logger.info(
            "WeCom text message %s from %s to application %s",
            self.msg_id or self.id,
            self.from_user,
            self.application_id.app_name,
        )
        return _("Text message from %(user)s: %(content)s", user=self.from_user or "-", content=content)

    def _wecom_handle_event__enter_agent(self, data):
        return _("%(user)s opened the application.", user=self.from_user or "-")

    def _wecom_handle_event__change_contact(self, data):
        change = (data.get("ChangeType") or "") if isinstance(data.get("ChangeType"), str) else ""
        handler = getattr(self, f"_wecom_change_contact__{change}", None) if _KIND_RE.match(change) else None
        if handler is None:
            return _("Ignored: contact change %(change)s.", change=change or "-")
        return handler(data)

    def _wecom_users_with_userid(self, userid):
        """Odoo users of this event's company linked to the WeCom ``userid``."""
        return self.env["res.users"]._wecom_find_by_userid(userid, self.company_id)

    def _wecom_change_contact__create_user(self, data):
        userid = data.get("UserID") or "-"
        users = self._wecom_users_with_userid(data.get("UserID"))
        if users:
            return _(
                "WeCom member %(userid)s created; already linked to %(users)s.",
                userid=userid,
                users=", ".join(users.mapped("name")),
            )
        return _("WeCom member %(userid)s created; no Odoo user is linked to it.", userid=userid)

    def _wecom_change_contact__update_user(self, data):
        userid = data.get("UserID") or "-"
        new_userid = data.get("NewUserID")
        users = self._wecom_users_with_userid(data.get("UserID"))
        if isinstance(new_userid, str) and new_userid.strip() and users:
            users.write({"wecom_userid": new_userid.strip()})
            return _(
                "WeCom member %(userid)s is now %(new)s: updated %(users)s.",
                userid=userid,
                new=new_userid.strip(),
                users=", ".join(users.mapped("name")),
            )
        return _("WeCom member %(userid)s updated; nothing to change in Odoo.", userid=userid)

    def _wecom_change_contact__delete_user(self, data):
        userid = data.get("UserID") or "-"
        users = self._wecom_users_with_userid(data.get("UserID"))
        if not users:
            return _("WeCom member %(userid)s deleted; no Odoo user was linked to it.", userid=userid)
        users.write({"wecom_userid": False})
        return _(
            "WeCom member %(userid)s deleted: unlinked from %(users)s.",
            userid=userid,
            users=", ".join(users.mapped("name")),
        )
