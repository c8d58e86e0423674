"""An application's channel to WeCom, as the outbox sees it: a circuit that opens on an outage.

Transport failures (network, timeouts, HTTP 5xx, -1) are the channel's problem, not the message's. After
``CIRCUIT_FAILURES`` consecutive ones the circuit opens: queued messages wait (not a try), and one probe
per retry interval goes out until one succeeds; then the waiting messages are due at once. The state is
one row per application, written in short transactions of its own (as the token row), so every worker
sees it at once and a rollback of the cron's batch keeps it.
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models

from .. import const
from ..lib.flow_control import retry_delay
from ..outbox import CircuitState
from .wecom_message import outbox_writes

_logger = logging.getLogger(__name__)


class WeComApplicationCircuit(models.Model):
    """The outbox's circuit of one application (one row each): opened by an outage of WeCom, closed by a probe
    that gets through. Named for what it is; the message's ``channel`` (application or robot) is another thing."""

    _name = "wecom.application.circuit"
    _description = "WeCom Application Circuit"
    _log_access = False

    application_id = fields.Many2one("wecom.application", required=True, ondelete="cascade", index=True)
    failures = fields.Integer(help="Consecutive transport failures (network, timeouts, HTTP 5xx, -1).")
    outage_since = fields.Datetime(help="The circuit is open: WeCom has been unreachable since then.")
    next_probe_at = fields.Datetime(help="While open: when the next message may probe WeCom.")
    last_error = fields.Text()

    @api.model
    def _wecom_circuits(self, apps):
        """``{application id: channel state}`` for one batch, read on the caller's cursor."""
        rows = {row.application_id.id: row for row in self.sudo().search([("application_id", "in", apps.ids)])}
        return {app.id: CircuitState(self, app, rows.get(app.id)) for app in apps}

    # ------------------------------------------------------------------ state changes (own transactions)
    def _wecom_locked_row(self, app, cr):
        """The row of ``app`` on ``cr``, created if missing, under a lock until ``cr`` commits."""
        cr.execute("SELECT pg_advisory_xact_lock(hashtext('wecom_application_circuit'), %s)", [app.id])
        channels = self.with_env(self.env(cr=cr, su=True))
        row = channels.search([("application_id", "=", app.id)])
        return row or channels.create({"application_id": app.id})

    @staticmethod
    def _wecom_values(row):
        return row.failures, row.outage_since, row.next_probe_at

    @api.model
    def _wecom_probe_delay(self, failures):
        settings = self.env["wecom.message"]._wecom_outbox_settings()
        return retry_delay(max(failures - const.CIRCUIT_FAILURES + 1, 1), settings["retry_base"], settings["retry_max"])

    @api.model
    def _wecom_take_probe(self, app):
        """Take the probe of an open circuit if its time has come (no other worker took it).

        :return: ``(taken, (failures, outage_since, next_probe_at))``
        """
        with app._wecom_state_cursor() as cr:
            row = self._wecom_locked_row(app, cr)
            now = fields.Datetime.now()
            taken = bool(row.outage_since) and (not row.next_probe_at or row.next_probe_at <= now)
            if taken:
                # until the probe's answer: no other probe before the next interval
                row.next_probe_at = now + timedelta(seconds=self._wecom_probe_delay(row.failures))
            values = self._wecom_values(row)
        return taken, values

    @api.model
    def _wecom_failure(self, app, error):
        """Count a transport failure; open the circuit at ``CIRCUIT_FAILURES`` in a row (noted once)."""
        reason = self.env["wecom.message"]._wecom_error_message(error)
        with app._wecom_state_cursor() as cr:
            row = self._wecom_locked_row(app, cr)
            now = fields.Datetime.now()
            failures = row.failures + 1
            values = {"failures": failures, "last_error": str(error)}
            if failures >= const.CIRCUIT_FAILURES:
                values["next_probe_at"] = now + timedelta(seconds=self._wecom_probe_delay(failures))
                if not row.outage_since:
                    values["outage_since"] = now
                    # not inside _(): the translation extractor evaluates its arguments' strings
                    expiry = "%g" % self.env["wecom.message"]._wecom_outbox_settings()["expiry_hours"]  # noqa: UP031
                    _logger.warning(
                        "WeCom outbox: application %s (id %s) unreachable, its messages wait: %s",
                        app.app_name,
                        app.id,
                        error,
                    )
                    app.with_env(row.env).message_post(
                        body=_(
                            "WeCom unreachable: %(failures)s sends in a row failed (%(error)s). Queued messages "
                            "wait and one message probes WeCom per retry interval; they give up only %(hours)s "
                            "hours after being queued.",
                            failures=failures,
                            error=reason,
                            hours=expiry,
                        ),
                        subtype_xmlid="mail.mt_note",
                    )
            row.write(values)
            result = self._wecom_values(row)
        return result

    @api.model
    def _wecom_success(self, app):
        """WeCom answered: reset the count; close an open circuit (noted once) and make the messages that
        waited for it due at once, so that the backlog drains at full speed."""
        with app._wecom_state_cursor() as cr:
            row = self._wecom_locked_row(app, cr)
            since = row.outage_since
            row.write({"failures": 0, "outage_since": False, "next_probe_at": False, "last_error": False})
            if since:
                _logger.info("WeCom outbox: application %s (id %s) reachable again", app.app_name, app.id)
                waiting = (
                    row.env["wecom.message"]
                    .with_context(tracking_disable=True)
                    .search(
                        [
                            ("application_id", "=", app.id),
                            ("state", "=", "outgoing"),
                            ("claimed_at", "=", False),
                            # those that waited for the circuit, not the retries of failed tries: a late
                            # answer to a timed-out send may still be on its way (their backoff covers it)
                            ("wait_outage", "=", True),
                        ]
                    )
                )
                with outbox_writes():
                    waiting.write({"next_try_date": False, "wait_outage": False})
                app.with_env(row.env).message_post(
                    body=_(
                        "WeCom reachable again (unreachable since %(since)s UTC); %(count)s waiting message(s) "
                        "are sent now.",
                        since=fields.Datetime.to_string(since),
                        count=len(waiting),
                    ),
                    subtype_xmlid="mail.mt_note",
                )
            result = self._wecom_values(row)
        return result
