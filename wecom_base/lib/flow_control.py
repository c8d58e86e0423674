"""How fast the outbox may talk to WeCom: retry backoff, the concurrency window of an application, and
the pacing of messages to one member. Pure Python (no Odoo, no I/O); the outbox keeps the state.
"""

import random
import threading
from collections import defaultdict


def retry_delay(tries, base, maximum, minimum=0, jitter=0.2):
    """Seconds before the next try: ``base`` doubled per try made so far, at most ``maximum``, then
    +-``jitter`` (so that messages failed together do not come back together).

    :param int tries: tries made so far (1 after the first)
    :param float minimum: a floor before the jitter (45009: WeCom blocks for a minute)
    """
    delay = min(base * (2 ** max(tries - 1, 0)), maximum)
    delay = max(delay, minimum)
    return delay * random.uniform(1 - jitter, 1 + jitter)


class AimdWindow:
    """How many requests of one application may be in flight: additive increase, multiplicative decrease.

    The window starts at ``maximum``, halves when WeCom answers 45033 (too many concurrent calls) or 45009
    (frequency limit), at most once per window of requests (the answers to requests sent before the last
    decrease say nothing new), and grows by one per window of successes, back to ``maximum``.
    Thread-safe.
    """

    def __init__(self, maximum):
        self._lock = threading.Lock()
        self.maximum = max(1, int(maximum))
        self.size = float(self.maximum)
        self._sent = 0  # tickets handed out
        self._decreased_at = 0  # the ticket count at the last decrease

    @property
    def limit(self):
        """Requests that may be in flight now (at least 1)."""
        return max(1, int(self.size))

    def resize(self, maximum):
        """A new ceiling (the system parameter changed)."""
        with self._lock:
            self.maximum = max(1, int(maximum))
            self.size = min(self.size, self.maximum)

    def ticket(self):
        """Call when a request goes out; pass the ticket to :meth:`throttled`."""
        with self._lock:
            self._sent += 1
            return self._sent

    def success(self):
        with self._lock:
            self.size = min(float(self.maximum), self.size + 1.0 / self.size)

    def throttled(self, ticket):
        """WeCom refused the request of ``ticket`` for its rate: shrink, once per window.

        :return: True when the window shrank
        """
        with self._lock:
            if ticket <= self._decreased_at:
                return False
            self.size = max(1.0, self.size / 2)
            self._decreased_at = self._sent
            return True


class WindowRegistry:
    """The :class:`AimdWindow` of each key (database, application), kept for the life of the process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}

    def get(self, key, maximum):
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = AimdWindow(maximum)
        if window.maximum != max(1, int(maximum)):
            window.resize(maximum)
        return window

    def clear(self):
        with self._lock:
            self._windows.clear()


class MemberPacer:
    """WeCom drops app messages beyond ``per_minute`` a minute and ``per_hour`` an hour to one member
    (path/90236): decide which message may go now, with sliding windows over the recent sends.

    :param dict recent: ``{member: [epoch seconds of the sends of the last hour]}``
    """

    def __init__(self, per_minute, per_hour, recent=None):
        self.limits = [(60.0, per_minute), (3600.0, per_hour)]
        self.recent = defaultdict(list)
        self.learn(recent or {})

    def knows(self, member):
        """The sends to ``member`` are known (learnt, or counted since)."""
        return member in self.recent

    def learn(self, recent):
        """Add what happened before: ``{member: [epoch seconds of earlier sends]}``."""
        for member, times in recent.items():
            self.recent[member] = sorted([*self.recent.get(member, []), *times])

    def wait(self, members, now):
        """Seconds until a message to all ``members`` may go (0: now).

        A limit of 0 or less is no limit.
        """
        wait = 0.0
        for member in members:
            times = self.recent.get(member) or ()
            for span, limit in self.limits:
                if limit <= 0:
                    continue
                inside = [t for t in times if t > now - span]
                if len(inside) >= limit:
                    # the send that must leave the window first
                    wait = max(wait, inside[len(inside) - limit] + span - now)
        return wait

    def take(self, members, now):
        """Count a message to ``members`` sent at ``now``."""
        for member in members:
            self.recent[member].append(now)
