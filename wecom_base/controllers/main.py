"""The application callback endpoint: WeCom's URL verification (GET) and its pushed messages (POST).

Every request is checked before anything is stored: the callback must exist and be active, the query
must carry ``msg_signature``, ``timestamp`` and ``nonce``, the signature must match (constant-time
compare), the timestamp must be fresh, the payload must decrypt for the company's CorpID and the XML
must hold no DTD or entity. A rejected request gets a bare status (400, 403, 404 or 413) that says
nothing about why, is logged once without secrets and is counted on the target.
"""

import logging
import re

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import SUPERUSER_ID, http
from odoo.http import request

from .. import compat, const
from ..lib import WeComCryptoError

_logger = logging.getLogger(__name__)


class _PathTokenLogFilter:
    """Werkzeug logs every request line with its path: the callback URL's path token is a capability (whoever
    knows it may post to the callback), masked there as the login callback's code is."""

    PATH_TOKEN = re.compile(r"(/wecom/callback/)[^/?\s\"]+")

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - never break logging
            return True
        if "/wecom/callback/" in message:
            record.msg, record.args = self.PATH_TOKEN.sub(r"\1***", message), ()
        return True


if not any(isinstance(f, _PathTokenLogFilter) for f in logging.getLogger("werkzeug").filters):
    logging.getLogger("werkzeug").addFilter(_PathTokenLogFilter())

_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Payload Too Large"}
_CRYPTO_STATUS = {"xml": 400, "signature": 403, "timestamp": 403, "decrypt": 403, "receive_id": 403}


class WeComCallbackController(http.Controller):
    #: The callback endpoint's path, before the path token: the callback URLs (``wecom.callback``) and the tests
    #: build theirs from it.
    ROUTE = "/wecom/callback"

    @http.route(
        [f"{ROUTE}/<string:path_token>"],
        type="http",
        # no user to authenticate: the signature is the authentication. "public" would look the public
        # user up on every request; the callback works as the superuser, on ids it read itself
        auth="none",
        readonly=False,  # auth="none" routes default to a read-only transaction
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def wecom_callback(self, path_token, **_params):
        httprequest = request.httprequest
        if httprequest.method == "POST" and (httprequest.content_length or 0) > const.CALLBACK_MAX_BODY:
            return self._reject(None, 413, f"body of {httprequest.content_length} bytes")

        env = request.env(user=SUPERUSER_ID, su=True)
        target, crypto = env["wecom.callback"]._wecom_find_target(path_token)
        if not target:
            return self._reject(None, 404, "unknown or inactive callback")
        if not crypto:
            return self._reject(target, 404, "callback not configured (Token, EncodingAESKey or CorpID missing)")

        args = httprequest.args
        signature, timestamp, nonce = args.get("msg_signature"), args.get("timestamp"), args.get("nonce")
        if not (signature and timestamp and nonce):
            return self._reject(target, 400, "missing msg_signature, timestamp or nonce")

        if httprequest.method == "GET":
            echostr = args.get("echostr")
            if not echostr:
                return self._reject(target, 400, "missing echostr")
            try:
                plaintext = crypto.verify_url(signature, timestamp, nonce, echostr)
            except WeComCryptoError as exc:
                return self._reject(target, _CRYPTO_STATUS.get(exc.code, 403), f"URL verification: {exc.code}")
            _logger.info("WeCom callback %s: URL verified", target.id)
            return request.make_response(plaintext, headers=[("Content-Type", "text/plain; charset=utf-8")])

        try:
            # at most 1 MB and a byte, chunked bodies (no Content-Length) included; kept for a replay
            body = compat.read_request_body(httprequest, const.CALLBACK_MAX_BODY)
        except RequestEntityTooLarge:
            return self._reject(target, 413, "body over the limit")
        if len(body) > const.CALLBACK_MAX_BODY:
            return self._reject(target, 413, "body over the limit")
        try:
            message = crypto.decrypt_message(signature, timestamp, nonce, body)
            event_id, reply_xml = env["wecom.callback.event"]._wecom_store(target, message)
        except WeComCryptoError as exc:
            return self._reject(target, _CRYPTO_STATUS.get(exc.code, 403), f"message: {exc.code}")

        if not event_id:
            target.record(env)._wecom_count_duplicate()
            _logger.info("WeCom callback %s: duplicate delivery dropped", target.id)
            return self._empty()
        if reply_xml:
            try:
                reply = crypto.encrypt_reply(reply_xml, nonce)
            except WeComCryptoError:
                _logger.exception("WeCom callback %s: the passive reply cannot be encrypted", target.id)
            else:
                return request.make_response(reply, headers=[("Content-Type", "application/xml; charset=utf-8")])
        return self._empty()

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _empty():
        return request.make_response(b"", headers=[("Content-Type", "text/plain; charset=utf-8")])

    @staticmethod
    def _reject(target, status, reason):
        """Answer a bare status; log the reason once (never a secret) and count it on the callback."""
        remote = request.httprequest.remote_addr
        if target:
            _logger.warning(
                "WeCom callback %s: request from %s rejected with %s: %s", target.id, remote, status, reason
            )
            target.record(request.env(user=SUPERUSER_ID, su=True))._wecom_count_rejection(f"{status}: {reason}")
        else:
            _logger.warning("WeCom callback: request from %s rejected with %s: %s", remote, status, reason)
        return request.make_response(
            _STATUS_TEXT[status], headers=[("Content-Type", "text/plain; charset=utf-8")], status=status
        )
