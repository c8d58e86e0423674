"""Sending on threads, for the outbox: the process's pool of HTTP threads and one job in flight, and how a
failed send is classified. Pure Python: imports nothing from Odoo (the outbox's :class:`~..outbox.Flight`
drives them from the drain's thread).
"""

import os
import queue
import threading

from .. import const
from .errcodes import RATE_LIMIT, has_trait
from .exceptions import WeComApiError, WeComNetworkError


def is_transport_error(error):
    """WeCom could not be reached or failed on its side (network, timeout, HTTP 5xx, -1): the channel's
    problem, not the message's."""
    return isinstance(error, WeComNetworkError) or (
        isinstance(error, WeComApiError) and error.errcode == const.ERRCODE_SYSTEM_BUSY
    )


def is_rate_error(error):
    """WeCom refused for our pace (the errcodes of the table's ``RATE_LIMIT`` trait)."""
    return isinstance(error, WeComApiError) and has_trait(error, RATE_LIMIT)


class RobotThrottled(Exception):
    """The robot sent its 20 messages of the minute: wait ``wait`` seconds."""

    def __init__(self, wait):
        super().__init__(f"robot rate limit, wait {wait:.0f} s")
        self.wait = wait


class SendThreads:
    """The process's threads for the outbox's HTTP calls: each takes a job from one queue and sends it.

    Grown on demand up to ``MESSAGE_CONCURRENCY_MAX``, made again after a fork (a forked worker has the
    parent's objects but none of its threads). A queue each way, not a ``ThreadPoolExecutor``: a future per send and the
    drain's ``wait()`` on them cost more than the rest of the drain's own work per message.
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


send_threads = SendThreads(const.MESSAGE_CONCURRENCY_MAX)


class SendJob:
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
        except Exception as exc:  # noqa: BLE001 - taken by the drain's thread (Flight._collect)
            self.error = exc
        finally:
            ended.put(self)
