"""Exceptions raised by the WeCom client core.

The hierarchy follows how a caller must react, not where the error came from::

    WeComError                       anything that went wrong talking to WeCom
    ├── WeComNetworkError            connection refused/dropped, timeout, HTTP 5xx   -> retry later
    ├── WeComResponseError           an answer that is not WeCom's JSON (wrong base URL) -> fix the configuration
    │   └── WeComDataError           WeCom's JSON with impossible data (no id, tree too deep) -> says what was wrong
    └── WeComApiError(errcode, errmsg)  WeCom answered with errcode != 0
        ├── WeComRetryableError      kind retryable (-1, 45009, 45033)               -> retry later
        ├── WeComTokenError          kind token (40014, 42001, 41001)                -> new token, replay once
        ├── WeComConfigError         kind config (40001, 40013, 60020, 93000, ...)   -> admin must fix
        └── WeComPermanentError      kinds validation and permanent (everything else) -> fail this request

Which class an errcode gets is read from the one errcode table, :mod:`.errcodes`.
Messages never contain a secret, an access token or a robot key (see :func:`redact`).
"""

import re

from .. import const
from . import errcodes

_SECRET_QUERY_RE = re.compile(r"(?i)\b(corpsecret|access_token|key|code)=([^&\s'\"<>#]+)")
_FROM_IP_RE = re.compile(r"from ip:\s*([0-9A-Fa-f.:]+)")


def redact(text, secrets=()):
    """Mask secrets in ``text`` so it can go to a log line or an error message.

    Masks the values of the ``corpsecret``, ``access_token``, ``key`` and ``code`` (a login code) query
    parameters wherever a URL appears, and every literal value of ``secrets`` (tokens, keys, secrets known
    to the caller).

    :param str text: any text (a URL, an exception message, a WeCom errmsg)
    :param secrets: literal secret values to mask as well
    :return: the text with each secret replaced by ``***``
    :rtype: str
    """
    if text is None:
        return text
    text = _SECRET_QUERY_RE.sub(lambda m: f"{m.group(1)}=***", str(text))
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class WeComError(Exception):
    """Base class of every error of the WeCom client core.

    :ivar bool retryable: True when the same request may succeed later without any change
    :ivar str kind: ``network``, ``response``, ``retryable``, ``token``, ``config`` or ``permanent``
    """

    retryable = False
    kind = "permanent"

    def __init__(self, message):
        message = redact(message)
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class WeComNetworkError(WeComError):
    """WeCom could not be reached or failed on its side (connection, timeout, HTTP 5xx).

    :ivar int status_code: the HTTP status when WeCom answered with one, else None
    """

    retryable = True
    kind = "network"

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


class WeComResponseError(WeComError):
    """The server answered, but not like WeCom does (HTML page, not JSON, HTTP 4xx without errcode).

    Usually the base URL points at a host that is not WeCom.
    """

    kind = "response"

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


class WeComDataError(WeComResponseError):
    """WeCom's JSON has the wrong shape or values no directory can have (a department without an id, a tree
    deeper than WeCom allows): the message says what was wrong."""


class WeComApiError(WeComError):
    """WeCom answered with a non-zero ``errcode``.

    :ivar int errcode: WeCom's error code
    :ivar str errmsg: WeCom's error message (secrets masked)
    :ivar dict response: the whole decoded answer
    """

    def __init__(self, errcode, errmsg="", response=None):
        self.errcode = errcode
        self.errmsg = redact(errmsg or "")
        self.response = response or {"errcode": errcode, "errmsg": errmsg}
        super().__init__(self._describe())

    def _describe(self):
        return f"WeCom error {self.errcode}: {self.errmsg}"


class WeComRetryableError(WeComApiError):
    """WeCom is busy or rate-limits us: the same request may succeed later."""

    retryable = True
    kind = "retryable"


class WeComTokenError(WeComApiError):
    """The access token is invalid, expired or missing: fetch a new one and replay once."""

    kind = "token"


class WeComConfigError(WeComApiError):
    """The application is misconfigured (secret, CorpID, agent id, permissions, trusted IP)."""

    kind = "config"

    @property
    def caller_ip(self):
        """The server IP that WeCom saw, for 60020 (not in the app's trusted IPs); else None."""
        match = _FROM_IP_RE.search(self.errmsg or "")
        return match.group(1) if match else None

    def _describe(self):
        if self.errcode == const.ERRCODE_IP_NOT_ALLOWED:
            ip = self.caller_ip or "unknown"
            return (
                f"WeCom error {self.errcode}: this server's IP {ip} is not in the application's trusted IPs. "
                f"Add {ip} to the trusted IPs of the application in the WeCom admin console. ({self.errmsg})"
            )
        return super()._describe()


class WeComPermanentError(WeComApiError):
    """WeCom refused the request for good (invalid content, unknown recipients, ...)."""

    kind = "permanent"


def error_from_response(data):
    """Build the exception that matches a WeCom answer with a non-zero errcode.

    :param dict data: decoded WeCom JSON answer
    :return: an instance of the matching :class:`WeComApiError` subclass
    """
    errcode = data.get("errcode")
    cls = _CLASS_OF_KIND[errcodes.errcode_info(errcode).kind]
    return cls(errcode, data.get("errmsg", ""), data)


_CLASS_OF_KIND = {
    errcodes.RETRYABLE: WeComRetryableError,
    errcodes.TOKEN: WeComTokenError,
    errcodes.CONFIG: WeComConfigError,
    errcodes.VALIDATION: WeComPermanentError,
    errcodes.PERMANENT: WeComPermanentError,
}
