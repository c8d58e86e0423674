"""Signature and encryption of WeCom callbacks (the ``WXBizMsgCrypt`` scheme, hardened).

WeCom signs every callback request and encrypts its payload (path/91144)::

    msg_signature = sha1(''.join(sorted([token, timestamp, nonce, encrypted]))).hexdigest()
    AESKey        = base64decode(EncodingAESKey + '=')            # 32 bytes
    encrypted     = base64(AES-256-CBC(AESKey, iv=AESKey[:16],
                                       PKCS#7 to 32 bytes(random16 + len(msg) as 4-byte big-endian
                                                          + msg + receive_id)))

``receive_id`` is the CorpID for a self-built application (the SuiteID for a third-party suite).

What the official samples lack and this module adds: the signature and the receive id are compared in
constant time (:func:`hmac.compare_digest`), the timestamp must be fresh, every byte of the padding and
the length prefix are checked, and untrusted XML is parsed without DTD, entities or network access.

Errors are :class:`WeComCryptoError` whose :attr:`~WeComCryptoError.code` names the failure; their
messages never contain the token, the AES key or decrypted data.

This module imports nothing from Odoo.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lxml import etree

#: Seconds a callback timestamp may differ from our clock (both ways).
TIMESTAMP_WINDOW = 300
#: WeCom pads to a multiple of 32 bytes, not to the AES block size.
PAD_BLOCK_SIZE = 32
RANDOM_PREFIX_SIZE = 16

_TOKEN_RE = re.compile(r"[A-Za-z0-9]{1,32}")
_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")
# ASCII digits only (``\d`` would accept other scripts' digits); 12 digits reach the year 33658.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")

_MESSAGES = {
    "signature": "The WeCom callback signature does not match.",
    "timestamp": "The WeCom callback timestamp is missing, not an integer or outside the accepted window.",
    "decrypt": "The WeCom callback payload cannot be decrypted.",
    "receive_id": "The WeCom callback payload is meant for another receive id (CorpID / SuiteID).",
    "xml": "The WeCom callback XML is malformed or not allowed.",
    "aes_key": "The EncodingAESKey must be 43 base64 characters decoding to 32 bytes.",
    "token": "The callback token must be 1 to 32 ASCII letters or digits.",
}


class WeComCryptoError(Exception):
    """A WeCom callback failed verification or decryption, or the crypto configuration is invalid.

    :ivar str code: what failed: ``signature``, ``timestamp``, ``decrypt``, ``receive_id``, ``xml``,
        ``aes_key`` or ``token``
    """

    def __init__(self, code, message=None):
        self.code = code
        self.message = message or _MESSAGES.get(code, "WeCom callback crypto error.")
        super().__init__(self.message)

    def __str__(self):
        return self.message


# --- XML -------------------------------------------------------------------------------------


def _check_prolog(text):
    """Refuse a document type declaration before the root element.

    ``<!DOCTYPE`` (and with it every ``<!ENTITY``) may only appear in the prolog, so scanning the
    prolog refuses billion laughs and XXE before the parser sees them, while the same characters
    inside a message (``<Content><![CDATA[<!DOCTYPE html>]]></Content>``) stay allowed.
    """
    pos = 0
    length = len(text)
    if text.startswith("\ufeff"):
        pos = 1
    while pos < length:
        while pos < length and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("<?", pos):
            opening, closing = "<?", "?>"
        elif text.startswith("<!--", pos):
            opening, closing = "<!--", "-->"
        elif text.startswith("<!", pos):
            # DOCTYPE in any case, or anything else that is not allowed here
            raise WeComCryptoError("xml", "DTDs and entity declarations are not allowed in WeCom callback XML.")
        else:
            return  # the root element (or garbage the parser refuses)
        end = text.find(closing, pos + len(opening))
        if end < 0:
            return  # unterminated: the parser refuses it
        pos = end + len(closing)


def _parse_root(data):
    """Parse untrusted XML bytes into their root element, refusing DTDs, entities and non-UTF-8.

    :param bytes data: the document
    :rtype: lxml.etree._Element
    :raise WeComCryptoError: ``xml``
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise WeComCryptoError("xml", "The WeCom callback XML is empty.")
    data = bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WeComCryptoError("xml", "The WeCom callback XML is not UTF-8.") from None
    _check_prolog(text)
    # A second barrier, in case a DOCTYPE slips past the prolog scan: nothing is resolved, loaded or
    # fetched, and the declared encoding is ignored (UTF-8 was checked above).
    parser = etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise WeComCryptoError("xml") from None
    if root is None:
        raise WeComCryptoError("xml")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise WeComCryptoError("xml", "DTDs and entity declarations are not allowed in WeCom callback XML.")
    return root


def _element_value(element):
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        return element.text or ""
    value = {}
    for child in children:
        child_value = _element_value(child)
        if child.tag not in value:
            value[child.tag] = child_value
        elif isinstance(value[child.tag], list):
            value[child.tag].append(child_value)
        else:
            value[child.tag] = [value[child.tag], child_value]
    return value


def parse_xml(data):
    """Parse a (decrypted) WeCom callback message into a dict, safely.

    The keys are the tags of the root's children. A leaf becomes its text (``""`` when empty), an
    element with children becomes a dict built the same way, and a tag that repeats becomes the list
    of its values in document order (``<Item>`` lists of some events).

    Documents with a DOCTYPE, a DTD or entity declarations, references to undefined entities, bytes
    that are not UTF-8 and malformed XML are refused; nothing is expanded, loaded or fetched.

    :param bytes data: the XML document
    :return: ``{tag: text | dict | list}``
    :rtype: dict
    :raise WeComCryptoError: ``xml``
    """
    value = _element_value(_parse_root(data))
    return value if isinstance(value, dict) else {}


# --- Crypto ----------------------------------------------------------------------------------


def _to_text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


class WeComCallbackCrypto:
    """Verify, decrypt and encrypt the callbacks of one WeCom application.

    :param str token: the callback Token set in the WeCom admin console (1-32 ASCII letters/digits)
    :param str encoding_aes_key: the callback EncodingAESKey (43 characters)
    :param str receive_id: the CorpID (self-built application) or SuiteID (third-party suite)
    :raise WeComCryptoError: ``token``, ``aes_key`` or ``receive_id`` for an invalid configuration
    """

    def __init__(self, token, encoding_aes_key, receive_id):
        if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
            raise WeComCryptoError("token")
        if not isinstance(encoding_aes_key, str) or not _AES_KEY_RE.fullmatch(encoding_aes_key):
            raise WeComCryptoError("aes_key")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise WeComCryptoError("aes_key") from None
        if len(key) != 32:
            raise WeComCryptoError("aes_key")
        if not isinstance(receive_id, str) or not receive_id:
            raise WeComCryptoError("receive_id", "The receive id (CorpID / SuiteID) is required.")
        self._token = token
        self._key = key
        self.receive_id = receive_id
        self._receive_id_bytes = receive_id.encode("utf-8")

    def __repr__(self):
        return f"<{type(self).__name__} receive_id={self.receive_id!r}>"

    @staticmethod
    def is_valid_token(token):
        """Whether ``token`` is a callback Token WeCom accepts (1-32 ASCII letters or digits)."""
        return isinstance(token, str) and bool(_TOKEN_RE.fullmatch(token))

    @staticmethod
    def is_valid_aes_key(encoding_aes_key):
        """Whether ``encoding_aes_key`` is 43 base64 characters decoding to 32 bytes."""
        if not isinstance(encoding_aes_key, str) or not _AES_KEY_RE.fullmatch(encoding_aes_key):
            return False
        try:
            return len(base64.b64decode(encoding_aes_key + "=", validate=True)) == 32
        except (binascii.Error, ValueError):
            return False

    # --- signature and freshness ---

    def signature(self, timestamp, nonce, encrypted):
        """Compute WeCom's ``msg_signature``.

        :param str timestamp: the ``timestamp`` query parameter
        :param str nonce: the ``nonce`` query parameter
        :param str encrypted: ``echostr`` (GET) or the ``Encrypt`` element text (POST)
        :return: SHA-1 hex digest of the sorted ``[token, timestamp, nonce, encrypted]`` concatenated
        :rtype: str
        """
        parts = sorted([self._token, _to_text(timestamp), _to_text(nonce), _to_text(encrypted)])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def check_signature(self, msg_signature, timestamp, nonce, encrypted):
        """Check ``msg_signature`` in constant time.

        :raise WeComCryptoError: ``signature`` when it does not match (or is missing)
        """
        if not msg_signature or timestamp is None or nonce is None or encrypted is None:
            raise WeComCryptoError("signature")
        expected = self.signature(timestamp, nonce, encrypted).encode("ascii")
        if isinstance(msg_signature, str):
            msg_signature = msg_signature.encode("utf-8")
        if not isinstance(msg_signature, bytes) or not hmac.compare_digest(expected, msg_signature):
            raise WeComCryptoError("signature")

    @staticmethod
    def check_timestamp(timestamp, now=None, window=TIMESTAMP_WINDOW):
        """Check that ``timestamp`` is an integer string within ``window`` seconds of ``now``.

        :param str timestamp: the ``timestamp`` query parameter (seconds since the epoch)
        :param float now: the current time (default: :func:`time.time`)
        :param int window: the accepted difference, in seconds, both ways
        :return: the timestamp
        :rtype: int
        :raise WeComCryptoError: ``timestamp``
        """
        if isinstance(timestamp, bytes):
            timestamp = timestamp.decode("ascii", "replace")
        if not isinstance(timestamp, str) or not _TIMESTAMP_RE.fullmatch(timestamp):
            raise WeComCryptoError("timestamp")
        value = int(timestamp)
        if now is None:
            now = time.time()
        if abs(value - now) > window:
            raise WeComCryptoError("timestamp")
        return value

    # --- AES ---

    def _cipher(self):
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plaintext, random16=None):
        """Encrypt a message the way WeCom does.

        :param plaintext: the message (``str`` is encoded as UTF-8)
        :type plaintext: str or bytes
        :param bytes random16: the 16 random prefix bytes (default: :func:`os.urandom`; fix them only in tests)
        :return: the base64 ciphertext
        :rtype: str
        """
        if isinstance(plaintext, str):
            plaintext = plaintext.encode("utf-8")
        plaintext = bytes(plaintext)
        if random16 is None:
            random16 = os.urandom(RANDOM_PREFIX_SIZE)
        if not isinstance(random16, (bytes, bytearray)) or len(random16) != RANDOM_PREFIX_SIZE:
            raise ValueError("random16 must be 16 bytes")
        if len(plaintext) > 0xFFFFFFFF:
            raise ValueError("message too long")
        body = bytes(random16) + struct.pack(">I", len(plaintext)) + plaintext + self._receive_id_bytes
        pad = PAD_BLOCK_SIZE - len(body) % PAD_BLOCK_SIZE
        body += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        ciphertext = encryptor.update(body) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypted_b64):
        """Decrypt a WeCom ciphertext and check its padding, length prefix and receive id.

        :param str encrypted_b64: ``echostr`` or the ``Encrypt`` element text
        :return: the message
        :rtype: bytes
        :raise WeComCryptoError: ``decrypt`` (bad base64, length, padding or length prefix) or
            ``receive_id`` (meant for another CorpID / SuiteID)
        """
        if isinstance(encrypted_b64, str):
            try:
                encrypted_b64 = encrypted_b64.encode("ascii")
            except UnicodeEncodeError:
                raise WeComCryptoError("decrypt", "The WeCom ciphertext is not base64.") from None
        if not isinstance(encrypted_b64, (bytes, bytearray)):
            raise WeComCryptoError("decrypt", "The WeCom ciphertext is not base64.")
        try:
            ciphertext = base64.b64decode(encrypted_b64, validate=True)
        except (binascii.Error, ValueError):
            raise WeComCryptoError("decrypt", "The WeCom ciphertext is not base64.") from None
        if not ciphertext or len(ciphertext) % 16:
            raise WeComCryptoError("decrypt", "The WeCom ciphertext length is not a multiple of 16 bytes.")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()

        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK_SIZE or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise WeComCryptoError("decrypt", "The WeCom ciphertext has an invalid padding.")
        content = plain[:-pad]
        header = RANDOM_PREFIX_SIZE + 4
        if len(content) < header:
            raise WeComCryptoError("decrypt", "The WeCom ciphertext is too short.")
        (length,) = struct.unpack(">I", content[RANDOM_PREFIX_SIZE:header])
        if length > len(content) - header:
            raise WeComCryptoError("decrypt", "The WeCom ciphertext has an invalid length prefix.")
        message = content[header : header + length]
        receive_id = content[header + length :]
        if not hmac.compare_digest(receive_id, self._receive_id_bytes):
            raise WeComCryptoError("receive_id")
        return message

    # --- callback requests ---

    def verify_url(self, msg_signature, timestamp, nonce, echostr, now=None):
        """Handle the GET URL verification: check the request and return the plaintext to answer.

        :param str msg_signature: query parameter ``msg_signature``
        :param str timestamp: query parameter ``timestamp``
        :param str nonce: query parameter ``nonce``
        :param str echostr: query parameter ``echostr``, URL-decoded
        :param float now: the current time (default: :func:`time.time`)
        :return: the decrypted ``echostr``, to be answered as the whole response body
        :rtype: str
        :raise WeComCryptoError: ``signature``, ``timestamp``, ``decrypt`` or ``receive_id``
        """
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        self.check_timestamp(timestamp, now=now)
        try:
            return self.decrypt(echostr).decode("utf-8")
        except UnicodeDecodeError:
            raise WeComCryptoError("decrypt", "The decrypted echostr is not UTF-8.") from None

    def decrypt_message(self, msg_signature, timestamp, nonce, body, now=None):
        """Handle a POST callback: parse the envelope, check the request, decrypt the message.

        The signature covers the ``Encrypt`` element text, not the raw body.

        :param str msg_signature: query parameter ``msg_signature``
        :param str timestamp: query parameter ``timestamp``
        :param str nonce: query parameter ``nonce``
        :param bytes body: the request body (``<xml><ToUserName/><AgentID/><Encrypt/></xml>``)
        :param float now: the current time (default: :func:`time.time`)
        :return: the decrypted message XML (parse it with :func:`parse_xml`)
        :rtype: bytes
        :raise WeComCryptoError: ``xml``, ``signature``, ``timestamp``, ``decrypt`` or ``receive_id``
        """
        root = _parse_root(body)
        element = root.find("Encrypt")
        encrypted = (element.text or "").strip() if element is not None else ""
        if not encrypted:
            raise WeComCryptoError("xml", "The WeCom callback XML has no Encrypt element.")
        self.check_signature(msg_signature, timestamp, nonce, encrypted)
        self.check_timestamp(timestamp, now=now)
        return self.decrypt(encrypted)

    def encrypt_reply(self, reply_xml, nonce, timestamp=None):
        """Build the encrypted envelope of a passive reply.

        :param str reply_xml: the reply message XML
        :param str nonce: the nonce to sign with (usually the request's)
        :param str timestamp: the timestamp to sign with (default: now)
        :return: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``, signed over the new
            ``Encrypt`` value
        :rtype: str
        :raise WeComCryptoError: ``timestamp`` (not an integer) or ``xml`` (nonce not usable in XML)
        """
        timestamp = str(int(time.time())) if timestamp is None else _to_text(timestamp)
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            raise WeComCryptoError("timestamp")
        nonce = _to_text(nonce)
        # decided here, not left to the XML library: lxml before 5.3 refused "]]>" inside CDATA, later
        # releases split the section instead; a nonce is an opaque printable token either way
        if not nonce or "]]>" in nonce or not nonce.isprintable():
            raise WeComCryptoError("xml", "The nonce cannot be written into the reply XML.")
        encrypted = self.encrypt(reply_xml)
        root = etree.Element("xml")
        try:
            etree.SubElement(root, "Encrypt").text = etree.CDATA(encrypted)
            etree.SubElement(root, "MsgSignature").text = etree.CDATA(self.signature(timestamp, nonce, encrypted))
            etree.SubElement(root, "TimeStamp").text = timestamp
            etree.SubElement(root, "Nonce").text = etree.CDATA(nonce)
        except ValueError:
            # "]]>" or characters XML cannot carry
            raise WeComCryptoError("xml", "The nonce cannot be written into the reply XML.") from None
        return etree.tostring(root, encoding="unicode")
