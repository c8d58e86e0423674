"""Storing the outcomes of the outbox's tries, and what happens once they are stored.

The drain keeps each try's outcome in memory (``wecom_message_attempt.py`` computes the values) and stores a
chunk of them at once with :meth:`WeComMessage._wecom_store_outcomes`; :meth:`_wecom_outcomes_stored` then
runs on the messages of the chunk (the hook for addons; it notes partial sends and failures in the chatter).
"""

import logging

from markupsafe import Markup
from psycopg2.extensions import TRANSACTION_STATUS_INTRANS

from odoo import api, models

_logger = logging.getLogger(__name__)

# the magic fields _write_multi() sets in the database, whose cached values it leaves behind
LOG_ACCESS_FIELDS = ("write_date", "write_uid")


class WeComMessage(models.Model):
    _inherit = "wecom.message"

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
            with self.env.cr.savepoint(flush=False):
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
        """Write ``[(message id, values)]`` the way a flush writes: with the ORM's own writer,
        ``_write_multi``, one ``UPDATE … FROM (VALUES …)`` per set of fields (``write_date`` and
        ``write_uid`` set), the new values put in the cache, their dependents marked (``modified``) and
        their constraints checked (``_validate_fields``), as ``write()`` does.

        Not ``write()`` per message: its per-record work (access checks, tracking, conversions, dirty
        marks) was a third of the outbox's time per message, and it kept the outbox's time per message
        above 1.3 times a raw ``requests.post`` (scripts/bench_messages.py, README). An override of
        ``write()`` therefore does not see outcomes: override :meth:`_wecom_outcomes_stored`.

        :return: the messages written
        """
        merged = {}
        for message_id, values in outcomes:
            merged.setdefault(message_id, {}).update(values)
        messages = self.browse(list(merged))
        model_fields = self._fields

        def convert(field, value, message):
            # the write format to the cache and to the column (what write() and create() convert)
            return field.convert_to_cache(value, message), field.convert_to_column_insert(value, message)

        converted = {}  # (field name, value) -> (cache value, column value): most values repeat
        rows, by_row = [], []
        written = {}  # field name -> ([message id, ...], [cache value, ...])
        others = []  # [(message, values)] of fields that are not a plain column: through write()
        for message, values in zip(messages, merged.values(), strict=True):
            row, other = {}, {}
            for name, value in values.items():
                field = model_fields[name]
                if not (field.store and field.column_type) or field.translate or field.company_dependent:
                    other[name] = value
                    continue
                try:
                    cache_value, column_value = converted[name, value]
                except KeyError:
                    cache_value, column_value = converted[name, value] = convert(field, value, message)
                except TypeError:  # a value that cannot be a key
                    cache_value, column_value = convert(field, value, message)
                row[name] = column_value
                ids, cache_values = written.setdefault(name, ([], []))
                ids.append(message.id)
                cache_values.append(cache_value)
            if row:
                rows.append(row)
                by_row.append(message.id)
            if other:
                others.append((message, other))
        self.browse(by_row)._write_multi(rows)
        cache = self.env.cache
        for name, (ids, cache_values) in written.items():
            cache.update(self.browse(ids), model_fields[name], cache_values)
        if self._log_access:
            messages.invalidate_recordset(LOG_ACCESS_FIELDS, flush=False)
        names = list(written)
        messages.modified(names)
        messages._validate_fields(names)
        for message, values in others:
            message.with_context(tracking_disable=True).write(values)
        return messages

    def _wecom_outcomes_stored(self):
        """Called on the messages whose outcomes were just stored, in the cron's transaction (their new
        state, ``msgid``, ``failure_reason``… are in the cache). Addons override it to react to sends and
        failures; the default notes the outcomes an admin acts on (:meth:`_wecom_log_outcomes`)."""
        self._wecom_log_outcomes()

    def _wecom_log_outcomes(self):
        """Note the outcomes an admin acts on in the messages' chatter: partial sends and failures.

        A plain "sent" is not noted: the state, the sent date and WeCom's message id say it (a note per
        message was a third of the drain's time). The failure stays in the chatter after a retry clears
        ``failure_reason``.
        """
        bodies = {}
        for message in self.filtered(lambda m: m.state in ("partial", "exception")):
            if message.state == "partial":
                text = self.env._(
                    "Sent to WeCom (message id %(msgid)s); WeCom refused some recipients: %(invalid)s.",
                    msgid=message.msgid or "-",
                    invalid=message.invalid_users or message.invalid_parties or message.invalid_tags or "-",
                )
            else:
                text = self.env._("Not sent: %(reason)s", reason=message.failure_reason or "-")
            bodies[message.id] = Markup("<p>%s</p>") % text
        if bodies:
            self.browse(list(bodies))._message_log_batch(bodies)

    def _wecom_transaction_aborted(self):
        """The current transaction failed (a query error) and refuses every query until rolled back."""
        return self.env.cr._cnx.info.transaction_status != TRANSACTION_STATUS_INTRANS
