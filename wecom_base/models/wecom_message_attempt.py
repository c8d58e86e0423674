"""One try of a message and how it ends: send it (application or group robot) and turn WeCom's answer,
or the error, into the message's next values (sent, partial, retry later, failed).

:meth:`WeComMessage._wecom_failure_values` is the one place that maps an error to a failure type and
decides between a retry and giving up.
"""

import json
from datetime import timedelta

from odoo import _, api, fields, models

from .. import const
from ..lib import WeComApiError, WeComError, WeComNetworkError
from ..lib.errcodes import RATE_LIMIT, failure_type_for, has_trait, is_retryable
from ..lib.flow_control import retry_delay
from ..tools import number_param
from .wecom_message import SENT_STATES


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


class WeComMessage(models.Model):
    _inherit = "wecom.message"

    # ------------------------------------------------------------------ settings
    @api.model
    def _wecom_outbox_settings(self):
        """The outbox's system parameters, read once per batch (bad values fall back to the defaults)."""

        def number(key, default, cast=int, minimum=0):
            return number_param(self.env, key, default, cast=cast, minimum=minimum)

        return {
            "max_tries": number(const.PARAM_MESSAGE_MAX_TRIES, const.MESSAGE_MAX_TRIES, minimum=1),
            "concurrency": min(
                number(const.PARAM_MESSAGE_CONCURRENCY, const.MESSAGE_CONCURRENCY, minimum=1),
                const.MESSAGE_CONCURRENCY_MAX,
            ),
            "retry_base": number(const.PARAM_MESSAGE_RETRY_BASE, const.MESSAGE_RETRY_BASE, float, 0.1),
            "retry_max": number(const.PARAM_MESSAGE_RETRY_MAX, const.MESSAGE_RETRY_MAX, float, 0.1),
            "expiry_hours": number(const.PARAM_MESSAGE_EXPIRY_HOURS, const.MESSAGE_EXPIRY_HOURS, float),
            "member_per_minute": number(const.PARAM_MEMBER_RATE_PER_MINUTE, const.MEMBER_RATE_PER_MINUTE),
            "member_per_hour": number(const.PARAM_MEMBER_RATE_PER_HOUR, const.MEMBER_RATE_PER_HOUR),
        }

    # ------------------------------------------------------------------ one try
    def _wecom_send_one(self, raise_errors=False):
        """Send this message once: build, call, store the outcome (sent, partial, retry later or failed).

        :param bool raise_errors: interactive use: raise a translated error instead of storing a failure
        :raise UserError: only with ``raise_errors``, when WeCom refused or could not be reached
        """
        self.ensure_one()
        values, data = self._wecom_attempt(raise_errors=raise_errors)
        self.write(values)
        if data and self.channel == "application":
            self.env["wecom.message.member.send"]._wecom_record([(self.application_id.id, self._wecom_paced_members())])
        self._wecom_outcomes_stored()
        return data

    def _wecom_attempt(self, raise_errors=False):
        """Send this message once (build, call WeCom) and return its outcome without storing it.

        :param bool raise_errors: interactive use: raise a translated error instead of returning a failure
        :return: ``(values, data)``: the field values of the outcome (sent, partial, retry later or failed)
            and WeCom's answer (None when the send failed or was deferred)
        :raise UserError: only with ``raise_errors``, when WeCom refused or could not be reached
        """
        self.ensure_one()
        sender = getattr(self, f"_wecom_send__{self.channel}")
        try_count = self.try_count + 1
        try:
            data = sender()
        except RobotThrottled as throttled:
            # not a failure (no try counted): the robot's minute is full, the message waits for the next one
            return {
                "state": "outgoing",
                "next_try_date": fields.Datetime.now() + timedelta(seconds=throttled.wait),
                "claimed_at": False,
                "wait_outage": False,
            }, None
        except WeComError as exc:
            if raise_errors:
                self.handle_wecom_error(exc)
            return self._wecom_failure_values(exc, try_count), None
        return self._wecom_success_values(data, try_count), data

    def _wecom_send__application(self):
        app = self.application_id
        payload = self._wecom_prepare_payload()
        return app._wecom_with_token(lambda client, token: client.send_message(token, payload))

    def _wecom_send__robot(self):
        robot = self.robot_id
        wait_seconds = self._wecom_robot_wait()
        if wait_seconds:
            raise RobotThrottled(wait_seconds)
        payload = self._wecom_prepare_robot_payload()
        return self._wecom_client().robot_send(robot._wecom_robot_key(), payload)

    def _wecom_robot_wait(self):
        """Seconds to wait before this robot may send again (WeCom accepts 20 messages a minute per robot)."""
        since = fields.Datetime.now() - timedelta(seconds=60)
        sent = self.search(
            [
                ("robot_id", "=", self.robot_id.id),
                ("channel", "=", "robot"),
                ("state", "in", SENT_STATES),
                ("sent_date", ">", since),
            ],
            order="sent_date",
        )
        if len(sent) < const.ROBOT_MESSAGES_PER_MINUTE:
            return 0
        return max(1.0, 60 - (fields.Datetime.now() - sent[0].sent_date).total_seconds() + 1)

    def _wecom_paced_members(self, recipients=None):
        """The members WeCom counts this message against (its user ids; not known for departments, tags,
        @all).

        :param dict recipients: :meth:`_wecom_recipients` of this message, when the caller has it already
        """
        self.ensure_one()
        if self.to_all:
            return []
        return (recipients or self._wecom_recipients())["touser"]

    # ------------------------------------------------------------------ outcomes
    def _wecom_success_values(self, data, try_count):
        invalid = {
            "invalid_users": data.get("invaliduser") or False,
            "invalid_parties": data.get("invalidparty") or False,
            "invalid_tags": data.get("invalidtag") or False,
            "unlicensed_users": "|".join(data["unlicenseduser"])
            if isinstance(data.get("unlicenseduser"), list)
            else (data.get("unlicenseduser") or False),
        }
        partial = any(invalid.values())
        return {
            "state": "partial" if partial else "sent",
            "try_count": try_count,
            "msgid": data.get("msgid") or False,
            "response_code": data.get("response_code") or False,
            "sent_date": fields.Datetime.now(),
            "response": json.dumps(self.format_wecom_response(data), ensure_ascii=False),
            "failure_type": False,
            "failure_reason": False,
            "next_try_date": False,
            "claimed_at": False,
            "wait_outage": False,
            **invalid,
        }

    def _wecom_retry_delay(self, error, try_count=None):
        """Seconds to wait before the next try: exponential backoff with jitter, from the system parameters
        ``wecom_base.message_retry_base`` / ``message_retry_max`` (45009: at least a minute).

        :param int try_count: tries made so far, this one included (default: the stored count)
        """
        settings = self._wecom_outbox_settings()
        tries = self.try_count if try_count is None else try_count
        minimum = 0
        if isinstance(error, WeComApiError) and error.errcode == const.ERRCODE_API_FREQ_LIMIT:
            minimum = 60
        return retry_delay(tries, settings["retry_base"], settings["retry_max"], minimum=minimum)

    def _wecom_expired(self, settings):
        """Queued longer ago than ``wecom_base.message_expiry_hours``: an outage may fail it now."""
        queued = self.queued_date or self.create_date or fields.Datetime.now()
        return queued < fields.Datetime.now() - timedelta(hours=settings["expiry_hours"])

    def _wecom_failure_values(self, error, try_count):
        """What a failed try leaves: a retry later, or a failure with its type and reason.

        Transport failures (network, HTTP 5xx, -1) and WeCom's rate limits (45009, 45033) are retried until
        the message is older than ``wecom_base.message_expiry_hours``, not a count of tries; other
        retryable errors (a token WeCom keeps refusing) up to ``wecom_base.message_max_tries`` tries;
        content and configuration errors fail at once, with the failure type of the errcode table
        (:func:`~odoo.addons.wecom_base.lib.errcodes.failure_type_for`).
        """
        settings = self._wecom_outbox_settings()
        reason = self._wecom_error_message(error)
        retryable = is_retryable(error)
        by_age = is_transport_error(error) or is_rate_error(error)
        give_up = self._wecom_expired(settings) if by_age else try_count >= settings["max_tries"]
        if retryable and not give_up:
            return {
                "state": "outgoing",
                "try_count": try_count,
                "failure_reason": reason,
                "next_try_date": fields.Datetime.now() + timedelta(seconds=self._wecom_retry_delay(error, try_count)),
                "claimed_at": False,
                "wait_outage": False,
                # a timeout or a dropped connection may hide a delivery: let WeCom drop a second copy
                "resend_duplicate_check": self.resend_duplicate_check or isinstance(error, WeComNetworkError),
            }
        failure_type = failure_type_for(error)
        if retryable and by_age:
            reason = _(
                "Gave up: not sent within %(hours)s hours of being queued. Last error: %(reason)s",
                hours="%g" % settings["expiry_hours"],  # noqa: UP031 - no f-string in _(): babel evals it
                reason=reason,
            )
        elif retryable:
            reason = _("Gave up after %(tries)s tries. Last error: %(reason)s", tries=try_count, reason=reason)
        return {
            "state": "exception",
            "try_count": try_count,
            "failure_type": failure_type,
            "failure_reason": reason,
            "next_try_date": False,
            "claimed_at": False,
            "wait_outage": False,
            "response": json.dumps(self.format_wecom_response(error), ensure_ascii=False),
        }

    @api.model
    def _wecom_unexpected_values(self, exc, try_count):
        return {
            "state": "exception",
            "try_count": try_count,
            "failure_type": "unknown",
            "failure_reason": _("Unexpected error: %(error)s", error=str(exc)),
            "next_try_date": False,
            "claimed_at": False,
            "wait_outage": False,
        }
