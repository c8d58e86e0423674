"""The outbox queue: claims, the cron's drain and concurrent sends.

A drain claims a batch (``FOR NO KEY UPDATE SKIP LOCKED`` in a short transaction of its own), sends it,
and stores every outcome in the cron's transaction, committed after each batch. Application messages go
out concurrently (:class:`_Flight`: up to ``wecom_base.message_concurrency`` requests in flight, HTTP on
threads that never touch the cursor), gated by the application's circuit (``wecom_message_channel.py``)
and by the pacing of each member (``wecom_message_member_send.py``); other channels one after the other.
One try and its outcome values are in ``wecom_message_attempt.py``, storing the outcomes (and the hook that
runs after) in ``wecom_message_outcome.py``.
"""

import logging
import os
import queue
import threading
import time
from collections import Counter
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import compat, const
from ..lib import WeComError, WeComTokenError
from ..lib.flow_control import WindowRegistry
from ..tools import number_param, short_transaction
from .wecom_message_attempt import is_rate_error, is_transport_error

_logger = logging.getLogger(__name__)

# outcomes stored together while sends are in flight (a savepoint and a flush each)
STORE_CHUNK = 50

# (database, application id) -> the AIMD window of concurrent sends, for the life of the process
windows = WindowRegistry()


class _SendThreads:
    """The process's threads for the outbox's HTTP calls: each takes a job from one queue and sends it.

    Grown on demand up to ``MESSAGE_CONCURRENCY_MAX``, made again after a fork (a forked worker has the
    parent's objects but none of its threads). A ``ThreadPoolExecutor``'s future per send and the drain's
    ``wait()`` on them were a sixth of the drain's own time per message; a queue each way costs little.
    """

    def __init__(self, size):
        self.size = size
        self.lock = threading.Lock()
        self.pid = None
        self.jobs = None
        self.threads = 0

    def submit(self, job, client, ended):
        """Send ``job`` on a thread with ``client``; the job is put on ``ended`` when its send ended."""
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    self.jobs, self.threads, self.pid = queue.SimpleQueue(), 0, os.getpid()
        self.jobs.put((job, client, ended))
        if self.jobs.qsize() and self.threads < self.size:  # every thread is busy: one more
            with self.lock:
                if self.threads < self.size:
                    self.threads += 1
                    threading.Thread(
                        target=self._work, args=(self.jobs,), name=f"wecom-outbox-{self.threads}", daemon=True
                    ).start()

    @staticmethod
    def _work(jobs):
        while True:
            job, client, ended = jobs.get()
            job.send(client, ended)


_send_threads = _SendThreads(const.MESSAGE_CONCURRENCY_MAX)


class _Job:
    """One application message in flight: what the thread sends and what the outcome needs."""

    __slots__ = (
        "app",
        "error",
        "members",
        "message",
        "payload",
        "replayed",
        "result",
        "ticket",
        "token",
        "try_count",
        "window",
    )

    def __init__(self, message, app, payload, token, window, members):
        self.message, self.app, self.payload, self.token = message, app, payload, token
        self.window, self.members = window, members
        self.try_count = message.try_count + 1
        self.replayed = False
        self.ticket = self.result = self.error = None

    def send(self, client, ended):
        """On a pool thread: call ``message/send``, keep WeCom's answer or the error, and hand the job
        back on ``ended`` (a queue the drain waits on: cheaper than a future and ``wait()`` per send)."""
        try:
            self.result = client.send_message(self.token, self.payload)
        except Exception as exc:  # noqa: BLE001 - taken by the drain's thread (_Flight._collect)
            self.error = exc
        finally:
            ended.put(self)


class _Flight:
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
        self.channels.update(self.env["wecom.message.channel"]._wecom_channels(apps))
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
        self._start(_Job(message, app, payload, token, self._window(app), members))

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
        _send_threads.submit(job, self.client, self.ended)

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


class WeComMessage(models.Model):
    _inherit = "wecom.message"

    # ------------------------------------------------------------------ claims
    # FOR NO KEY UPDATE SKIP LOCKED and a claim in one statement: the ORM has neither
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
        return number_param(self.env, const.PARAM_MESSAGE_CLAIM_LEASE, const.MESSAGE_CLAIM_LEASE, minimum=1)

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
            with short_transaction(self.env) as cr:
                cr.execute(self._CLAIM_QUERY, [self.with_env(self.env(cr=cr))._wecom_claim_lease(), limit])
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
    def _wecom_due_domain(self):
        """Messages a sender could claim now: due, and not in flight under a claim younger than the lease."""
        now = fields.Datetime.now()
        lease_end = now - timedelta(seconds=self._wecom_claim_lease())
        return [
            ("state", "=", "outgoing"),
            "|",
            ("next_try_date", "=", False),
            ("next_try_date", "<=", now),
            "|",
            ("claimed_at", "=", False),
            ("claimed_at", "<", lease_end),
        ]

    @api.model
    def _wecom_due_count(self):
        """How many messages a sender could claim now (counting claims within their lease made a drain
        re-trigger itself in a loop until the lease of a dead sender ended)."""
        return self.search_count(self._wecom_due_domain())

    @api.model
    def _wecom_next_due_date(self):
        """When the first queued message that cannot be claimed now will be: at its retry date, or when
        the lease of its claim ends (its sender may have died). None when no message waits.

        :rtype: datetime or None
        """
        dates = []
        [(next_try,)] = self._read_group(
            [("state", "=", "outgoing"), ("claimed_at", "=", False), ("next_try_date", "!=", False)],
            aggregates=["next_try_date:min"],
        )
        if next_try:
            dates.append(next_try)
        [(claimed,)] = self._read_group(
            [("state", "=", "outgoing"), ("claimed_at", "!=", False)], aggregates=["claimed_at:min"]
        )
        if claimed:
            dates.append(claimed + timedelta(seconds=self._wecom_claim_lease()))
        return min(dates) if dates else None

    # ------------------------------------------------------------------ the drain
    @api.model
    def _cron_process_queue(self, batch_size=None, max_batches=None):
        """Drain due messages in batches: one try/except per message, a commit after each batch (except
        under tests), and a new trigger while a backlog remains.

        :param int batch_size: messages per batch (system parameter ``wecom_base.message_batch_size``)
        :param int max_batches: stop after this many batches (the cron is re-triggered for the rest)
        :return: the number of messages processed
        :rtype: int
        """
        batch_size = batch_size or number_param(
            self.env, const.PARAM_MESSAGE_BATCH_SIZE, const.MESSAGE_BATCH_SIZE, minimum=1
        )
        max_batches = max_batches or const.MESSAGE_MAX_BATCHES_PER_RUN
        auto_commit = compat.may_commit(self.env.cr)
        lease = self._wecom_claim_lease()
        done = 0
        flight = _Flight(self)
        for _batch in range(max_batches):
            if auto_commit:
                # the next snapshot of this transaction must see the claims
                self.env.cr.commit()  # pylint: disable=invalid-commit
            messages = self._wecom_claim_batch(batch_size, own_transaction=auto_commit)
            if not messages:
                break
            # end the batch well within the claim lease, or another sender would take its messages again
            done += messages._wecom_send_batch(deadline=time.monotonic() + lease / 2, flight=flight)
            if auto_commit:
                # a batch sent is stored for good
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if flight.running or flight.finished or flight.replays or flight.outcomes:
            # the last batch's sends still in flight
            flight.new_batch()
            flight.finish()
            flight.store_collected(force=True)
            if auto_commit:
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

    # Channels sent concurrently, their outcomes stored at the end of the batch. Others (group robots,
    # whose rate limit counts the sends already stored, and channels added by other addons) are sent one
    # after the other and stored after each send.
    _WECOM_BATCHED_CHANNELS = ("application",)

    def _wecom_send_batch(self, deadline=None, flight=None):
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
        :param flight: the drain's concurrent sends (:class:`_Flight`): the sends of this batch still in
            flight at its end are stored with the next batch. Without it, the batch waits for its own sends.
        :return: the number of messages tried
        :rtype: int
        """
        batch_savepoint = self.env.cr.savepoint()
        outcomes, stored = [], 0
        released = self.browse()
        own_flight = flight is None
        flight = flight or _Flight(self)
        flight.new_batch()
        flight.load(self.filtered(lambda m: m.channel in self._WECOM_BATCHED_CHANNELS))
        for index, message in enumerate(self):
            if message.channel in self._WECOM_BATCHED_CHANNELS:
                flight.make_room(message.application_id)  # before the deadline: waiting may pass it
            if deadline is not None and time.monotonic() > deadline:
                released = self[index:]
                _logger.warning(
                    "WeCom outbox: batch too slow, %s message(s) released unsent: %s", len(released), released.ids
                )
                outcomes += [(message_id, {"claimed_at": False}) for message_id in released.ids]
                break
            channel, try_count = message.channel, message.try_count
            try:
                if channel in self._WECOM_BATCHED_CHANNELS:
                    flight.submit(message)
                    continue
                values = message._wecom_attempt()[0]
            except Exception as exc:  # noqa: BLE001 - one message must never stop the others
                _logger.exception("WeCom outbox: message %s failed unexpectedly", message.id)
                if self._wecom_transaction_aborted():
                    batch_savepoint.rollback()  # raises when the connection is lost: the batch stops
                    self._wecom_store_outcomes(outcomes)  # again: the rollback undid those stored
                    flight.restore()
                    stored = len(outcomes)
                values = self._wecom_unexpected_values(exc, try_count + 1)
            outcomes.append((message.id, values))
            if channel not in self._WECOM_BATCHED_CHANNELS:
                self._wecom_store_outcomes(outcomes[stored:])
                stored = len(outcomes)
        if own_flight:
            flight.finish()
        flight.store_collected(force=True)
        self._wecom_store_outcomes(outcomes[stored:])
        batch_savepoint.close(rollback=False)
        return len(self) - len(released)
