"""The outbox's HTTP threads and send jobs (``wecom_base/lib/sending.py``), without Odoo."""

import queue
import time

from wecom_base.lib import WeComApiError, WeComNetworkError
from wecom_base.lib.sending import SendJob, SendThreads, is_rate_error, is_transport_error


class Job:
    def __init__(self, number):
        self.number = number

    def send(self, client, ended):
        time.sleep(0.01)
        ended.put(self)


def test_send_threads_hand_every_job_back():
    """Every job comes back on its queue, no more threads than the limit, and a forked process (another pid)
    starts threads of its own."""
    send_threads = SendThreads(3)
    ended = queue.SimpleQueue()
    for number in range(10):
        send_threads.submit(Job(number), None, ended)
    assert sorted(ended.get(timeout=5).number for _ in range(10)) == list(range(10))
    assert send_threads.threads <= 3
    send_threads.pid = -1  # as in a worker forked after the threads started
    send_threads.submit(Job(99), None, ended)
    assert ended.get(timeout=5).number == 99
    assert send_threads.threads == 1


class Message:
    try_count = 2


class Client:
    def __init__(self, result=None, error=None):
        self.result, self.error, self.calls = result, error, []

    def send_message(self, token, payload):
        self.calls.append((token, payload))
        if self.error:
            raise self.error
        return self.result


def test_a_job_keeps_the_answer_or_the_error_and_comes_back():
    ended = queue.SimpleQueue()
    job = SendJob(Message(), "app", {"msgtype": "text"}, "TOKEN", None, ["zhangsan"])
    assert job.try_count == 3
    job.send(Client(result={"errcode": 0, "msgid": "m1"}), ended)
    assert ended.get(timeout=1) is job and job.result == {"errcode": 0, "msgid": "m1"} and job.error is None
    failing = SendJob(Message(), "app", {}, "TOKEN", None, [])
    error = WeComNetworkError("down")
    failing.send(Client(error=error), ended)
    assert ended.get(timeout=1) is failing and failing.error is error and failing.result is None


def test_failures_of_the_channel_and_of_the_pace():
    assert is_transport_error(WeComNetworkError("timeout"))
    assert is_transport_error(WeComApiError(-1, "busy"))
    assert not is_transport_error(WeComApiError(45033, "too many"))
    assert is_rate_error(WeComApiError(45033, "too many")) and is_rate_error(WeComApiError(45009, "freq"))
    assert not is_rate_error(WeComApiError(81013, "no recipient"))
    assert not is_rate_error(WeComNetworkError("down"))
