"""What each WeCom errcode means, decided once.

Every reader asks this table: the client (:func:`~.exceptions.error_from_response`: which exception class),
``wecom.base.handle_wecom_error`` (``ValidationError`` or ``UserError``, and the translated guidance text of the
code's ``guidance`` key), and the outbox (:func:`failure_type_for`: the ``failure_type`` of a message that
failed for good). Match on errcode, never on errmsg. An errcode missing from the table is ``permanent``.

Kinds, by what the caller must do:

============  ==========================================================  ======================
kind          meaning                                                      exception class
============  ==========================================================  ======================
retryable     WeCom is busy or rate-limits us: the same request later      WeComRetryableError
token         the access token is invalid, expired or missing: renew it    WeComTokenError
config        an admin must fix the application, company or robot          WeComConfigError
validation    the request content or recipients must change                WeComPermanentError
permanent     WeCom refused the request for good                           WeComPermanentError
============  ==========================================================  ======================

Pure Python: imports nothing from Odoo.
"""

from collections import namedtuple

from .. import const

RETRYABLE = "retryable"
TOKEN = "token"
CONFIG = "config"
VALIDATION = "validation"
PERMANENT = "permanent"
KINDS = (RETRYABLE, TOKEN, CONFIG, VALIDATION, PERMANENT)

# failure_type of wecom.message (its selection holds these keys, plus "unknown" for errors that are not WeCom's)
FAILURE_CONFIG = "config"
FAILURE_RECIPIENTS = "recipients"
FAILURE_CONTENT = "content"
FAILURE_RETRY_EXHAUSTED = "retry_exhausted"
FAILURE_PERMANENT = "permanent"
FAILURE_UNKNOWN = "unknown"


# traits of a code, beside its kind
RATE_LIMIT = "rate_limit"  # WeCom refused for our pace: retried until the message is too old, not a count of tries
API_CLOSED = "api_closed"  # the API is closed to this secret or this server's IP: a caller may fall back to another


class Errcode(namedtuple("Errcode", "code kind failure_type guidance traits", defaults=(frozenset(),))):
    """One row of the table.

    :ivar int code: the errcode
    :ivar str kind: one of :data:`KINDS`
    :ivar str failure_type: the ``failure_type`` of a message that failed for good with this code
    :ivar str guidance: the key of the code's translated guidance text (``wecom.base``), or None
    :ivar frozenset traits: :data:`RATE_LIMIT`, :data:`API_CLOSED`
    """

    __slots__ = ()

    @property
    def retryable(self):
        """True when the same request may succeed later without any change (a new token aside)."""
        return self.kind in (RETRYABLE, TOKEN)


def _row(code, kind, failure_type, guidance, *traits):
    return code, Errcode(code, kind, failure_type, guidance, frozenset(traits))


ERRCODES = dict(
    [
        _row(const.ERRCODE_SYSTEM_BUSY, RETRYABLE, FAILURE_RETRY_EXHAUSTED, "busy"),
        _row(const.ERRCODE_API_FREQ_LIMIT, RETRYABLE, FAILURE_RETRY_EXHAUSTED, "api_freq_limit", RATE_LIMIT),
        _row(const.ERRCODE_CONCURRENCY_LIMIT, RETRYABLE, FAILURE_RETRY_EXHAUSTED, "concurrency_limit", RATE_LIMIT),
        _row(const.ERRCODE_INVALID_TOKEN, TOKEN, FAILURE_RETRY_EXHAUSTED, "token_invalid"),
        _row(const.ERRCODE_TOKEN_MISSING, TOKEN, FAILURE_RETRY_EXHAUSTED, "token_missing"),
        _row(const.ERRCODE_TOKEN_EXPIRED, TOKEN, FAILURE_RETRY_EXHAUSTED, "token_expired"),
        _row(40001, CONFIG, FAILURE_CONFIG, "secret_invalid"),
        _row(40013, CONFIG, FAILURE_CONFIG, "corpid_invalid"),
        _row(40056, CONFIG, FAILURE_CONFIG, "agentid_mismatch"),
        _row(40091, CONFIG, FAILURE_CONFIG, "secret_reset"),
        _row(41004, CONFIG, FAILURE_CONFIG, "secret_missing"),
        _row(48002, CONFIG, FAILURE_CONFIG, "api_forbidden", API_CLOSED),
        # the contacts API called from an IP it has not seen (since 2022): the trusted IPs must list it
        _row(48009, CONFIG, FAILURE_CONFIG, "api_forbidden_ip", API_CLOSED),
        _row(60011, CONFIG, FAILURE_CONFIG, "no_privilege"),
        _row(const.ERRCODE_IP_NOT_ALLOWED, CONFIG, FAILURE_CONFIG, "ip_not_allowed"),
        _row(const.ERRCODE_ROBOT_INVALID_KEY, CONFIG, FAILURE_CONFIG, "robot_key_invalid"),
        _row(40008, VALIDATION, FAILURE_CONTENT, "msgtype_invalid"),
        _row(44004, VALIDATION, FAILURE_CONTENT, "content_empty"),
        _row(45002, VALIDATION, FAILURE_CONTENT, "content_too_long"),
        _row(const.ERRCODE_ALL_RECIPIENTS_INVALID, VALIDATION, FAILURE_RECIPIENTS, "recipients_invalid"),
        _row(const.ERRCODE_NO_RECIPIENT, VALIDATION, FAILURE_RECIPIENTS, "recipients_missing"),
    ]
)


def errcode_info(errcode):
    """The table's row of ``errcode``; an unknown code is ``permanent``, without guidance.

    :param int errcode: a WeCom errcode
    :rtype: Errcode
    """
    return ERRCODES.get(errcode) or Errcode(errcode, PERMANENT, FAILURE_PERMANENT, None)


def errcodes_of_kind(kind):
    """The errcodes of one kind (a frozenset), e.g. ``errcodes_of_kind(VALIDATION)``."""
    return frozenset(code for code, row in ERRCODES.items() if row.kind == kind)


def errcodes_with(trait):
    """The errcodes that have ``trait`` (a frozenset), e.g. ``errcodes_with(RATE_LIMIT)``."""
    return frozenset(code for code, row in ERRCODES.items() if trait in row.traits)


def has_trait(error, trait):
    """True when ``error`` is a WeCom error whose errcode has ``trait`` (:data:`RATE_LIMIT`, :data:`API_CLOSED`).

    :param error: an exception (anything without an ``errcode`` has no trait)
    """
    errcode = getattr(error, "errcode", None)
    return errcode is not None and trait in errcode_info(errcode).traits


def is_retryable(error):
    """True when the request that raised ``error`` may succeed if made again later (the outbox retries it):
    network errors and HTTP 5xx, busy / rate-limit errcodes, and token errcodes (a new token is fetched).

    :param error: a :class:`~.exceptions.WeComError`
    """
    return bool(getattr(error, "retryable", False)) or getattr(error, "kind", None) == TOKEN


def failure_type_for(error):
    """The ``failure_type`` of a message that failed for good because of ``error``.

    A retryable error (:func:`is_retryable`) that still fails after the last try is ``retry_exhausted``; an
    answer that is not WeCom's (wrong base URL) is ``config``; a WeCom errcode gets its row's failure type
    (``config``, ``recipients``, ``content``, ``permanent``); anything that is not a WeCom error is ``unknown``.

    :param error: the exception of the last try
    :rtype: str
    """
    kind = getattr(error, "kind", None)
    if kind is None:
        return FAILURE_UNKNOWN
    if is_retryable(error):
        return FAILURE_RETRY_EXHAUSTED
    if kind in (CONFIG, "response"):
        return FAILURE_CONFIG
    errcode = getattr(error, "errcode", None)
    if errcode is None:
        return FAILURE_PERMANENT
    return errcode_info(errcode).failure_type
