"""The one HTTP choke point to WeCom.

Every WeCom call of the addon goes through :class:`WeComClient`: one shared ``requests.Session``
(connection pooling), a timeout on every call, TLS verification on, a configurable base URL, WeCom
answers turned into :mod:`exceptions <.exceptions>` by errcode group, and no secret in any log line.

This module imports nothing from Odoo.
"""

import functools
import json
import logging
import threading
import time
from urllib.parse import urlsplit

import requests
from cachetools import LRUCache
from requests.adapters import HTTPAdapter

from .. import const
from .exceptions import (
    WeComConfigError,
    WeComNetworkError,
    WeComResponseError,
    error_from_response,
    redact,
)

_logger = logging.getLogger(__name__)


class _RedactFilter(logging.Filter):
    """urllib3 logs every request line at DEBUG with its query string: mask the secrets in it."""

    def filter(self, record):
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactFilter())

_session = None
_session_lock = threading.Lock()


def shared_session():
    """Return the process-wide ``requests.Session`` used for WeCom (created on first use).

    :rtype: requests.Session
    """
    global _session  # noqa: PLW0603 - one pooled session per process, created lazily
    if _session is None:
        with _session_lock:
            if _session is None:
                session = requests.Session()
                # the environment (proxies, CA bundle) is read once per base URL by WeComClient, not by
                # requests on every call: that lookup is costly next to a send
                session.trust_env = False
                adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                session.headers["User-Agent"] = "wecom_base (Odoo addon)"
                _session = session
    return _session


_prepared = LRUCache(maxsize=64)
_prepared_lock = threading.Lock()


def _prepared_request(session, method, url, params, headers):
    """A copy of ``session``'s ``requests.PreparedRequest`` of ``method url?params`` with ``headers``,
    prepared once (URL parsing and quoting, the session's headers merged in) and copied for each call:
    preparing it anew was a fifth of the client's CPU time per ``message/send``.

    Only for the shared session, which has no cookies, auth or hooks that could change between calls.
    """
    key = (id(session), method, url, tuple(sorted((params or {}).items())), tuple(sorted((headers or {}).items())))
    with _prepared_lock:
        template = _prepared.get(key)
    if template is None:
        template = session.prepare_request(requests.Request(method, url, params=params, headers=headers))
        with _prepared_lock:
            _prepared[key] = template
    return template.copy()


@functools.lru_cache(maxsize=32)
def _environment_settings(base_url, verify):
    """The proxies and CA bundle ``requests`` would take from the environment for ``base_url``
    (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``), looked up once per
    process instead of on every call.

    :return: ``(proxies, verify)``
    """
    probe = requests.Session()
    try:
        settings = probe.merge_environment_settings(base_url + "/", {}, None, verify, None)
    finally:
        probe.close()
    return settings["proxies"], settings["verify"]


def check_base_url(base_url):
    """Validate a WeCom API base URL and return it normalised (no trailing slash).

    :param str base_url: e.g. ``https://qyapi.weixin.qq.com``
    :raise ValueError: when it is not an absolute http(s) URL with a host
    :rtype: str
    """
    base_url = (base_url or "").strip()
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"The WeCom API base URL must be an http(s) URL with a host, not {base_url!r}.")
    if parts.query or parts.fragment:
        raise ValueError(f"The WeCom API base URL must not have a query or fragment: {base_url!r}.")
    return base_url.rstrip("/")


class WeComClient:
    """A thin, stateless WeCom API client.

    It does not cache tokens: the caller (``wecom.application`` in Odoo) owns them.

    :param str base_url: API root, ``https://qyapi.weixin.qq.com`` by default
    :param float timeout: seconds for connect and for read, on every call
    :param requests.Session session: defaults to the process-wide :func:`shared_session`, which takes
        proxies and the CA bundle from the environment once (read when the first client of a base URL is
        made), not on every call; a session of your own keeps its own ``trust_env`` behaviour
    :param bool verify: TLS certificate verification (always on in production)
    """

    def __init__(self, base_url=const.DEFAULT_API_BASE_URL, timeout=const.DEFAULT_TIMEOUT, session=None, verify=True):
        self.base_url = check_base_url(base_url)
        timeout = float(timeout or const.DEFAULT_TIMEOUT)
        if timeout <= 0:
            raise ValueError("The WeCom timeout must be a positive number of seconds.")
        self.timeout = timeout
        self.session = session or shared_session()
        self._shared = session is None
        self.verify = verify
        if session is None:
            proxies, verify = _environment_settings(self.base_url, verify)
            self._transport = {"proxies": proxies, "verify": verify}
        else:
            self._transport = {"verify": verify}

    # ------------------------------------------------------------------ transport
    def request(self, method, path, params=None, payload=None, files=None, data=None):
        """Send one request to WeCom and return its decoded answer.

        :param str method: ``GET`` or ``POST``
        :param str path: API path such as ``/cgi-bin/message/send``
        :param dict params: query parameters (secrets among them are never logged)
        :param dict payload: JSON body, sent as UTF-8 (byte limits of WeCom are on UTF-8)
        :param dict files: multipart files, as accepted by ``requests``
        :param dict data: form fields sent with ``files``
        :return: the decoded JSON answer (``errcode`` is 0)
        :rtype: dict
        :raise WeComNetworkError: connection error, timeout or HTTP 5xx (retryable)
        :raise WeComResponseError: the answer is not WeCom JSON
        :raise WeComApiError: a subclass matching the errcode group
        """
        url = self.base_url + path
        body = headers = None
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        elif data is not None and files is None:
            body = data
        start = time.monotonic()
        try:
            if self._shared and files is None:
                prepared = _prepared_request(self.session, method, url, params, headers)
                prepared.prepare_body(body, None)
                response = self.session.send(prepared, timeout=self.timeout, allow_redirects=False, **self._transport)
            else:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=body if files is None else data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                    **self._transport,
                )
        except requests.Timeout as exc:
            raise WeComNetworkError(
                f"WeCom did not answer {method} {path} within {self.timeout:g} s ({type(exc).__name__})."
            ) from None
        except requests.ConnectionError as exc:
            raise WeComNetworkError(
                f"Could not reach WeCom at {self.base_url} for {method} {path}: {redact(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise WeComNetworkError(f"Request {method} {path} to WeCom failed: {redact(exc)}") from None
        if _logger.isEnabledFor(logging.DEBUG):  # redact() is not free: only when it is logged
            elapsed = time.monotonic() - start
            _logger.debug(
                "WeCom %s %s -> HTTP %s in %.3f s", method, redact(response.url), response.status_code, elapsed
            )
        return self._decode(method, path, response)

    def _decode(self, method, path, response):
        status = response.status_code
        if status >= 500:
            raise WeComNetworkError(f"WeCom answered HTTP {status} to {method} {path}.", status_code=status)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or (status >= 400 and "errcode" not in data):
            content_type = response.headers.get("Content-Type", "unknown")
            raise WeComResponseError(
                f"The server at {self.base_url} did not answer {method} {path} like WeCom does "
                f"(HTTP {status}, {content_type}). Check the WeCom API base URL.",
                status_code=status,
            )
        errcode = data.get("errcode", const.ERRCODE_OK)
        if not isinstance(errcode, int):
            raise WeComResponseError(
                f"The server at {self.base_url} answered {method} {path} with a non-numeric errcode. "
                "Check the WeCom API base URL.",
                status_code=status,
            )
        if errcode != const.ERRCODE_OK:
            raise error_from_response(data)
        return data

    # ------------------------------------------------------------------ token
    def get_token(self, corpid, corpsecret):
        """Fetch a new access token of one application.

        :param str corpid: the company's CorpID
        :param str corpsecret: the application's secret
        :return: ``(access_token, expires_in_seconds)``
        :rtype: tuple
        :raise WeComConfigError: CorpID or secret missing (checked before any call)
        """
        if not corpid:
            raise WeComConfigError(40013, "the CorpID is missing")
        if not corpsecret:
            raise WeComConfigError(41004, "the application secret is missing")
        data = self.request("GET", const.PATH_GETTOKEN, params={"corpid": corpid, "corpsecret": corpsecret})
        token = data.get("access_token")
        if not isinstance(token, str) or not token or len(token) > const.MAX_ACCESS_TOKEN_LENGTH:
            raise WeComResponseError(
                f"The server at {self.base_url} returned no usable access token. Check the WeCom API base URL."
            )
        try:
            expires_in = int(data.get("expires_in") or const.TOKEN_DEFAULT_EXPIRES_IN)
        except (TypeError, ValueError):
            expires_in = const.TOKEN_DEFAULT_EXPIRES_IN
        return token, max(expires_in, 1)

    # ------------------------------------------------------------------ API with a token
    def call(self, path, access_token, payload=None, method="POST", params=None, files=None, data=None):
        """Call an API that takes an ``access_token`` query parameter.

        :return: the decoded answer
        :rtype: dict
        """
        query = dict(params or {})
        query["access_token"] = access_token
        return self.request(method, path, params=query, payload=payload, files=files, data=data)

    def get_agent(self, access_token, agentid):
        """``agent/get``: the application's details as WeCom has them."""
        return self.call(const.PATH_AGENT_GET, access_token, method="GET", params={"agentid": agentid})

    def send_message(self, access_token, payload):
        """``message/send``: send an application message; returns msgid and invalid recipients."""
        return self.call(const.PATH_MESSAGE_SEND, access_token, payload=payload)

    def recall_message(self, access_token, msgid):
        """``message/recall``: recall a message sent less than 24 h ago."""
        return self.call(const.PATH_MESSAGE_RECALL, access_token, payload={"msgid": msgid})

    def upload_media(self, access_token, media_type, filename, content, mimetype="application/octet-stream"):
        """``media/upload``: upload a temporary media (3 days) and return its ``media_id``.

        :param str media_type: ``image``, ``voice``, ``video`` or ``file``
        :rtype: str
        """
        data = self.call(
            const.PATH_MEDIA_UPLOAD,
            access_token,
            params={"type": media_type},
            files={"media": (filename, content, mimetype)},
        )
        return data["media_id"]

    # ------------------------------------------------------------------ group robots
    def robot_send(self, key, payload):
        """``webhook/send``: send a group robot message (the key is the robot's bearer secret)."""
        if not key:
            raise WeComConfigError(const.ERRCODE_ROBOT_INVALID_KEY, "the robot webhook key is missing")
        return self.request("POST", const.PATH_WEBHOOK_SEND, params={"key": key}, payload=payload)

    def robot_upload(self, key, filename, content, media_type="file", mimetype="application/octet-stream"):
        """``webhook/upload_media``: upload a file for a robot and return its ``media_id``."""
        if not key:
            raise WeComConfigError(const.ERRCODE_ROBOT_INVALID_KEY, "the robot webhook key is missing")
        data = self.request(
            "POST",
            const.PATH_WEBHOOK_UPLOAD,
            params={"key": key, "type": media_type},
            files={"media": (filename, content, mimetype)},
        )
        return data["media_id"]
