"""Interactive template cards in the mock WeCom (WECOM_PROTOCOL.md §2.12), for wecom_mail.

Imported once at the end of ``server.py``, like the directory block there: its state hangs off ``MockState``
(emptied by every reset), its API handlers join ``Handler.ROUTES``, its control paths are served before the
ones of ``Handler._control``, and ``MockWeComControl`` gains the methods that drive them.

- ``message/send`` of an interactive ``template_card`` (``button_interaction``, ``vote_interaction``,
  ``multiple_interaction``) is answered with a ``response_code`` as WeCom does; the card's ``task_id`` must be
  new for the application (up to 128 bytes of ``[0-9a-zA-Z_-@]``), a ``button_interaction`` has 1 to 6 buttons.
- ``message/update_template_card`` ``{userids, agentid, response_code, button: {replace_name}}`` (or a whole
  ``template_card``) takes a response code once, within 72 hours, and is recorded.

``POST /_mock/mail/click``       ``{"task_id", "userid", "key"}``: a member clicks a card's button; answered
                                 ``{"response_code"}``, the fresh code WeCom puts in the ``template_card_event``
                                 callback (the tests build that callback themselves)
``GET /_mock/mail/cards``        ``{"cards": {task_id: {...}}, "updates": [...]}``

Codes the mock chooses: 40058 (invalid parameter) for a bad ``task_id``, a duplicate ``task_id`` or a bad
button list; 40145 for an unknown, used or expired ``response_code``.
"""

import re
import secrets

from .server import Handler, MockWeComControl, _json_object, plug_part

INTERACTIVE_CARD_TYPES = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
RESPONSE_CODE_TTL = 72 * 3600
ERRCODE_INVALID_PARAMETER = 40058
ERRCODE_INVALID_RESPONSE_CODE = 40145


class MockCards:
    """Interactive cards sent, response codes issued and card updates received (callers hold the lock)."""

    def __init__(self):
        self.cards = {}  # (agentid, task_id) -> {"task_id", "agentid", "touser", "card", "clicks"}
        self.codes = {}  # response_code -> {"agentid", "task_id", "userid" or None, "at", "used"}
        self.updates = []  # [{"agentid", "userids", "response_code", "task_id", "button", "template_card", "at"}]

    def issue(self, agentid, task_id, userid, now):
        code = "mock-rc-" + secrets.token_hex(12)
        self.codes[code] = {"agentid": agentid, "task_id": task_id, "userid": userid, "at": now, "used": False}
        return code

    def snapshot(self):
        return {
            "cards": {task_id: dict(card) for (_agent, task_id), card in self.cards.items()},
            "updates": list(self.updates),
        }


def _card_problem(card):
    """Why WeCom would refuse this interactive card, or None."""
    task_id = card.get("task_id")
    if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id):
        return "invalid task_id"
    if card.get("card_type") == "button_interaction":
        buttons = card.get("button_list")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
            return "button_list: 1 to 6 buttons"
        for button in buttons:
            if not isinstance(button, dict) or not button.get("text"):
                return "button_list: every button needs a text"
            if int(button.get("type") or 0) == 0 and not button.get("key"):
                return "button_list: a callback button needs a key"
    return None


_original_message_send = Handler.ROUTES["/cgi-bin/message/send"]


def api_message_send_with_cards(handler, query, body):
    """``message/send``, plus a ``response_code`` for an interactive template card."""
    payload = _json_object(body)
    card = payload.get("template_card") if payload and payload.get("msgtype") == "template_card" else None
    if not (isinstance(card, dict) and card.get("card_type") in INTERACTIVE_CARD_TYPES):
        return _original_message_send(handler, query, body)
    app = handler._token_app(query)
    if app is None:
        return None
    agentid = app["info"]["agentid"]
    problem = _card_problem(card)
    with handler.state.lock:
        if problem is None and (agentid, card["task_id"]) in _cards(handler).cards:
            problem = "task_id already used"
    if problem:
        return handler._err(ERRCODE_INVALID_PARAMETER, f"invalid template_card: {problem}")
    answers = []
    original_json = handler._json

    def capture(data, status=200):
        answers.append(data)
        if isinstance(data, dict) and data.get("errcode") == 0:
            with handler.state.lock:
                cards = _cards(handler)
                cards.cards[(agentid, card["task_id"])] = {
                    "task_id": card["task_id"],
                    "agentid": agentid,
                    "touser": payload.get("touser"),
                    "card": card,
                    "msgid": data.get("msgid"),
                }
                data = {**data, "response_code": cards.issue(agentid, card["task_id"], None, handler.state.now())}
        return original_json(data, status)

    handler._json = capture
    try:
        return _original_message_send(handler, query, body)
    finally:
        del handler._json


def api_message_update_template_card(handler, query, body):
    checked = handler._agent_payload(query, body)
    if checked is None:
        return None
    app, payload = checked
    agentid = app["info"]["agentid"]
    userids = payload.get("userids")
    if not isinstance(userids, list) or not userids or not all(isinstance(u, str) and u for u in userids):
        return handler._err(ERRCODE_INVALID_PARAMETER, "userids: a list of userids")
    button, template_card = payload.get("button"), payload.get("template_card")
    if not (isinstance(button, dict) and button.get("replace_name")) and not isinstance(template_card, dict):
        return handler._err(ERRCODE_INVALID_PARAMETER, "button.replace_name or template_card required")
    state = handler.state
    with state.lock:
        cards = _cards(handler)
        code = cards.codes.get(payload.get("response_code")) if isinstance(payload.get("response_code"), str) else None
        if code is None or code["used"] or code["agentid"] != agentid or state.now() - code["at"] > RESPONSE_CODE_TTL:
            return handler._err(ERRCODE_INVALID_RESPONSE_CODE, "invalid response_code")
        code["used"] = True
        cards.updates.append(
            {
                "agentid": agentid,
                "userids": userids,
                "response_code": payload["response_code"],
                "task_id": code["task_id"],
                "button": button,
                "template_card": template_card,
                "at": state.now(),
            }
        )
    return handler._err(0, "ok")


def _cards_click(handler, cards, data):
    task_id, userid = str(data.get("task_id") or ""), str(data.get("userid") or "")
    card = next((card for (_agent, task), card in cards.cards.items() if task == task_id), None)
    if card is None or not userid:
        raise ValueError(f"no card {task_id!r} or no userid")
    code = cards.issue(card["agentid"], task_id, userid, handler.state.now())
    return {"ok": True, "response_code": code, "agentid": card["agentid"]}


_cards = plug_part(
    "cards",
    MockCards,
    "/_mock/mail",
    {
        ("GET", "/_mock/mail/cards"): lambda handler, cards, data: cards.snapshot(),
        ("POST", "/_mock/mail/click"): _cards_click,
    },
    routes={
        "/cgi-bin/message/send": api_message_send_with_cards,
        "/cgi-bin/message/update_template_card": api_message_update_template_card,
    },
)


def _control_card_click(self, task_id, userid, key=None):
    """A member clicks a button of the card ``task_id``: the fresh ``response_code`` of that click."""
    return self._call("POST", "/_mock/mail/click", {"task_id": task_id, "userid": userid, "key": key})["response_code"]


def _control_cards(self):
    """``{"cards": {task_id: {...}}, "updates": [...]}``: interactive cards sent and card updates received."""
    return self._call("GET", "/_mock/mail/cards")


MockWeComControl.card_click = _control_card_click
MockWeComControl.cards = _control_cards
