"""How fast the outbox may talk to WeCom (``wecom_base/lib/flow_control.py``), without Odoo."""

import threading

import pytest

from wecom_base.lib.flow_control import AimdWindow, MemberPacer, WindowRegistry, retry_delay


def test_retry_delay_doubles_up_to_the_max_with_jitter():
    for tries, expected in ((1, 30), (2, 60), (3, 120), (10, 3600)):
        for _ in range(20):
            assert expected * 0.8 <= retry_delay(tries, 30, 3600) <= expected * 1.2
    assert retry_delay(1, 1, 2, jitter=0) == 1
    assert retry_delay(5, 1, 2, jitter=0) == 2
    assert retry_delay(1, 30, 3600, minimum=60, jitter=0) == 60


def test_window_halves_once_per_window_on_throttling_and_grows_back():
    window = AimdWindow(8)
    assert window.limit == 8
    tickets = [window.ticket() for _ in range(8)]
    assert window.throttled(tickets[0]) is True
    assert window.limit == 4
    # the other answers to requests sent before the decrease say nothing new
    assert not any(window.throttled(ticket) for ticket in tickets[1:])
    assert window.limit == 4
    assert window.throttled(window.ticket()) is True
    assert window.limit == 2
    for _ in range(3):
        window.throttled(window.ticket())
    assert window.limit == 1, "never below one request in flight"
    for _ in range(200):
        window.success()
    assert window.limit == 8, "additive increase back to the ceiling, not beyond"


def test_window_registry_follows_the_setting():
    registry = WindowRegistry()
    window = registry.get(("db", 1), 8)
    assert registry.get(("db", 1), 8) is window
    assert registry.get(("db", 1), 2).limit == 2
    assert registry.get(("db", 2), 8).limit == 8


def test_window_is_thread_safe():
    window = AimdWindow(32)

    def hammer():
        for _ in range(1000):
            window.success()
            window.ticket()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert window._sent == 4000


def test_pacer_minute_window():
    pacer = MemberPacer(30, 1000)
    now = 1_000_000.0
    for i in range(30):
        assert pacer.wait(["zhangsan"], now + i) == 0
        pacer.take(["zhangsan"], now + i)
    # the 31st must wait until the first send leaves the sliding minute
    assert pacer.wait(["zhangsan"], now + 30) == pytest.approx(30)
    assert pacer.wait(["lisi"], now + 30) == 0, "another member is not held up"
    assert pacer.wait(["lisi", "zhangsan"], now + 30) == pytest.approx(30), "a message waits for its busiest member"
    assert pacer.wait(["zhangsan"], now + 60.5) == 0


def test_pacer_hour_window_and_history():
    base = 1_000_000.0
    history = {"zhangsan": [base + 3.5 * i for i in range(1000)]}  # about 17 a minute, 1000 within the hour
    pacer = MemberPacer(30, 1000, history)
    assert pacer.knows("zhangsan") and not pacer.knows("lisi")
    now = base + 3500
    assert pacer.wait(["zhangsan"], now) == pytest.approx(100), "the 1001st waits for the oldest to leave the hour"
    assert pacer.wait(["zhangsan"], now + 100.5) == 0


def test_pacer_zero_is_no_limit():
    pacer = MemberPacer(0, 0)
    for _ in range(100):
        pacer.take(["a"], 1.0)
    assert pacer.wait(["a"], 1.0) == 0
