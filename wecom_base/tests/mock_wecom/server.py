"""A mock WeCom API server for tests, end-to-end runs and docker-compose.

Standard library only on the server side (``requests`` is used by the control client alone). It answers
like WeCom (HTTP 200 + ``errcode``) for ``gettoken``, ``agent/get``, ``message/send``, ``message/recall``,
``media/upload``, ``webhook/send``, ``webhook/upload_media``, ``getcallbackip`` and ``auth/getuserinfo``
(login codes, with WeCom's two login pages that hand them out); tests inject faults
(errcode, HTTP status, delay, dropped connection, non-WeCom body) and read what it received through the
control endpoints under ``/_mock/`` (JSON in and out):

==========================  =====================================================================
``POST /_mock/reset``        back to the defaults (default app and robot, no faults, no counters)
``POST /_mock/apps``         ``{"corp_id", "secret", "agentid", "name"?, ...app info}``: one more app
``POST /_mock/robots``       ``{"key"}``: one more group robot
``POST /_mock/faults``       ``{"path", "errcode", "errmsg", "status", "delay", "drop", "body",
                             "content_type", "times", "after"}``: one more fault rule
``DELETE /_mock/faults``     remove every fault rule
``POST /_mock/expire_tokens`` every token issued so far answers 42001
``POST /_mock/revoke_tokens`` every token issued so far answers 40014
``POST /_mock/config``       ``token_expires_in`` (7200), ``robot_rate_limit`` (20 per 60 s), ``corp_id``
``POST /_mock/travel``       ``{"seconds"}``: move the mock's clock forward (token expiry, duplicate
                             check, recall window and robot rate windows all follow it)
``POST /_mock/auth/codes``   ``{"userid"}`` (a member) or ``{"openid"}`` (a non-member), ``"expires_in"``
                             (300), ``"corp_id"``: mint a single-use login code, answered as ``{"code"}``
``GET /_mock/auth/codes``    ``{"issued", "used", "pending"}`` login codes
``POST /_mock/auth/login_as`` ``{"userid"}``, ``{"openid"}`` or ``{}``: who "scans" WeCom's login pages
                             (``/wwlogin/sso/login``, ``/connect/oauth2/authorize``): they send the browser
                             back to ``redirect_uri`` with a fresh code; with nobody, they show a page
``GET /_mock/stats``         ``{"counts", "tokens_issued", "messages", "robot_messages", "uploads",
                             "recalls", "faults", "max_in_flight"}`` (the most API requests answered at once)
==========================  =====================================================================

Codes the mock chooses where WeCom's documentation is vague:

- ``message/recall`` of an unknown msgid, or of a message older than 24 h: 40068 "invalid msgid".
- ``media/upload`` / ``webhook/upload_media``: an unsupported ``type`` is 40004 "invalid media type";
  a request without a non-empty multipart field ``media`` is 41005 "media data missing" (WeCom's code
  for it).
- A JSON body that is not a JSON object: 47001 "data format error".
- ``message/send`` with a msgtype whose body object is missing: 44004 "empty content" for text and
  markdown, 40008 "invalid message type" for the others.
- The duplicate check compares the canonical JSON (sorted keys) of the payload *without* the
  ``enable_duplicate_check`` / ``duplicate_check_interval`` options: a resend that turns the check on
  is a duplicate of the first, plain send (that is what a resend after a lost answer relies on).

Nothing secret (access tokens, app secrets, robot keys) is ever printed: request log lines (only with
``verbose``) mask the ``access_token``, ``corpsecret``, ``key`` and ``code`` (login code) query values.
"""

import json
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

DEFAULT_CORP_ID = "ww0000000000mock0"
DEFAULT_SECRET = "mock-secret-1000002"
DEFAULT_AGENT_ID = 1000002
DEFAULT_APP_NAME = "Mock App"
DEFAULT_ROBOT_KEY = "mock-robot-key"

DEFAULT_CONFIG = {"token_expires_in": 7200, "robot_rate_limit": 20, "corp_id": DEFAULT_CORP_ID}
ROBOT_RATE_WINDOW = 60  # seconds, sliding
RECALL_WINDOW = 24 * 3600
DEFAULT_DUPLICATE_CHECK_INTERVAL = 1800
MAX_TEXT_BYTES = 2048

APP_MSGTYPES = frozenset(
    {
        "text",
        "markdown",
        "textcard",
        "news",
        "mpnews",
        "image",
        "voice",
        "video",
        "file",
        "template_card",
        "miniprogram_notice",
    }
)
ROBOT_MSGTYPES = frozenset({"text", "markdown", "image", "news", "file", "template_card"})
APP_MEDIA_TYPES = frozenset({"image", "voice", "video", "file"})
ROBOT_MEDIA_TYPES = frozenset({"file", "voice"})
CALLBACK_IPS = ["101.226.103.0/25", "101.226.62.0/26", "182.254.11.176", "58.251.80.0/26"]

ERRCODE_INVALID_MSGID = 40068
ERRCODE_INVALID_MEDIA_TYPE = 40004
ERRCODE_MEDIA_MISSING = 41005
ERRCODE_BAD_JSON = 47001
ERRCODE_INVALID_CODE = 40029  # auth/getuserinfo: unknown, used or expired login code
ERRCODE_CODE_MISSING = 41008
LOGIN_CODE_EXPIRES_IN = 300  # seconds; WeCom: "about 5 minutes"

FAULT_DEFAULTS = {
    "path": "*",
    "errcode": None,
    "errmsg": None,
    "status": None,
    "delay": None,
    "drop": False,
    "body": None,
    "content_type": None,
    "times": 1,
    "after": 0,
}
DUPLICATE_CHECK_OPTIONS = ("enable_duplicate_check", "duplicate_check_interval")

_SECRET_QUERY_RE = re.compile(r"(?i)\b(corpsecret|access_token|key|code)=([^&\s\"']+)")
_PARAM_RE = re.compile(r';\s*([\w.-]+\*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def mask(text):
    """Mask the values of the ``corpsecret``, ``access_token``, ``key`` and ``code`` query parameters."""
    return _SECRET_QUERY_RE.sub(lambda m: f"{m.group(1)}=***", str(text))


def default_app_info(agentid, name=DEFAULT_APP_NAME):
    """What ``agent/get`` answers for an app unless told otherwise."""
    return {
        "agentid": int(agentid),
        "name": name,
        "square_logo_url": "https://wework.qpic.cn/wwpic/mock/0",
        "description": "An application of the mock WeCom",
        "allow_userinfos": {"user": [{"userid": "zhangsan"}]},
        "allow_partys": {"partyid": [1]},
        "allow_tags": {"tagid": [1]},
        "close": 0,
        "redirect_domain": "odoo.example.com",
        "report_location_flag": 0,
        "isreportenter": 0,
        "home_url": "https://odoo.example.com",
    }


def parse_multipart(content_type, body):
    """Parse a ``multipart/form-data`` body.

    :return: ``{field name: {"filename": str|None, "content_type": str|None, "data": bytes}}``, or None
        when the content type is not multipart with a boundary
    """
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    params = _header_params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    fields = {}
    for segment in body.split(delimiter)[1:]:
        if segment.startswith(b"--"):  # the closing delimiter
            break
        if segment.startswith(b"\r\n"):
            segment = segment[2:]
        if segment.endswith(b"\r\n"):
            segment = segment[:-2]
        head, sep, data = segment.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is not None:
            fields[name] = {
                "filename": disposition.get("filename"),
                "content_type": headers.get("content-type"),
                "data": data,
            }
    return fields


def _header_params(value):
    """``form-data; name="media"; filename*=utf-8''%E4%BD%A0`` -> ``{"name": "media", "filename": "你"}``."""
    params = {}
    for key, raw in _PARAM_RE.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        key = key.lower()
        if key.endswith("*"):  # RFC 2231 / 5987: charset'lang'percent-encoded
            charset, _, rest = raw.partition("'")
            _, _, encoded = rest.partition("'")
            params[key[:-1]] = unquote(encoded, encoding=charset or "utf-8", errors="replace")
        elif key not in params:
            params[key] = raw
    return params


def _canonical(payload):
    content = {k: v for k, v in payload.items() if k not in DUPLICATE_CHECK_OPTIONS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_object(body):
    """A control request's JSON object body (empty: ``{}``), or None when it is not one."""
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class LoginCodes:
    """Login codes of ``auth/getuserinfo``: single use, expiring, each for one member (``userid``) or one
    non-member (``openid``) of one corp. Also who stands in front of WeCom's login pages (``login_as``).
    The caller holds ``MockState.lock``."""

    def __init__(self):
        self.codes = {}  # code -> {"corp_id", "userid" | "openid", "expires_at"}
        self.login_as = None  # {"userid"} | {"openid"} | None
        self.issued = 0
        self.used = 0

    def mint(self, corp_id, now, userid=None, openid=None, expires_in=LOGIN_CODE_EXPIRES_IN):
        if bool(userid) == bool(openid):
            raise ValueError("give exactly one of userid and openid")
        code = secrets.token_urlsafe(24)
        identity = {"userid": str(userid)} if userid else {"openid": str(openid)}
        self.codes[code] = {"corp_id": corp_id, "expires_at": now + float(expires_in), **identity}
        self.issued += 1
        return code

    def take(self, code, corp_id, now):
        """The identity of a valid code (consumed), or None."""
        entry = self.codes.get(code)
        if entry is None or entry["corp_id"] != corp_id:
            return None
        del self.codes[code]  # single use, even when it turns out expired
        if entry["expires_at"] <= now:
            return None
        self.used += 1
        return {k: v for k, v in entry.items() if k in ("userid", "openid")}

    def stats(self):
        return {"issued": self.issued, "used": self.used, "pending": len(self.codes)}


class MockState:
    """Everything the mock knows. Every read or write holds ``lock``."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            # bumped by every reset: a request that slept in a fault delay across a reset is abandoned,
            # so it cannot leak into the next test
            self.generation = getattr(self, "generation", 0) + 1
            self.config = dict(DEFAULT_CONFIG)
            self.offset = 0.0  # seconds added to the wall clock (``/_mock/travel``)
            self.apps = []  # [{"corp_id", "secret", "info"}]
            self.robots = {DEFAULT_ROBOT_KEY}
            self.tokens = {}  # token -> {"app": app record, "expires_at", "expired", "revoked"}
            self.faults = []
            self.counts = {}
            self.tokens_issued = 0
            self.messages = []
            self.messages_by_id = {}
            self.robot_messages = []
            self.robot_windows = {}  # key -> [times of accepted robot sends]
            self.uploads = []
            self.recalls = []
            self.in_flight = 0  # API requests being answered now (a fault's delay included)
            self.max_in_flight = 0
            self.login = LoginCodes()
            self.add_app(DEFAULT_CORP_ID, DEFAULT_SECRET, DEFAULT_AGENT_ID)

    def now(self):
        return time.time() + self.offset

    def add_app(self, corp_id, secret, agentid, name=DEFAULT_APP_NAME, **info):
        if not corp_id or not secret:
            raise ValueError("corp_id and secret are required")
        record = {"corp_id": str(corp_id), "secret": str(secret), "info": {**default_app_info(agentid, name), **info}}
        record["info"]["agentid"] = int(agentid)
        with self.lock:
            self.apps = [a for a in self.apps if (a["corp_id"], a["secret"]) != (record["corp_id"], record["secret"])]
            self.apps.append(record)
        return record

    def set_config(self, values):
        unknown = set(values) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        with self.lock:
            if "corp_id" in values and values["corp_id"] != self.config["corp_id"]:
                # the default corp changes its id: its apps (and their tokens) follow
                for app in self.apps:
                    if app["corp_id"] == self.config["corp_id"]:
                        app["corp_id"] = str(values["corp_id"])
            if "token_expires_in" in values:
                values["token_expires_in"] = float(values["token_expires_in"])
            if "robot_rate_limit" in values:
                values["robot_rate_limit"] = int(values["robot_rate_limit"])
            self.config.update(values)

    def add_fault(self, spec):
        unknown = set(spec) - set(FAULT_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        fault = {**FAULT_DEFAULTS, **{k: v for k, v in spec.items() if v is not None}}
        fault["times"] = int(fault["times"])
        fault["after"] = int(fault["after"])
        if fault["times"] == 0 or fault["times"] < -1 or fault["after"] < 0:
            raise ValueError("times must be >= 1 or -1 (forever), after must be >= 0")
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, path):
        """The fault rule that applies to this request (a copy), consuming one use of it; or None."""
        with self.lock:
            for fault in self.faults:
                if fault["path"] not in ("*", path):
                    continue
                if fault["after"] > 0:
                    fault["after"] -= 1
                    continue
                if fault["times"] > 0:
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self.faults.remove(fault)
                return dict(fault)
        return None

    def stats(self):
        with self.lock:
            return json.loads(
                json.dumps(
                    {
                        "counts": self.counts,
                        "tokens_issued": self.tokens_issued,
                        "messages": self.messages,
                        "robot_messages": self.robot_messages,
                        "uploads": self.uploads,
                        "recalls": self.recalls,
                        "faults": self.faults,
                        "max_in_flight": self.max_in_flight,
                    }
                )
            )


class Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection (keep-alive); every answer has a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "MockWeCom/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall per answer

    @property
    def state(self):
        return self.server.state

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format, *args):  # noqa: A002 - the signature of BaseHTTPRequestHandler
        if getattr(self.server, "verbose", False):
            print(f"mock-wecom {self.address_string()} {mask(format % args)}", flush=True)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body, content_type="application/json; charset=utf-8"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data, status=200):
        self._send(status, data)

    def _err(self, errcode, errmsg):
        self._json({"errcode": errcode, "errmsg": errmsg})

    def do_GET(self):  # noqa: N802
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_GET  # noqa: N815

    def _dispatch(self):
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        body = self._read_body()
        try:
            if path.startswith("/_mock/"):
                return self._control(path, body)
            return self._api(path, query, body)
        except (ConnectionError, TimeoutError):  # the client went away (e.g. timed out during a delay)
            self.close_connection = True
            return None
        except Exception:  # noqa: BLE001 - a bug of the mock must show, masked, and not hang the client
            sys.stderr.write(mask(f"mock-wecom: error on {self.command} {self.path}\n{traceback.format_exc()}"))
            self.close_connection = True
            return self._send(500, "mock WeCom internal error", "text/plain; charset=utf-8")

    def _api(self, path, query, body):
        state = self.state
        with state.lock:
            state.counts[path] = state.counts.get(path, 0) + 1
            generation = state.generation
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            fault = state.take_fault(path)
            if fault and self._apply_fault(fault, generation):
                return None
            handler = self.ROUTES.get(path)
            if handler is None:
                return self._json({"errcode": 404, "errmsg": "unknown path"}, status=404)
            return handler(self, query, body)
        finally:
            with state.lock:
                state.in_flight -= 1

    # ------------------------------------------------------------------ faults
    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _apply_fault(self, fault, generation):
        """Apply a fault rule; True when it answered (or dropped) the request."""
        if fault["delay"]:
            time.sleep(float(fault["delay"]))
            with self.state.lock:
                reset_meanwhile = self.state.generation != generation
            if reset_meanwhile:
                self._drop()
                return True
        if fault["drop"]:
            self._drop()
            return True
        if fault["status"]:
            status = int(fault["status"])
            if fault["errcode"] is not None and fault["body"] is None:
                self._json({"errcode": int(fault["errcode"]), "errmsg": fault["errmsg"] or "mock fault"}, status)
            else:
                body = fault["body"]
                if body is None:
                    body = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
                self._send(status, body, fault["content_type"] or "text/html; charset=utf-8")
            return True
        if fault["body"] is not None:
            self._send(200, fault["body"], fault["content_type"] or "text/html; charset=utf-8")
            return True
        if fault["errcode"] is not None:
            errcode = int(fault["errcode"])
            self._err(errcode, fault["errmsg"] if fault["errmsg"] is not None else f"mock fault {errcode}")
            return True
        return False  # a delay alone: continue normally

    # ------------------------------------------------------------------ helpers
    def _token_app(self, query):
        """The app record of the request's access token, or None once an error is answered."""
        token = query.get("access_token")
        if not token:
            self._err(41001, "access_token missing")
            return None
        state = self.state
        with state.lock:
            info = state.tokens.get(token)
            if info is None or info["revoked"]:
                self._err(40014, "invalid access_token")
                return None
            if info["expired"] or info["expires_at"] <= state.now():
                self._err(42001, "access_token expired")
                return None
            return info["app"]

    def _json_body(self, body):
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        if not isinstance(payload, dict):
            self._err(ERRCODE_BAD_JSON, "data format error")
            return None
        return payload

    def _app_payload(self, query, body, empty_ok=False):
        """``(app, payload)`` of an API call: the application of its token and its JSON object body (an empty
        body is ``{}`` where ``empty_ok``), or None once an error is answered."""
        app = self._token_app(query)
        if app is None:
            return None
        payload = {} if empty_ok and not body.strip() else self._json_body(body)
        if payload is None:
            return None
        return app, payload

    def _agent_payload(self, query, body):
        """``(app, payload)`` of an application API call whose JSON body names the token's ``agentid`` (as
        WeCom checks it, 40056 otherwise), or None once an error is answered."""
        checked = self._app_payload(query, body)
        if checked is None:
            return None
        app, payload = checked
        try:
            payload_agentid = int(payload.get("agentid"))
        except (TypeError, ValueError):
            payload_agentid = None
        if payload_agentid != app["info"]["agentid"]:
            self._err(40056, "invalid agentid")
            return None
        return app, payload

    # ------------------------------------------------------------------ WeCom APIs
    def api_gettoken(self, query, body):
        corp_id, secret = query.get("corpid"), query.get("corpsecret")
        state = self.state
        with state.lock:
            if not corp_id or corp_id not in {app["corp_id"] for app in state.apps}:
                return self._err(40013, "invalid corpid")
            if not secret:
                return self._err(41004, "corpsecret missing")
            app = next((a for a in state.apps if a["corp_id"] == corp_id and a["secret"] == secret), None)
            if app is None:
                return self._err(40001, "invalid credential")
            token = secrets.token_urlsafe(48)  # 64 url-safe characters
            expires_in = state.config["token_expires_in"]
            state.tokens[token] = {
                "app": app,
                "expires_at": state.now() + expires_in,
                "expired": False,
                "revoked": False,
            }
            state.tokens_issued += 1
        expires_in = int(expires_in) if float(expires_in).is_integer() else expires_in
        return self._json({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expires_in})

    def api_agent_get(self, query, body):
        app = self._token_app(query)
        if app is None:
            return None
        with self.state.lock:
            info = json.loads(json.dumps(app["info"]))
        if query.get("agentid", "").strip() != str(info["agentid"]):
            return self._err(40056, "invalid agentid")
        return self._json({"errcode": 0, "errmsg": "ok", **info})

    def api_getcallbackip(self, query, body):
        if self._token_app(query) is None:
            return None
        return self._json({"errcode": 0, "errmsg": "ok", "ip_list": list(CALLBACK_IPS)})

    def api_message_send(self, query, body):  # noqa: C901 - one branch per WeCom rule, kept together
        checked = self._agent_payload(query, body)
        if checked is None:
            return None
        app, payload = checked
        agentid = app["info"]["agentid"]
        msgtype = payload.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            return self._err(40008, "invalid message type")
        content_body = payload.get(msgtype)
        if msgtype in ("text", "markdown"):
            content = content_body.get("content") if isinstance(content_body, dict) else None
            if not isinstance(content, str) or not content:
                return self._err(44004, "empty content")
            if len(content.encode("utf-8")) > MAX_TEXT_BYTES:
                return self._err(45002, "content size out of limit")
        elif not isinstance(content_body, dict) or not content_body:
            return self._err(40008, "invalid message type")

        users = [u for u in str(payload.get("touser") or "").split("|") if u]
        parties = [p for p in str(payload.get("toparty") or "").split("|") if p]
        tags = [t for t in str(payload.get("totag") or "").split("|") if t]
        if not (users or parties or tags):
            return self._err(82001, "All touser & toparty & totag invalid")
        if "@all" in users:
            users, parties, tags = ["@all"], [], []  # WeCom ignores toparty/totag with @all
        invalid_users = [u for u in users if u.lower().startswith("invalid")]
        unlicensed_users = [u for u in users if u.lower().startswith("unlicensed")]
        invalid_parties = [p for p in parties if p.startswith("999")]
        invalid_tags = [t for t in tags if t.startswith("999")]
        if len(invalid_users) + len(invalid_parties) + len(invalid_tags) == len(users) + len(parties) + len(tags):
            return self._err(81013, "user & party & tag all invalid")

        state = self.state
        msgid = secrets.token_urlsafe(24)
        with state.lock:
            now = state.now()
            duplicate = False
            if payload.get("enable_duplicate_check") in (1, True, "1"):
                try:
                    interval = float(payload.get("duplicate_check_interval") or DEFAULT_DUPLICATE_CHECK_INTERVAL)
                except (TypeError, ValueError):
                    interval = DEFAULT_DUPLICATE_CHECK_INTERVAL
                key = _canonical(payload)
                duplicate = any(
                    m["delivered"]
                    and m["agentid"] == agentid
                    and now - m["at"] <= interval
                    and _canonical(m["payload"]) == key
                    for m in state.messages
                )
            record = {
                "payload": payload,
                "msgid": msgid,
                "agentid": agentid,
                "at": now,
                "delivered": not duplicate,
                "duplicate": duplicate,
            }
            state.messages.append(record)
            state.messages_by_id[msgid] = record
        answer = {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        if invalid_users:
            answer["invaliduser"] = "|".join(u.lower() for u in invalid_users)
        if invalid_parties:
            answer["invalidparty"] = "|".join(invalid_parties)
        if invalid_tags:
            answer["invalidtag"] = "|".join(invalid_tags)
        if unlicensed_users:
            answer["unlicenseduser"] = "|".join(unlicensed_users)
        return self._json(answer)

    def api_message_recall(self, query, body):
        checked = self._app_payload(query, body)
        if checked is None:
            return None
        app, payload = checked
        msgid = payload.get("msgid")
        state = self.state
        with state.lock:
            record = state.messages_by_id.get(msgid) if isinstance(msgid, str) else None
            now = state.now()
            if record is None or record["agentid"] != app["info"]["agentid"] or now - record["at"] > RECALL_WINDOW:
                return self._err(ERRCODE_INVALID_MSGID, "invalid msgid")
            state.recalls.append({"msgid": msgid, "agentid": record["agentid"], "at": now})
        return self._err(0, "ok")

    def _upload(self, query, body, allowed_types, owner):
        media_type = query.get("type")
        if media_type not in allowed_types:
            return self._err(ERRCODE_INVALID_MEDIA_TYPE, "invalid media type")
        fields = parse_multipart(self.headers.get("Content-Type") or "", body) or {}
        media = fields.get("media")
        if not media or not media["data"]:
            return self._err(ERRCODE_MEDIA_MISSING, "media data missing")
        state = self.state
        media_id = "mock-media-" + secrets.token_hex(16)
        with state.lock:
            created_at = int(state.now())
            state.uploads.append(
                {
                    "type": media_type,
                    "filename": media["filename"],
                    "size": len(media["data"]),
                    "content_type": media["content_type"],
                    "media_id": media_id,
                    "owner": owner,
                    "at": state.now(),
                }
            )
        return self._json(
            {"errcode": 0, "errmsg": "ok", "type": media_type, "media_id": media_id, "created_at": str(created_at)}
        )

    def api_media_upload(self, query, body):
        app = self._token_app(query)
        if app is None:
            return None
        return self._upload(query, body, APP_MEDIA_TYPES, f"agent:{app['info']['agentid']}")

    def _robot_key(self, query):
        key = query.get("key")
        with self.state.lock:
            known = bool(key) and key in self.state.robots
        if not known:
            self._err(93000, "invalid webhook url")
            return None
        return key

    def api_webhook_send(self, query, body):
        key = self._robot_key(query)
        if key is None:
            return None
        state = self.state
        with state.lock:
            now = state.now()
            window = [t for t in state.robot_windows.get(key, []) if now - t < ROBOT_RATE_WINDOW]
            state.robot_windows[key] = window
            if len(window) >= state.config["robot_rate_limit"]:
                return self._err(45009, "api freq out of limit")
            window.append(now)
        payload = self._json_body(body)
        if payload is None:
            return None
        msgtype = payload.get("msgtype")
        if msgtype not in ROBOT_MSGTYPES or not isinstance(payload.get(msgtype), dict):
            return self._err(40008, "invalid message type")
        with state.lock:
            state.robot_messages.append({"key_suffix": key[-4:], "payload": payload, "at": now})
        return self._err(0, "ok")

    def api_webhook_upload_media(self, query, body):
        key = self._robot_key(query)
        if key is None:
            return None
        return self._upload(query, body, ROBOT_MEDIA_TYPES, f"robot:{key[-4:]}")

    # ------------------------------------------------------------------ login with WeCom
    def api_auth_getuserinfo(self, query, body):
        """``auth/getuserinfo``: a login code -> ``userid`` (member) or ``openid`` (non-member), once."""
        app = self._token_app(query)
        if app is None:
            return None
        code = query.get("code")
        if not code:
            return self._err(ERRCODE_CODE_MISSING, "missing code")
        state = self.state
        with state.lock:
            identity = state.login.take(code, app["corp_id"], state.now())
        if identity is None:
            return self._err(ERRCODE_INVALID_CODE, "invalid code")
        return self._json({"errcode": 0, "errmsg": "ok", **identity})

    def _login_page(self, query, **required):
        """WeCom's login pages: refuse what WeCom refuses (unknown corp or agent, a ``redirect_uri`` outside
        the app's trusted domain), then send the browser back with a new code for ``login_as``."""
        state = self.state
        with state.lock:
            apps = [a for a in state.apps if a["corp_id"] == query.get("appid")]
            app = next((a for a in apps if str(a["info"]["agentid"]) == query.get("agentid", "")), None)
        target = urlsplit(query.get("redirect_uri") or "")
        domain = urlsplit("//" + ((app or {}).get("info", {}).get("redirect_domain") or ""))
        problem = None
        if not apps:
            problem = "unknown appid (CorpID)"
        elif app is None:
            problem = "unknown agentid"
        elif any(query.get(key) != value for key, value in required.items()):
            problem = "wrong " + ", ".join(sorted(required))
        elif target.scheme not in ("http", "https") or not target.hostname:
            problem = "redirect_uri missing or not an http(s) URL"
        elif target.hostname != domain.hostname or (domain.port and domain.port != target.port):
            problem = "redirect_uri is not in the application's trusted domain"
        if problem:
            return self._send(
                400, f"<html><body><h1>WeCom login error</h1><p>{problem}</p></body></html>", "text/html; charset=utf-8"
            )
        with state.lock:
            identity = state.login.login_as
            code = identity and state.login.mint(app["corp_id"], state.now(), **identity)
        if not code:
            return self._send(200, "<html><body><p>Scan with WeCom</p></body></html>", "text/html; charset=utf-8")
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        location = query["redirect_uri"] + ("&" if target.query else "?") + urlencode(back)
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def page_sso_login(self, query, body):
        """The web login page (scan with the WeCom app): ``login.work.weixin.qq.com/wwlogin/sso/login``."""
        return self._login_page(query, login_type="CorpApp")

    def page_oauth2_authorize(self, query, body):
        """The in-client OAuth2 page: ``open.weixin.qq.com/connect/oauth2/authorize``."""
        return self._login_page(query, response_type="code", scope="snsapi_base")

    ROUTES = {
        "/cgi-bin/gettoken": api_gettoken,
        "/cgi-bin/agent/get": api_agent_get,
        "/cgi-bin/getcallbackip": api_getcallbackip,
        "/cgi-bin/message/send": api_message_send,
        "/cgi-bin/message/recall": api_message_recall,
        "/cgi-bin/media/upload": api_media_upload,
        "/cgi-bin/webhook/send": api_webhook_send,
        "/cgi-bin/webhook/upload_media": api_webhook_upload_media,
        "/cgi-bin/auth/getuserinfo": api_auth_getuserinfo,
        "/wwlogin/sso/login": page_sso_login,
        "/connect/oauth2/authorize": page_oauth2_authorize,
    }

    # ------------------------------------------------------------------ control
    def _control(self, path, body):  # noqa: C901 - one branch per control command
        data = _json_object(body)
        if data is None:
            return self._json({"ok": False, "error": "the body must be a JSON object"}, status=400)
        state = self.state
        method = self.command
        try:
            if (method, path) == ("POST", "/_mock/reset"):
                state.reset()
            elif (method, path) == ("POST", "/_mock/apps"):
                state.add_app(**data)
            elif (method, path) == ("POST", "/_mock/robots"):
                if not data.get("key"):
                    raise ValueError("key is required")
                with state.lock:
                    state.robots.add(str(data["key"]))
            elif (method, path) == ("POST", "/_mock/faults"):
                state.add_fault(data)
            elif (method, path) == ("DELETE", "/_mock/faults"):
                with state.lock:
                    state.faults.clear()
            elif (method, path) == ("POST", "/_mock/expire_tokens"):
                with state.lock:
                    for info in state.tokens.values():
                        info["expired"] = True
            elif (method, path) == ("POST", "/_mock/revoke_tokens"):
                with state.lock:
                    for info in state.tokens.values():
                        info["revoked"] = True
            elif (method, path) == ("POST", "/_mock/config"):
                state.set_config(data)
            elif (method, path) == ("POST", "/_mock/travel"):
                with state.lock:
                    state.offset += float(data.get("seconds", 0))
            elif (method, path) == ("GET", "/_mock/stats"):
                return self._json(state.stats())
            elif (method, path) == ("GET", "/_mock/auth/codes"):
                with state.lock:
                    return self._json(state.login.stats())
            elif (method, path) == ("POST", "/_mock/auth/codes"):
                with state.lock:
                    corp_id = str(data.pop("corp_id", None) or state.config["corp_id"])
                    code = state.login.mint(corp_id, state.now(), **data)
                return self._json({"ok": True, "code": code})
            elif (method, path) == ("POST", "/_mock/auth/login_as"):
                identity = {k: str(v) for k, v in data.items() if k in ("userid", "openid") and v}
                if len(identity) > 1 or set(data) - {"userid", "openid"}:
                    raise ValueError("give userid or openid (or nothing)")
                with state.lock:
                    state.login.login_as = identity or None
            else:
                return self._json({"ok": False, "error": "unknown control path"}, status=404)
        except (TypeError, ValueError, KeyError) as exc:
            return self._json({"ok": False, "error": mask(str(exc))}, status=400)
        return self._json({"ok": True})


class MockWeComControl:
    """Drive a running mock WeCom (in this process or another) through its ``/_mock/`` endpoints.

    :param str url: the mock's root URL, e.g. ``http://127.0.0.1:8900``
    """

    timeout = 10

    def __init__(self, url):
        self.url = url.rstrip("/")
        self._http_session = None
        self._http_lock = threading.Lock()

    @property
    def _http(self):
        import requests  # noqa: PLC0415 - the server side of this module is standard library only

        with self._http_lock:
            if self._http_session is None:
                session = requests.Session()
                session.trust_env = False  # never through an HTTP proxy of the environment
                self._http_session = session
            return self._http_session

    def _call(self, method, path, data=None):
        response = self._http.request(method, self.url + path, json=data, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(
                f"mock WeCom control {method} {path} failed: HTTP {response.status_code} {response.text[:500]}"
            )
        return response.json()

    def reset(self):
        """Back to the defaults: default app and robot, no faults, no counters, no records."""
        self._call("POST", "/_mock/reset", {})

    def add_app(self, corp_id, secret, agentid, name=DEFAULT_APP_NAME, **info):
        """Register one more application (``info`` overrides what ``agent/get`` answers)."""
        self._call(
            "POST", "/_mock/apps", {"corp_id": corp_id, "secret": secret, "agentid": agentid, "name": name, **info}
        )

    def add_robot(self, key):
        """Register one more group robot webhook key."""
        self._call("POST", "/_mock/robots", {"key": key})

    def add_fault(
        self,
        path="*",
        errcode=None,
        errmsg=None,
        status=None,
        delay=None,
        drop=False,
        body=None,
        content_type=None,
        times=1,
        after=0,
    ):
        """Inject a fault on matching WeCom API requests.

        :param str path: API path (``/cgi-bin/message/send``) or ``*``
        :param int errcode: answer HTTP 200 JSON with this errcode (and ``errmsg``)
        :param int status: answer this HTTP status, with ``body`` (a short HTML page by default)
        :param float delay: sleep first; alone, then answer normally
        :param bool drop: close the connection without any answer
        :param str body: answer this body (HTTP 200 unless ``status``), of ``content_type`` (text/html)
        :param int times: how many requests it applies to (-1: forever), then it is removed
        :param int after: let this many matching requests through first
        """
        self._call(
            "POST",
            "/_mock/faults",
            {
                "path": path,
                "errcode": errcode,
                "errmsg": errmsg,
                "status": status,
                "delay": delay,
                "drop": drop,
                "body": body,
                "content_type": content_type,
                "times": times,
                "after": after,
            },
        )

    def clear_faults(self):
        self._call("DELETE", "/_mock/faults")

    def expire_tokens(self):
        """Every token issued so far answers 42001 from now on."""
        self._call("POST", "/_mock/expire_tokens", {})

    def revoke_tokens(self):
        """Every token issued so far answers 40014 from now on."""
        self._call("POST", "/_mock/revoke_tokens", {})

    def set_config(self, **config):
        """``token_expires_in`` (7200), ``robot_rate_limit`` (20 per 60 s), ``corp_id``."""
        self._call("POST", "/_mock/config", config)

    def travel(self, seconds):
        """Move the mock's clock forward (tokens expire, duplicate/recall/rate windows pass)."""
        self._call("POST", "/_mock/travel", {"seconds": seconds})

    def stats(self):
        """``{"counts", "tokens_issued", "messages", "robot_messages", "uploads", "recalls", "faults"}``."""
        return self._call("GET", "/_mock/stats")

    def login_code(self, userid=None, openid=None, expires_in=None, corp_id=None):
        """A new single-use login code of ``auth/getuserinfo`` for a member (``userid``) or a non-member
        (``openid``), valid ``expires_in`` seconds (300)."""
        data = {"userid": userid, "openid": openid, "expires_in": expires_in, "corp_id": corp_id}
        return self._call("POST", "/_mock/auth/codes", {k: v for k, v in data.items() if v is not None})["code"]

    def login_stats(self):
        """``{"issued", "used", "pending"}``: the login codes minted, exchanged and still waiting."""
        return self._call("GET", "/_mock/auth/codes")

    def login_as(self, userid=None, openid=None):
        """Who WeCom's login pages log in (they redirect back with a new code); nobody when both are None."""
        self._call("POST", "/_mock/auth/login_as", {"userid": userid, "openid": openid})

    def count(self, path):
        """How many requests the mock received on this API path (faulted ones included)."""
        return self.stats()["counts"].get(path, 0)

    def messages(self):
        """The application messages accepted by ``message/send``, oldest first."""
        return self.stats()["messages"]

    def robot_messages(self):
        """The group robot messages accepted by ``webhook/send``, oldest first."""
        return self.stats()["robot_messages"]

    def close(self):
        """Close the control client's pooled connections."""
        with self._http_lock:
            if self._http_session is not None:
                self._http_session.close()
                self._http_session = None


class MockHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, verbose=False):
        self.state = MockState()
        self.verbose = verbose
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return  # the client went away (e.g. it timed out while a fault delayed the answer)
        sys.stderr.write(mask(f"mock-wecom: error with {client_address}\n{traceback.format_exc()}"))


class MockWeCom(MockWeComControl):
    """A mock WeCom served by this process.

    ``MockWeCom().start()`` serves it from a daemon thread (port 0: a free port) and returns it;
    ``with MockWeCom() as mock:`` starts and stops it; ``serve_forever()`` serves in the calling thread.

    :param str host: interface to listen on (``0.0.0.0`` for docker-compose)
    :param int port: TCP port, 0 for a free one
    :param bool verbose: print one masked line per request
    """

    def __init__(self, host="127.0.0.1", port=0, verbose=False):
        self.host, self.port, self.verbose = host, int(port), verbose
        self.server = None
        self._thread = None
        self._foreground = False
        super().__init__(f"http://{host}:{self.port}")

    def bind(self):
        """Create the listening socket (idempotent); sets ``port`` and ``url``."""
        if self.server is None:
            self.server = MockHTTPServer((self.host, self.port), verbose=self.verbose)
            self.port = self.server.server_address[1]
            url_host = f"[{self.host}]" if ":" in self.host else self.host
            self.url = f"http://{url_host}:{self.port}"
        return self

    def start(self):
        """Serve from a daemon thread; returns self."""
        self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"mock-wecom-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self):
        """Serve in the calling thread until :meth:`stop` (from another thread) or an exception."""
        server = self.bind().server
        self._foreground = True
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            self._foreground = False
            server.server_close()

    def stop(self):
        """Stop serving and close the listening socket."""
        self.close()
        server, thread, serving = self.server, self._thread, self._thread is not None or self._foreground
        self.server = self._thread = None
        if server is not None:
            if serving:
                server.shutdown()
                thread.join(timeout=5)
            server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ====================================================================== directory (contacts)
# The contacts APIs of WeCom (WECOM_PROTOCOL.md §2.9) over a directory that tests seed and change. Kept in this
# one block on purpose: its state hangs off MockState (emptied by every reset), its API handlers join
# Handler.ROUTES, its control paths are served before the ones of Handler._control, and MockWeComControl gains
# the methods that drive them.
#
# ``POST /_mock/directory``           ``{"departments": [...], "users": [...], "private_fields": bool}``: replace it
# ``POST /_mock/directory/generate``  ``{"departments": N, "users": M, "seed": S}``: a generated tree and members
# ``POST /_mock/directory/change``    ``{"departments": [...], "users": [...], "delete_departments": [ids],
#                                     "delete_users": [userids]}``: upsert (merged into what is there) and delete
# ``GET /_mock/directory``            what the mock holds
#
# Today's rules: applications created after 2022-06-20 get no mobile, email, avatar, gender or address from the
# user APIs; the mock answers that way unless ``private_fields`` is true (an older application).
# Codes the mock chooses: 60003 unknown department, 60111 unknown userid, 40058 a bad ``limit`` or ``cursor``.

DIRECTORY_PRIVATE_FIELDS = ("mobile", "email", "biz_mail", "avatar", "thumb_avatar", "gender", "address", "telephone")
DIRECTORY_USER_STATUSES = (1, 2, 4, 5)  # active, disabled, not activated, exited
ERRCODE_DEPARTMENT_NOT_FOUND = 60003
ERRCODE_USERID_NOT_FOUND = 60111
ERRCODE_INVALID_PARAMETER = 40058
# A small directory the tests share: a tree of four departments, three members (one in two departments, one
# disabled, one not activated), an e-mail and a mobile that only applications with private fields see.
SAMPLE_DEPARTMENTS = (
    {"id": 1, "name": "Company", "parentid": 0, "order": 100},
    {"id": 2, "name": "Sales", "parentid": 1, "order": 20},
    {"id": 3, "name": "East", "parentid": 2, "order": 5},
    {"id": 4, "name": "R&D", "parentid": 1, "order": 10},
)
SAMPLE_USERS = (
    {"userid": "zhangsan", "name": "张三", "department": [2, 4], "position": "Sales", "email": "zs@example.com"},
    {"userid": "lisi", "name": "李四", "department": [3], "status": 2, "mobile": "13800000000"},
    {"userid": "wangwu", "name": "王五", "department": [4], "status": 4, "position": "Engineer"},
)
_DIRECTORY_POSITIONS = ("Engineer", "Sales", "Accountant", "Designer", "Manager", "Support", "工程师", "销售")


class MockDirectory:
    """Departments and members of the mock company (callers hold ``MockState.lock``)."""

    def __init__(self):
        self.departments = {}  # id -> {"id", "name", "name_en", "parentid", "order", "department_leader"}
        self.users = {}  # userid -> member record (insertion order is list_id's order)
        self.private_fields = False

    @staticmethod
    def _department(data):
        department_id = int(data["id"])
        if department_id <= 0:
            raise ValueError("a department id must be positive")
        return {
            "id": department_id,
            "name": str(data.get("name") or f"Department {department_id}"),
            "name_en": str(data.get("name_en") or ""),
            "parentid": int(data.get("parentid") or 0),
            "order": int(data.get("order") or 0),
            "department_leader": list(data.get("department_leader") or []),
        }

    def _user(self, data, current=None):
        record = dict(current or {})
        record.update({key: value for key, value in data.items() if value is not None})
        userid = str(record.get("userid") or "")
        if not userid:
            raise ValueError("a member needs a userid")
        departments = [int(d) for d in record.get("department") or [1]]
        status = int(record.get("status") or 1)
        if status not in DIRECTORY_USER_STATUSES:
            raise ValueError(f"status must be one of {DIRECTORY_USER_STATUSES}")
        record.update(
            userid=userid,
            name=str(record.get("name") or userid),
            department=departments,
            order=[int(o) for o in record.get("order") or [0] * len(departments)][: len(departments)],
            position=str(record.get("position") or ""),
            status=status,
            main_department=main
            if (main := int(record.get("main_department") or 0)) in departments
            else departments[0],
        )
        return record

    def replace(self, departments=(), users=(), private_fields=False):
        self.departments = {}
        self.users = {}
        self.private_fields = bool(private_fields)
        self.change(departments=departments, users=users)

    def change(self, departments=(), users=(), delete_departments=(), delete_users=()):
        for data in departments or ():
            record = self._department({**self.departments.get(int(data["id"]), {}), **data})
            self.departments[record["id"]] = record
        for data in users or ():
            current = self.users.get(str(data.get("userid")))
            record = self._user(data, current)
            self.users[record["userid"]] = record
        for department_id in delete_departments or ():
            self.departments.pop(int(department_id), None)
        for userid in delete_users or ():
            self.users.pop(str(userid), None)

    def generate(self, departments=100, users=2000, seed=0):
        """A tree of ``departments`` (1 is the root) and ``users`` members, the same for the same ``seed``."""
        import random  # noqa: PLC0415 - only the generator needs it

        rng = random.Random(seed)
        tree = [{"id": 1, "name": "Mock Company", "parentid": 0, "order": 100000000}]
        for department_id in range(2, int(departments) + 1):
            parent = rng.randint(1, department_id - 1) if department_id > 2 else 1
            tree.append(
                {"id": department_id, "name": f"Department {department_id}", "parentid": parent, "order": department_id}
            )
        members = []
        for number in range(1, int(users) + 1):
            main = rng.randint(1, int(departments))
            extra = [rng.randint(1, int(departments))] if rng.random() < 0.1 else []
            members.append(
                {
                    "userid": f"user{number:05d}",
                    "name": f"Member {number:05d}",
                    "department": [main, *[d for d in extra if d != main]],
                    "position": rng.choice(_DIRECTORY_POSITIONS),
                    "status": 1 if rng.random() < 0.9 else rng.choice((2, 4)),
                    "mobile": f"138{number:08d}",
                    "email": f"user{number:05d}@example.com",
                    "avatar": f"https://wework.qpic.cn/wwpic/mock/{number}",
                }
            )
        self.replace(tree, members, self.private_fields)

    def subtree(self, root_id):
        """Department ids under ``root_id`` (itself included), parents before children."""
        children = {}
        for department in self.departments.values():
            children.setdefault(department["parentid"], []).append(department["id"])
        result, queue = [], [root_id]
        while queue:
            current = queue.pop(0)
            result.append(current)
            queue.extend(sorted(children.get(current, ())))
        return result

    def public_user(self, record):
        """A member as today's self-built application sees it (no private fields unless allowed)."""
        user = json.loads(json.dumps(record))
        if not self.private_fields:
            for key in DIRECTORY_PRIVATE_FIELDS:
                user.pop(key, None)
        return user

    def snapshot(self):
        return {
            "departments": list(self.departments.values()),
            "users": list(self.users.values()),
            "private_fields": self.private_fields,
        }


def plug_part(attr, factory, prefix, commands, routes=None):
    """Plug a part of the mock WeCom in (the directory here; approvals, customer contact and mail cards in their
    modules):

    - ``routes``: WeCom API paths and their handlers, added to ``Handler.ROUTES``;
    - ``state.<attr>`` holds a ``factory()``, made anew by every reset;
    - ``commands``: ``{(method, control path): command(handler, part, data)}`` for the control paths under
      ``prefix`` (``/_mock/<name>`` and below). Each runs under the state lock with the request's JSON object;
      it returns the JSON object to answer, or None for ``{"ok": true}``; it never answers itself. A
      ``TypeError``, ``ValueError`` or ``KeyError`` it raises answers 400 with its (masked) message, an unknown
      path 404.

    :return: ``part(handler)``, the part of the handler's state (made when missing)
    """
    Handler.ROUTES.update(routes or {})
    reset, control = MockState.reset, Handler._control

    def part(handler):
        state = handler.state
        if getattr(state, attr, None) is None:
            setattr(state, attr, factory())
        return getattr(state, attr)

    def reset_with_part(self):
        with self.lock:
            reset(self)
            setattr(self, attr, factory())

    def control_with_part(self, path, body):
        if path != prefix and not path.startswith(prefix + "/"):
            return control(self, path, body)
        data = _json_object(body)
        if data is None:
            return self._json({"ok": False, "error": "the body must be a JSON object"}, status=400)
        command = commands.get((self.command, path))
        if command is None:
            return self._json({"ok": False, "error": "unknown control path"}, status=404)
        try:
            with self.state.lock:
                response = command(self, part(self), data)
        except (TypeError, ValueError, KeyError) as exc:
            return self._json({"ok": False, "error": mask(str(exc))}, status=400)
        return self._json({"ok": True} if response is None else response)

    MockState.reset = reset_with_part
    Handler._control = control_with_part
    return part


def _directory_departments(handler, query):
    """The departments a list call covers (``id`` and its subtree, or everything), or None once answered."""
    directory = _directory(handler)
    raw = (query.get("id") or "").strip()
    if not raw:
        roots = [d["id"] for d in directory.departments.values() if d["parentid"] not in directory.departments]
        ids = [department_id for root in sorted(roots) for department_id in directory.subtree(root)]
    elif not raw.isdigit() or int(raw) not in directory.departments:
        handler._err(ERRCODE_DEPARTMENT_NOT_FOUND, "department not found")
        return None
    else:
        ids = directory.subtree(int(raw))
    return [directory.departments[i] for i in ids]


def _directory_list(handler, query, select, shape, key):
    """Answer a list API: the token checked, ``select(handler, query)`` picks the records (None once it answered
    an error), ``shape(directory, record)`` makes each row of the answer's ``key``."""
    if handler._token_app(query) is None:
        return None
    with handler.state.lock:
        records = select(handler, query)
        if records is None:
            return None
        rows = [shape(_directory(handler), record) for record in records]
    return handler._json({"errcode": 0, "errmsg": "ok", key: rows})


def api_department_list(handler, query, body):
    return _directory_list(handler, query, _directory_departments, lambda _d, record: dict(record), "department")


def api_department_simplelist(handler, query, body):
    def shape(_directory, record):
        return {key: record[key] for key in ("id", "parentid", "order")}

    return _directory_list(handler, query, _directory_departments, shape, "department_id")


def api_user_list_id(handler, query, body):
    checked = handler._app_payload(query, body, empty_ok=True)
    if checked is None:
        return None
    payload = checked[1]
    limit, cursor = payload.get("limit", 1000), str(payload.get("cursor") or "")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10000:
        return handler._err(ERRCODE_INVALID_PARAMETER, "invalid limit: 1 to 10000")
    if cursor and not (cursor.startswith("c") and cursor[1:].isdigit()):
        return handler._err(ERRCODE_INVALID_PARAMETER, "invalid cursor")
    offset = int(cursor[1:]) if cursor else 0
    with handler.state.lock:
        rows = [
            {"userid": user["userid"], "department": department}
            for user in _directory(handler).users.values()
            for department in user["department"]
        ]
    page = rows[offset : offset + limit]
    next_cursor = f"c{offset + limit}" if offset + limit < len(rows) else ""
    return handler._json({"errcode": 0, "errmsg": "ok", "next_cursor": next_cursor, "dept_user": page})


def _directory_users_of(handler, query):
    """Members of ``department_id`` (its subtree with ``fetch_child=1``), or None once answered."""
    raw = (query.get("department_id") or "").strip()
    directory = _directory(handler)
    if not raw.isdigit() or int(raw) not in directory.departments:
        handler._err(ERRCODE_DEPARTMENT_NOT_FOUND, "department not found")
        return None
    ids = set(directory.subtree(int(raw)) if query.get("fetch_child") == "1" else [int(raw)])
    return [user for user in directory.users.values() if ids & set(user["department"])]


def api_user_list(handler, query, body):
    return _directory_list(handler, query, _directory_users_of, MockDirectory.public_user, "userlist")


def api_user_simplelist(handler, query, body):
    def shape(_directory, user):
        return {
            "userid": user["userid"],
            "name": user["name"],
            "department": list(user["department"]),
            "open_userid": user["userid"],
        }

    return _directory_list(handler, query, _directory_users_of, shape, "userlist")


def api_user_get(handler, query, body):
    if handler._token_app(query) is None:
        return None
    with handler.state.lock:
        directory = _directory(handler)
        record = directory.users.get(query.get("userid") or "")
        if record is None:
            return handler._err(ERRCODE_USERID_NOT_FOUND, "userid not found")
        user = directory.public_user(record)
    return handler._json({"errcode": 0, "errmsg": "ok", **user})


def _directory_generate(handler, directory, data):
    if "private_fields" in data:
        directory.private_fields = bool(data.pop("private_fields"))
    directory.generate(**data)


_directory = plug_part(
    "directory",
    MockDirectory,
    "/_mock/directory",
    {
        ("GET", "/_mock/directory"): lambda handler, directory, data: directory.snapshot(),
        ("POST", "/_mock/directory"): lambda handler, directory, data: directory.replace(
            data.get("departments") or (), data.get("users") or (), data.get("private_fields")
        ),
        ("POST", "/_mock/directory/generate"): _directory_generate,
        ("POST", "/_mock/directory/change"): lambda handler, directory, data: directory.change(**data),
    },
    routes={
        "/cgi-bin/department/list": api_department_list,
        "/cgi-bin/department/simplelist": api_department_simplelist,
        "/cgi-bin/user/list_id": api_user_list_id,
        "/cgi-bin/user/list": api_user_list,
        "/cgi-bin/user/simplelist": api_user_simplelist,
        "/cgi-bin/user/get": api_user_get,
    },
)


def _control_set_directory(self, departments=(), users=(), private_fields=False):
    """Replace the mock's directory: department dicts (``id``, ``name``, ``parentid``, ``order``) and member
    dicts (``userid``, ``name``, ``department`` [ids], ``position``, ``status`` 1/2/4/5, ``mobile``, ...);
    ``private_fields`` answers mobile/email/avatar as for an application created before 2022-06-20."""
    self._call(
        "POST",
        "/_mock/directory",
        {"departments": list(departments), "users": list(users), "private_fields": private_fields},
    )


def _control_generate_directory(self, departments=100, users=2000, seed=0, private_fields=False):
    """A generated directory: a tree of ``departments`` and ``users`` members (``user00001``...)."""
    self._call(
        "POST",
        "/_mock/directory/generate",
        {"departments": departments, "users": users, "seed": seed, "private_fields": private_fields},
    )


def _control_change_directory(self, departments=(), users=(), delete_departments=(), delete_users=()):
    """Upsert departments / members (merged into what the mock holds) and delete some."""
    self._call(
        "POST",
        "/_mock/directory/change",
        {
            "departments": list(departments),
            "users": list(users),
            "delete_departments": list(delete_departments),
            "delete_users": list(delete_users),
        },
    )


def _control_directory(self):
    """``{"departments", "users", "private_fields"}`` as the mock holds them."""
    return self._call("GET", "/_mock/directory")


MockWeComControl.set_directory = _control_set_directory
MockWeComControl.generate_directory = _control_generate_directory
MockWeComControl.change_directory = _control_change_directory
MockWeComControl.directory = _control_directory
# the APIs of the other addons, each in a module of its own: approval (wecom_approval), crm (wecom_crm),
# mail (wecom_mail: interactive template cards)
from . import approval, crm, mail  # noqa: E402,F401
