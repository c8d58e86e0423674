"""Nightly housekeeping: delete old sent messages and processed callback events.

Runs with Odoo's daily autovacuum (``@api.autovacuum``). The retention is the system parameter
``wecom_base.retention_days`` (Settings > WeCom > Housekeeping; default 90, 0 keeps everything).
Failed, queued and unprocessed records are never deleted: they wait for an admin.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models

from .. import const

_logger = logging.getLogger(__name__)

GC_BATCH = 10000


def retention_cutoff(env):
    """The datetime before which finished records are deleted, or None to keep everything."""
    raw = env["ir.config_parameter"].sudo().get_param(const.PARAM_RETENTION_DAYS, const.RETENTION_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        _logger.warning(
            "WeCom housekeeping: %s=%r is not a number of days; keeping everything", const.PARAM_RETENTION_DAYS, raw
        )
        return None
    if days <= 0:
        return None
    return fields.Datetime.now() - timedelta(days=days)


def _unlink_in_batches(model, domain):
    total = 0
    while True:
        records = model.search(domain, limit=GC_BATCH)
        if not records:
            return total
        records.unlink()
        total += len(records)
        if len(records) < GC_BATCH:
            return total


class WeComMessage(models.Model):
    _inherit = "wecom.message"

    @api.autovacuum
    def _gc_wecom_messages(self):
        cutoff = retention_cutoff(self.env)
        if not cutoff:
            return 0
        count = _unlink_in_batches(
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


class WeComCallbackEvent(models.Model):
    _inherit = "wecom.callback.event"

    @api.autovacuum
    def _gc_wecom_callback_events(self):
        cutoff = retention_cutoff(self.env)
        if not cutoff:
            return 0
        count = _unlink_in_batches(self.sudo(), [("state", "=", "done"), ("processed_date", "<", cutoff)])
        if count:
            _logger.info("WeCom housekeeping: deleted %s callback event(s) processed before %s", count, cutoff)
        return count
