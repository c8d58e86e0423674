"""The fast part of the outbox's fault matrix (the long one is ``scripts/bench_faults.py``).

A drain of 30 messages in batches of 10 with a fault injected mid-drain (after the 10th send): once the fault
is gone and the retries are due, every message is final, WeCom (the mock) received each exactly once, and
every failure has a reason. Single-message retries of each fault and 42001 in mid-batch are covered in
``test_wecom_message``; here the point is the neighbours of the faulty sends and the resends.
"""

import time
from datetime import datetime, timedelta

from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import const
from .common import WeComCase

COUNT = 30
OUTBOX_LOGGER = "odoo.addons.wecom_base"  # the model and the drain (outbox.py)
CHANNEL_LOGGER = "odoo.addons.wecom_base.models.wecom_application_circuit"


@tagged("post_install", "-at_install")
class TestFaultMatrix(WeComCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Message = cls.env["wecom.message"]
        cls.env["ir.config_parameter"].sudo().set_param(const.PARAM_TIMEOUT, "1")

    def queue(self, tag):
        return self.Message.browse(
            [self.Message.wecom_send(self.app, userids=[f"user{i % 7}"], content=f"{tag}-{i}").id for i in range(COUNT)]
        )

    def drain_until_final(self, messages, settle=None):
        for _round in range(6):
            self.Message._cron_process_queue(batch_size=10)
            waiting = messages.filtered(lambda m: m.state == "outgoing")
            if not waiting:
                return
            # due later, or due now (its circuit closed: the cron is triggered), never left claimed
            self.assertFalse(any(waiting.mapped("claimed_at")), "an outgoing message is not left in flight")
            self.assertTrue(
                all(m.next_try_date for m in waiting) or self.Message._wecom_due_count(), "an outgoing message waits"
            )
            self.assertTrue(all(m.failure_reason for m in waiting), "every failed try has a reason")
            if settle:
                settle()
            waiting.write({"next_try_date": datetime.utcnow() - timedelta(seconds=1)})  # travel the backoff
            # and the probe interval of a circuit the fault opened
            self.env["wecom.application.circuit"].search([]).write(
                {"next_probe_at": datetime.utcnow() - timedelta(seconds=1)}
            )
        self.fail(f"still outgoing: {messages.filtered(lambda m: m.state == 'outgoing').mapped('content')}")

    def assertDeliveredOnce(self, messages, tag):
        delivered = {}
        for record in self.mock.messages():
            content = record["payload"]["text"]["content"]
            if record["delivered"] and content.startswith(f"{tag}-"):
                delivered[content] = delivered.get(content, 0) + 1
        self.assertEqual(delivered, {f"{tag}-{i}": 1 for i in range(COUNT)}, "each message received exactly once")
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertTrue(all(messages.mapped("msgid")))

    def run_fault(self, tag, settle=None, **fault):
        messages = self.queue(tag)
        self.mock.add_fault(path=const.PATH_MESSAGE_SEND, after=10, **fault)
        # a run of transport failures may open the application's circuit (a warning), or successes of the
        # sends in flight between them may end the run first: test_outbox_flow asserts the circuit
        with mute_logger(CHANNEL_LOGGER):
            self.drain_until_final(messages, settle)
        self.assertFalse(self.mock.stats()["faults"], "the fault was applied")
        self.assertDeliveredOnce(messages, tag)
        return messages

    def test_retryable_errcodes_mid_drain(self):
        for errcode in (-1, 45009, 45033):
            with self.subTest(errcode=errcode):
                messages = self.run_fault(f"e{errcode}", errcode=errcode, errmsg="busy", times=5)
                self.assertEqual(len(messages.filtered(lambda m: m.try_count == 2)), 5)
                self.assertEqual(set(messages.mapped("try_count")), {1, 2})
                self.assertFalse(any(messages.mapped("failure_reason")), "a sent message keeps no failure reason")

    def test_network_faults_mid_drain_resent_with_duplicate_check(self):
        """502, a dropped connection, an answer later than the timeout (WeCom did get that message): each
        faulty send is resent with the duplicate check and received once."""

        def mock_got(content):
            # the retry backoff (30 s and more) lets WeCom finish a late request before the resend; the
            # test travels the backoff, so it waits for the mock to record the slow send first
            def settle():
                for _poll in range(100):
                    if any(m["payload"]["text"]["content"] == content for m in self.mock.messages()):
                        return
                    time.sleep(0.05)

            return settle

        for tag, fault in (
            ("h502", dict(status=502, times=3)),
            ("drop", dict(drop=True, times=3)),
            ("slow", dict(delay=1.5, times=2)),
        ):
            with self.subTest(fault=tag):
                settle = mock_got(f"{tag}-11") if "delay" in fault else None  # the 2nd slow send
                messages = self.run_fault(tag, settle=settle, **fault)
                resent = messages.filtered("resend_duplicate_check")
                self.assertEqual(len(resent), fault["times"])
                self.assertEqual(set(resent.mapped("try_count")), {2})
                last_payloads = {m["payload"]["text"]["content"]: m["payload"] for m in self.mock.messages()}
                for message in resent:
                    payload = last_payloads[message.content]
                    self.assertEqual(
                        (payload["enable_duplicate_check"], payload["duplicate_check_interval"]), (1, 4 * 3600)
                    )

    def test_token_rejected_twice_retried_later(self):
        """40014 on the send and again on its replay: one renewal, then the message waits for a retry."""
        # one send after the other: the send and its replay are the two requests the fault hits
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")
        with self.assertMockCalls(gettoken=2):
            messages = self.run_fault("revoked", errcode=40014, errmsg="invalid access_token", times=2)
        self.assertEqual(len(messages.filtered(lambda m: m.try_count == 2)), 1)

    def test_dead_sender_claims_wait_for_their_lease_without_a_busy_loop(self):
        """A sender died mid-batch (PostgreSQL connection lost, worker killed): its claims stay. The drain
        must neither count them as remaining (which re-triggered the cron at once, in a loop, until the
        lease ended) nor leave them to the cron's next interval: it schedules itself for the lease's end.
        Then they are resent with WeCom's duplicate check."""
        messages = self.queue("dead")
        cron = self.env.ref("wecom_base.ir_cron_wecom_message_queue")
        triggers = self.env["ir.cron.trigger"].sudo()
        claimed_at = datetime.utcnow().replace(microsecond=0) - timedelta(seconds=10)
        messages[:10].write({"claimed_at": claimed_at})
        triggers.search([("cron_id", "=", cron.id)]).unlink()
        self.assertEqual(self.Message._cron_process_queue(batch_size=10), 20)
        self.assertEqual(set(messages[:10].mapped("state")), {"outgoing"})
        self.assertEqual(set(messages[10:].mapped("state")), {"sent"})
        self.assertEqual(self.Message._wecom_due_count(), 0, "claims within their lease are not due")
        self.assertEqual(
            triggers.search([("cron_id", "=", cron.id)]).mapped("call_at"),
            [claimed_at + timedelta(seconds=const.MESSAGE_CLAIM_LEASE)],
        )
        messages[:10].write({"claimed_at": claimed_at - timedelta(seconds=const.MESSAGE_CLAIM_LEASE)})
        self.assertEqual(self.Message._wecom_due_count(), 10)
        with self.assertWeComWarning("left in flight by a stopped sender"):
            self.drain_until_final(messages)
        self.assertDeliveredOnce(messages, "dead")
        self.assertEqual(messages[:10].mapped("resend_duplicate_check"), [True] * 10)

    def test_retry_schedules_the_cron_at_its_date(self):
        messages = self.queue("later")
        self.mock.add_fault(path=const.PATH_MESSAGE_SEND, errcode=-1, errmsg="busy", after=29)
        cron = self.env.ref("wecom_base.ir_cron_wecom_message_queue")
        triggers = self.env["ir.cron.trigger"].sudo()
        triggers.search([("cron_id", "=", cron.id)]).unlink()
        self.Message._cron_process_queue(batch_size=10)
        waiting = messages.filtered(lambda m: m.state == "outgoing")
        self.assertEqual(len(waiting), 1)
        self.assertEqual(triggers.search([("cron_id", "=", cron.id)]).mapped("call_at"), [waiting.next_try_date])

    def test_slow_batch_releases_the_rest_before_its_claims_expire(self):
        """Timeouts pile up in a batch: past half the claim lease it stops and releases its unsent messages
        (due again, no try counted) rather than send them when another sender may have claimed them again."""
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CLAIM_LEASE, "2")
        # one after the other: which messages the slow answers hold up must be known
        self.env["ir.config_parameter"].sudo().set_param(const.PARAM_MESSAGE_CONCURRENCY, "1")
        messages = self.queue("late")
        self.mock.add_fault(path=const.PATH_MESSAGE_SEND, delay=1.5, times=2)  # timeout: 1 s
        with mute_logger(OUTBOX_LOGGER):
            self.assertEqual(self.Message._cron_process_queue(batch_size=10, max_batches=1), 1)
        first, released = messages[0], messages[1:10]
        self.assertEqual((first.state, first.try_count, first.resend_duplicate_check), ("outgoing", 1, True))
        self.assertEqual(set(released.mapped("state")), {"outgoing"})
        self.assertEqual(set(released.mapped("try_count")), {0}, "a released message was not tried")
        self.assertFalse(any(released.mapped("claimed_at")) or any(released.mapped("failure_reason")))
        self.assertEqual(self.Message._wecom_due_count(), 29, "released messages are due again at once")

        def settle():  # WeCom finishes the two slow requests before their resends (see above)
            for _poll in range(100):
                received = {m["payload"]["text"]["content"] for m in self.mock.messages()}
                if {"late-0", "late-1"} <= received:
                    return
                time.sleep(0.05)

        settle()
        with mute_logger(OUTBOX_LOGGER):
            self.drain_until_final(messages, settle)
        self.assertDeliveredOnce(messages, "late")
