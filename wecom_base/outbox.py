"""The outbox's machinery that is not a model: the threads that make its HTTP calls, a drain's flight of
concurrent sends, and an application's circuit during a batch.

The outbox model (``models/wecom_message*.py``) claims messages, builds payloads and stores outcomes; a
:class:`Flight` takes claimed application messages, sends up to each application's window of them at once on
:class:`SendThreads` (threads that never touch a cursor), and hands each outcome back to the model in the
drain's thread. :class:`CircuitState` is one application's circuit (``wecom.application.circuit``) during a batch.
"""

import logging
import queue
import time
from collections import Counter
from datetime import timedelta

from odoo import fields
from odoo.exceptions import ValidationError

from .lib import WeComError, WeComTokenError
from .lib.flow_control import WindowRegistry
from .lib.sending import SendJob, is_rate_error, is_transport_error, send_threads

_logger = logging.getLogger(__name__)


# outcomes stored together while sends are in flight (a savepoint and a flush each)
STORE_CHUNK = 50

# (database, application id) -> the AIMD window of concurrent sends, for the life of the process
windows = WindowRegistry()


class Flight:
    """Application messages sent concurrently, up to each application's window in flight, for one
    drain: sends in flight when a batch ends go on while it is stored and the next one is claimed.

    Everything that touches the database (payloads, tokens, outcomes, circuit, pacing) runs in the
    calling thread, on the cron's cursor; the pool's threads only call ``message/send``.
    """

    def __init__(self, model):
        self.model = model.browse()
        self.env = model.env
        self.settings = self.model._wecom_outbox_settings()
        self.client = None
        self.outcomes = []  # [(message id, values)] not stored yet
        self.running = set()  # jobs in flight
        self.ended = queue.SimpleQueue()  # jobs whose send ended, put there by the pool's threads
        self.in_flight = Counter()  # application id -> its sends in flight
        self.windows = {}  # application id -> its AIMD window (shared by the drains of the process)
        self.finished = []  # jobs ended, outcome not taken yet
        self.replays = []  # jobs to send again with a renewed token
        self.tokens = {}  # application id -> token
        self.channels = {}  # application id -> circuit state
        self.pacers = {}  # application id -> MemberPacer
        self.recipients = {}  # message id -> its recipients (read by load(), for the pacing and the payload)
        self.sends = []  # [(application id, members)] delivered, not recorded yet
        self.deferred = {}  # application id -> indexes in outcomes of messages waiting for its circuit
        self.stored = []  # [(outcomes, sends)] stored since the batch's savepoint

    def load(self, messages):
        """Read what the batch ``messages`` needs: circuits of new applications, the recipients of each
        message (once, for the pacing and the payload) and the history of new members."""
        apps = messages.application_id.filtered(lambda app: app.id not in self.channels)
        self.channels.update(self.env["wecom.application.circuit"]._wecom_circuits(apps))
        members = {app.id: set() for app in messages.application_id}
        for message in messages:
            try:
                recipients = self.recipients[message.id] = message._wecom_recipients()
            except ValidationError:
                continue  # its send fails with that error in its turn
            members[message.application_id.id].update(self._paced_members(message, recipients))
        self.env["wecom.message.member.send"]._wecom_load_pacers(self.pacers, members, self.settings)

    def _paced_members(self, message, recipients):
        if self.settings["member_per_minute"] <= 0 and self.settings["member_per_hour"] <= 0:
            return []  # no pacing
        return message._wecom_paced_members(recipients)

    def new_batch(self):
        """A batch (and its savepoint) begins."""
        self.stored = []

    def store_collected(self, force=False):
        """Store the outcomes taken so far, and count their sends for the pacing: in chunks while sends
        are in flight (the thread would wait anyway), the rest (``force``) at the end of the batch."""
        if not self.outcomes or (not force and len(self.outcomes) < STORE_CHUNK):
            return
        outcomes, sends = self.outcomes, self.sends
        self.outcomes, self.sends, self.deferred = [], [], {}
        self._store(outcomes, sends)
        self.stored.append((outcomes, sends))

    def restore(self):
        """The batch's savepoint was rolled back: store again what was stored since."""
        for outcomes, sends in self.stored:
            self._store(outcomes, sends)

    def _store(self, outcomes, sends):
        self.model._wecom_store_outcomes(outcomes)
        if sends:
            self.env["wecom.message.member.send"]._wecom_record(sends)

    def submit(self, message):
        """Send ``message`` (or defer it), waiting first while its application's window is full."""
        app = message.application_id
        channel = self.channels[app.id]
        if not channel.may_send():
            self._defer(message, channel.next_probe_at, app.id)
            return
        recipients = self.recipients.pop(message.id, None)
        try:
            recipients = recipients or message._wecom_recipients()
        except ValidationError:
            channel.release_probe()
            raise  # its outcome is the unexpected error of the batch: nothing is sent
        members = self._paced_members(message, recipients)
        pacer = self.pacers[app.id]
        now = time.time()
        wait_seconds = pacer.wait(members, now)
        if wait_seconds > 0:
            # not a try: WeCom would drop it silently; it waits as it is
            reason = self.env._(
                "Waiting: WeCom delivers at most %(minute)s messages a minute and %(hour)s an hour to one member.",
                minute=self.settings["member_per_minute"],
                hour=self.settings["member_per_hour"],
            )
            self._wait(message, fields.Datetime.now() + timedelta(seconds=wait_seconds), reason)
            return
        try:
            payload = message._wecom_prepare_payload(recipients)
            token = self._token(app)
        except WeComError as exc:
            channel.release_probe()
            self.outcomes.append((message.id, message._wecom_failure_values(exc, message.try_count + 1)))
            return
        except Exception:
            channel.release_probe()
            raise
        pacer.take(members, now)
        self.make_room(app)
        self._start(SendJob(message, app, payload, token, self._window(app), members))

    def make_room(self, app):
        """Wait while the window of ``app`` is full. A send that ends frees its place at once: its outcome
        is taken (database work) on the next call, while the window is full again, so that the next send
        does not wait for it."""
        window = self._window(app)
        while True:
            self._start_replays()
            if self._in_flight(app) < window.limit:
                return
            if self.finished:
                self._collect()
                continue
            self.store_collected()
            self._wait_some()

    def finish(self):
        """Wait for every send in flight and take its outcome."""
        while self.running or self.finished or self.replays:
            self._collect()
            self._start_replays(ignore_window=not self.running)
            if self.running:
                self._wait_some()

    # ------------------------------------------------------------------ internals
    def _window(self, app):
        if app.id not in self.windows:
            self.windows[app.id] = windows.get((self.env.cr.dbname, app.id), self.settings["concurrency"])
        return self.windows[app.id]

    def _token(self, app):
        if app.id not in self.tokens:
            self.tokens[app.id] = app._wecom_get_token()
        return self.tokens[app.id]

    def _start(self, job):
        if self.client is None:
            self.client = self.model._wecom_client()
        job.ticket = job.window.ticket()
        job.result = job.error = None
        self.running.add(job)
        self.in_flight[job.app.id] += 1
        send_threads.submit(job, self.client, self.ended)

    def _defer(self, message, until, app_id):
        """The application's circuit is open: the message waits for the next probe (not a try)."""
        self.deferred.setdefault(app_id, []).append(len(self.outcomes))
        reason = self.env._(
            "Waiting: WeCom unreachable since %(since)s UTC; one message probes it per retry interval.",
            since=fields.Datetime.to_string(self.channels[app_id].outage_since),
        )
        self._wait(message, until, reason, outage=True)

    def _wait(self, message, until, reason, outage=False):
        """The message waits as it is, untried, until ``until`` (its reason on the form)."""
        values = {"state": "outgoing", "next_try_date": until, "claimed_at": False, "failure_reason": reason}
        self.outcomes.append((message.id, {**values, "wait_outage": outage}))

    def _in_flight(self, app):
        return self.in_flight[app.id]

    def _wait_some(self):
        """Wait until sends end; they leave the window. A success's outcome waits in ``finished``; a failure
        is taken at once, as it may open the circuit, shrink the window or need a new token before the next
        send."""
        done = [self.ended.get()]
        while True:
            try:
                done.append(self.ended.get_nowait())
            except queue.Empty:
                break
        for job in done:
            self.running.discard(job)
            self.in_flight[job.app.id] -= 1
        self.finished += done
        if any(job.error is not None for job in done):
            self._collect()

    def _start_replays(self, ignore_window=False):
        """Send again, with the renewed token, the sends whose token WeCom rejected (within the window)."""
        for job in list(self.replays):
            if ignore_window or self._in_flight(job.app) < job.window.limit:
                self.replays.remove(job)
                self._start(job)

    def _collect(self):
        """Take the outcomes of the sends that ended."""
        finished, self.finished = self.finished, []
        for job in finished:
            message, channel = job.message, self.channels[job.app.id]
            try:
                if job.error is not None:
                    raise job.error
                data = job.result
            except WeComTokenError as exc:
                channel.success()  # WeCom answered
                if not job.replayed:
                    # renew once (on this thread: it needs the database), replay once
                    _logger.info(
                        "WeCom outbox: token of application %s rejected (%s), renewing", job.app.id, exc.errcode
                    )
                    try:
                        self.tokens[job.app.id] = job.token = job.app._wecom_get_token(failed_token=job.token)
                    except WeComError as renewal_error:
                        values = message._wecom_failure_values(renewal_error, job.try_count)
                    else:
                        job.replayed = True
                        self.replays.append(job)
                        continue
                else:
                    values = message._wecom_failure_values(exc, job.try_count)
            except WeComError as exc:
                if is_rate_error(exc) and job.window.throttled(job.ticket):
                    _logger.info(
                        "WeCom outbox: application %s answered %s, %s send(s) in flight from now on",
                        job.app.id,
                        exc.errcode,
                        job.window.limit,
                    )
                values = message._wecom_failure_values(exc, job.try_count)
                if is_transport_error(exc):
                    channel.failure(exc)
                    if channel.is_open and values["state"] == "outgoing":
                        values["next_try_date"] = max(values["next_try_date"], channel.next_probe_at)
                else:
                    channel.success()
            except Exception as exc:  # noqa: BLE001 - one message must never stop the others
                _logger.exception("WeCom outbox: message %s failed unexpectedly", message.id)
                values = message._wecom_unexpected_values(exc, job.try_count)
            else:
                job.window.success()
                if channel.success():
                    self._release_deferred(job.app.id)
                values = message._wecom_success_values(data, job.try_count)
                self.sends.append((job.app.id, job.members))
            self.outcomes.append((message.id, values))

    def _release_deferred(self, app_id):
        """The circuit closed: the messages of this batch that waited for it are due at once."""
        for index in self.deferred.pop(app_id, []):
            self.outcomes[index][1].update(next_try_date=False, wait_outage=False)


class CircuitState:
    """One application's circuit during one batch (a view of its row, written through at each change)."""

    def __init__(self, model, app, row):
        self.model, self.app = model, app
        self.failures = row.failures if row else 0
        self.outage_since = row.outage_since if row else False
        self.next_probe_at = row.next_probe_at if row else False
        self.probing = False  # this batch sent the probe and waits for its answer

    @property
    def is_open(self):
        return bool(self.outage_since)

    def _update(self, values):
        self.failures, self.outage_since, self.next_probe_at = values

    def may_send(self):
        """The circuit is closed, or this message may be the probe (one per retry interval, all workers)."""
        if not self.is_open:
            return True
        if self.probing or (self.next_probe_at and self.next_probe_at > fields.Datetime.now()):
            return False
        taken, values = self.model._wecom_take_probe(self.app)
        self._update(values)
        self.probing = taken
        return taken

    def release_probe(self):
        """The probe could not go out (its message failed before the call): another may."""
        self.probing = False

    def failure(self, error):
        self.probing = False
        self._update(self.model._wecom_failure(self.app, error))

    def success(self):
        """WeCom answered. :return: True when that closed the circuit."""
        self.probing = False
        if not self.failures and not self.is_open:
            return False
        was_open = self.is_open
        self._update(self.model._wecom_success(self.app))
        return was_open
