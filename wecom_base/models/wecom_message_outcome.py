"""Storing the outcomes of the outbox's tries, and what happens once they are stored.

The drain keeps each try's outcome in memory (``wecom_message_attempt.py`` computes the values) and stores a
chunk of them at once with :meth:`WeComMessage._wecom_store_outcomes`; :meth:`_wecom_outcomes_stored` then
runs on the messages of the chunk (the hook for addons; it notes partial sends and failures in the chatter).
"""

import logging

from markupsafe import Markup

from odoo import api, models

from .. import compat

_logger = logging.getLogger(__name__)


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
        return compat.transaction_aborted(self.env.cr)
