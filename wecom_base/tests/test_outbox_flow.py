"""The outbox at WeCom's limits (issue 15): concurrent sends and their window, pacing per member, the
circuit of an application during an outage, and giving up by age."""

from datetime import datetime, timedelta

from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from ..outbox import windows
from .common import WeComCase

SEND = "/cgi-bin/message/send"
QUEUE_LOGGER = "odoo.addons.wecom_base"  # the model and the drain (outbox.py)
CHANNEL_LOGGER = "odoo.addons.wecom_base.models.wecom_application_circuit"


@tagged("post_install", "-at_install")
class TestOutboxFlow(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]

    def setUp(self):
        super().setUp()
        windows.clear()
        self.addCleanup(windows.clear)

    def queue(self, count, userids=None, tag="m"):
        return self.Message.browse(
            [
                self.Message.wecom_send(self.app, userids=userids or [f"user{i}"], content=f"{tag}{i}").id
                for i in range(count)
            ]
        )

    def window(self):
        return windows.get((self.env.cr.dbname, self.app.id), const.MESSAGE_CONCURRENCY)

    def travel_probe(self):
        self.env["wecom.application.circuit"].search([]).next_probe_at = datetime.utcnow() - timedelta(seconds=1)

    def delivered(self):
        return sorted(m["payload"]["text"]["content"] for m in self.mock.messages() if m["delivered"])

    # ------------------------------------------------------------------ concurrency
    def test_sends_overlap_up_to_the_window(self):
        """Slow answers: the drain keeps up to wecom_base.message_concurrency (8) requests in flight."""
        messages = self.queue(24)
        self.mock.add_fault(path=SEND, delay=0.2, times=-1)
        with self.assertMockCalls(message_send=24):
            self.Message._cron_process_queue()
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        in_flight = self.mock.stats()["max_in_flight"]
        self.assertGreater(in_flight, 1, "the sends overlapped")
        self.assertLessEqual(in_flight, const.MESSAGE_CONCURRENCY)

    def test_concurrency_one_is_one_at_a_time(self):
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")
        self.queue(3)
        self.mock.add_fault(path=SEND, delay=0.1, times=-1)
        self.Message._cron_process_queue()
        self.assertEqual(self.mock.stats()["max_in_flight"], 1)
        self.assertEqual(self.delivered(), ["m0", "m1", "m2"], "in queue order")

    def test_45033_halves_the_window_and_successes_grow_it_back(self):
        messages = self.queue(12)
        self.mock.add_fault(path=SEND, errcode=45033, errmsg="api concurrent out of limit", after=2)
        self.Message._cron_process_queue()
        refused = messages.filtered(lambda m: m.state == "outgoing")
        self.assertEqual(len(refused), 1)
        self.assertEqual((refused.try_count, refused.failure_type), (1, False))
        self.assertIn("45033", refused.failure_reason)
        self.assertGreater(refused.next_try_date, datetime.utcnow())
        # halved once (8 -> 4), then ~1/size per success: 10 successes after it
        self.assertLess(self.window().limit, const.MESSAGE_CONCURRENCY)
        self.assertGreaterEqual(self.window().limit, const.MESSAGE_CONCURRENCY // 2)
        for _success in range(100):
            self.window().success()
        self.assertEqual(self.window().limit, const.MESSAGE_CONCURRENCY)

    def test_45009_burst_shrinks_once_per_window(self):
        """Eight answers 45009 to eight requests in flight: one decrease, not eight (8 -> 4, not 1)."""
        self.queue(8)
        self.mock.add_fault(path=SEND, errcode=45009, errmsg="api freq out of limit", delay=0.1, times=8)
        self.Message._cron_process_queue()
        self.assertEqual(self.window().limit, const.MESSAGE_CONCURRENCY // 2)

    # ------------------------------------------------------------------ pacing
    def test_forty_messages_to_one_member(self):
        """WeCom drops app messages beyond 30 a minute to one member: the rest wait, not a try, not failed."""
        messages = self.queue(40, userids=["zhangsan"])
        with self.assertMockCalls(message_send=30):
            self.Message._cron_process_queue()
            self.Message._cron_process_queue()  # due again? no: they wait for the minute
        sent, waiting = messages[:30], messages[30:]
        self.assertEqual(set(sent.mapped("state")), {"sent"})
        self.assertEqual(set(waiting.mapped("state")), {"outgoing"})
        self.assertEqual(set(waiting.mapped("try_count")), {0}, "waiting for the pacing is not a try")
        self.assertFalse(any(waiting.mapped("failure_type")))
        first_sent = min(sent.mapped("sent_date"))
        for message in waiting:
            self.assertGreaterEqual(message.next_try_date, first_sent + timedelta(seconds=59))
            self.assertLessEqual(message.next_try_date, datetime.utcnow() + timedelta(seconds=61))
        # a minute later (travelled): the ten go
        sends = self.env["wecom.message.member.send"].search([("userid", "=", "zhangsan")])
        self.assertEqual(len(sends), 30)
        sends.write({"sent_at": datetime.utcnow() - timedelta(seconds=61)})
        waiting.write({"next_try_date": datetime.utcnow() - timedelta(seconds=1)})
        with self.assertMockCalls(message_send=10):
            self.Message._cron_process_queue()
        self.assertEqual(set(messages.mapped("state")), {"sent"})

    def test_a_message_to_many_counts_once_per_member(self):
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MEMBER_RATE_PER_MINUTE, "2")
        both = self.Message.wecom_send(self.app, userids=["zhangsan", "lisi"], content="both")
        self.Message._cron_process_queue()
        self.assertEqual(both.state, "sent")
        self.assertEqual(
            sorted(self.env["wecom.message.member.send"].search([]).mapped("userid")), ["lisi", "zhangsan"]
        )
        lisi = self.Message.wecom_send(self.app, userids=["lisi"], content="lisi")
        again = self.Message.wecom_send(self.app, userids=["zhangsan", "wangwu"], content="again")
        third = self.Message.wecom_send(self.app, userids=["zhangsan"], content="third")
        self.Message._cron_process_queue()
        self.assertEqual((lisi.state, again.state), ("sent", "sent"))
        self.assertEqual((third.state, third.try_count), ("outgoing", 0), "zhangsan had his two this minute")

    def test_pacing_off(self):
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MEMBER_RATE_PER_MINUTE, "0")
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MEMBER_RATE_PER_HOUR, "0")
        messages = self.queue(35, userids=["zhangsan"])
        self.Message._cron_process_queue()
        self.assertEqual(set(messages.mapped("state")), {"sent"})

    # ------------------------------------------------------------------ outages
    def test_outage_opens_the_circuit_and_the_backlog_drains_after_it(self):
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")
        messages = self.queue(20)
        self.mock.add_fault(path=SEND, status=502, times=-1)
        notes_before = len(self.app.message_ids)
        with mute_logger(CHANNEL_LOGGER), self.assertMockCalls(message_send=const.CIRCUIT_FAILURES):
            self.Message._cron_process_queue()
        self.assertTrue(self.app.outage_since)
        self.assertEqual(set(messages.mapped("state")), {"outgoing"}, "an outage fails no message")
        self.assertEqual(sum(messages.mapped("try_count")), const.CIRCUIT_FAILURES, "waiting is not a try")
        self.assertTrue(all(messages.mapped("failure_reason")), "each says why it waits")
        # nothing due before the next probe; then one probe per retry interval
        with self.assertMockCalls(message_send=0):
            self.Message._cron_process_queue()
        messages.write({"next_try_date": datetime.utcnow() - timedelta(seconds=1)})
        with mute_logger(CHANNEL_LOGGER), self.assertMockCalls(message_send=0):
            self.Message._cron_process_queue()  # the messages are due, the probe is not
        self.travel_probe()
        messages.write({"next_try_date": datetime.utcnow() - timedelta(seconds=1)})
        with mute_logger(CHANNEL_LOGGER), self.assertMockCalls(message_send=1):
            self.Message._cron_process_queue()
        self.assertTrue(self.app.outage_since, "the probe failed: still open")
        self.app.invalidate_recordset(["message_ids"])
        self.assertEqual(len(self.app.message_ids), notes_before + 1, "the outage is noted once")
        self.assertIn("WeCom unreachable", str(self.app.message_ids[0].body))
        # WeCom is back: the next probe succeeds, the circuit closes and the backlog goes at once
        self.mock.clear_faults()
        self.travel_probe()
        messages.filtered(lambda m: m.try_count).write({"next_try_date": datetime.utcnow() - timedelta(seconds=1)})
        with self.assertMockCalls(message_send=20):
            self.Message._cron_process_queue()
            self.Message._cron_process_queue()
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.app.invalidate_recordset(["outage_since", "message_ids"])
        self.assertFalse(self.app.outage_since)
        self.assertIn("WeCom reachable again", str(self.app.message_ids[0].body))
        self.assertEqual(len(self.app.message_ids), notes_before + 2)
        self.assertEqual(self.delivered(), sorted(f"m{i}" for i in range(20)), "each exactly once")

    def test_content_errors_still_fail_at_once_during_an_outage_count(self):
        messages = self.queue(2)
        self.mock.add_fault(path=SEND, errcode=-1, errmsg="busy")
        self.mock.add_fault(path=SEND, errcode=40008, errmsg="invalid message type")
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")
        self.Message._cron_process_queue()
        self.assertEqual(messages.mapped("state"), ["outgoing", "exception"])
        self.assertEqual(messages[1].failure_type, "content")
        channel = self.env["wecom.application.circuit"].search([("application_id", "=", self.app.id)])
        self.assertEqual(channel.failures, 0, "an answer from WeCom ends a run of transport failures")

    def test_retry_schedule_from_the_system_parameters(self):
        icp = self.env["ir.config_parameter"].sudo()
        icp.set_param(const.PARAM_MESSAGE_RETRY_BASE, "2")
        icp.set_param(const.PARAM_MESSAGE_RETRY_MAX, "3")
        message = self.queue(1)
        self.mock.add_fault(path=SEND, errcode=45033, errmsg="busy", times=-1)
        self.Message._cron_process_queue()
        delay = (message.next_try_date - datetime.utcnow()).total_seconds()
        self.assertLess(delay, 2 * 1.2 + 1)
        message.try_count = 6
        message.next_try_date = datetime.utcnow() - timedelta(seconds=1)
        self.Message._cron_process_queue()
        self.assertLess((message.next_try_date - datetime.utcnow()).total_seconds(), 3 * 1.2 + 1, "at most max")
        self.assertEqual(message.state, "outgoing", "45033 gives up by age, not by tries")
