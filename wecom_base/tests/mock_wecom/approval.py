"""The approval APIs of the mock WeCom (审批, WECOM_PROTOCOL.md §2.13) over templates and approvals that tests
seed and decide. Imported at the end of ``server.py``, it follows the directory block there: its state hangs off
``MockState`` (emptied by every reset), its API handlers join ``Handler.ROUTES``, its control paths are served
before the others, and ``MockWeComControl`` gains the methods that drive them.

``POST /_mock/approval/template``  ``{"template_id", "name", "controls": [{"control", "id", "title", "require"}]}``
``POST /_mock/approval/decide``    ``{"sp_no", "sp_status", "approver", "speech"}``: a decision in WeCom
``GET /_mock/approval``            ``{"templates": {...}, "approvals": {sp_no: {...}}}``

Codes the mock chooses: 301025 for an unknown template, 301035 for a missing required control or a value of the
wrong shape (WeCom: "apply data invalid"), 301055 for an unknown ``sp_no``, 40058 for a bad body.
"""

import time

from .server import ERRCODE_INVALID_PARAMETER, Handler, MockState, MockWeComControl, _json_object, mask

ERRCODE_TEMPLATE_NOT_FOUND = 301025
ERRCODE_APPLY_DATA_INVALID = 301035
ERRCODE_SP_NO_NOT_FOUND = 301055
VALUE_KEYS = {  # control type -> the key its value must carry
    "Text": "text",
    "Textarea": "text",
    "Number": "new_number",
    "Money": "new_money",
    "Date": "date",
    "Contact": "members",
    "File": "files",
    "Table": "children",
}


class MockApproval:
    """Templates and approvals of the mock company (callers hold ``MockState.lock``)."""

    def __init__(self):
        self.templates = {}  # template_id -> {"template_id", "name", "controls": [...]}
        self.approvals = {}  # sp_no -> {"sp_no", "template_id", "creator_userid", "contents", "sp_status", ...}
        self.counter = 0

    def set_template(self, template_id, name="Approval", controls=()):
        self.templates[str(template_id)] = {
            "template_id": str(template_id),
            "name": str(name),
            "controls": [
                {
                    "control": str(c["control"]),
                    "id": str(c["id"]),
                    "title": str(c.get("title") or c["id"]),
                    "require": int(bool(c.get("require"))),
                    "children": list(c.get("children") or ()),
                }
                for c in controls
            ],
        }

    def detail(self, template_id):
        template = self.templates[template_id]
        controls = []
        for c in template["controls"]:
            prop = {"control": c["control"], "id": c["id"], "title": [{"text": c["title"], "lang": "zh_CN"}]}
            prop["require"] = c["require"]
            config = {}
            if c["control"] == "Table":
                config["table"] = {
                    "children": [
                        {"property": {"control": "Text", "id": child, "title": [{"text": child, "lang": "zh_CN"}]}}
                        for child in c["children"]
                    ]
                }
            controls.append({"property": prop, "config": config})
        return {
            "template_names": [{"text": template["name"], "lang": "zh_CN"}],
            "template_content": {"controls": controls},
        }

    def apply(self, payload):
        """``(sp_no, None)`` or ``(None, (errcode, errmsg))``."""
        template = self.templates.get(str(payload.get("template_id") or ""))
        if template is None:
            return None, (ERRCODE_TEMPLATE_NOT_FOUND, "template not found")
        if not payload.get("creator_userid"):
            return None, (ERRCODE_INVALID_PARAMETER, "creator_userid missing")
        contents = ((payload.get("apply_data") or {}).get("contents")) or []
        by_id = {str(item.get("id")): item for item in contents if isinstance(item, dict)}
        for control in template["controls"]:
            item = by_id.get(control["id"])
            if item is None:
                if control["require"]:
                    return None, (ERRCODE_APPLY_DATA_INVALID, f"apply data invalid: {control['id']} required")
                continue
            key = VALUE_KEYS.get(control["control"])
            if item.get("control") != control["control"] or not key or key not in (item.get("value") or {}):
                return None, (ERRCODE_APPLY_DATA_INVALID, f"apply data invalid: {control['id']}")
        if not payload.get("use_template_approver") and not payload.get("approver"):
            return None, (ERRCODE_INVALID_PARAMETER, "approver missing")
        self.counter += 1
        sp_no = f"2026{self.counter:08d}"
        self.approvals[sp_no] = {
            "sp_no": sp_no,
            "sp_name": template["name"],
            "template_id": template["template_id"],
            "creator_userid": payload["creator_userid"],
            "apply_time": int(time.time()),
            "contents": contents,
            "summary_list": payload.get("summary_list") or [],
            "approver": payload.get("approver") or [],
            "use_template_approver": payload.get("use_template_approver") or 0,
            "sp_status": 1,
            "records": [],
        }
        return sp_no, None

    def decide(self, sp_no, sp_status, approver="lisi", speech=""):
        approval = self.approvals[str(sp_no)]
        approval["sp_status"] = int(sp_status)
        approval["records"].append(
            {
                "approver": str(approver),
                "speech": str(speech or ""),
                "sp_status": int(sp_status),
                "time": int(time.time()),
            }
        )
        return approval

    def info(self, sp_no):
        approval = self.approvals[sp_no]
        return {
            "sp_no": sp_no,
            "sp_name": approval["sp_name"],
            "sp_status": approval["sp_status"],
            "template_id": approval["template_id"],
            "apply_time": approval["apply_time"],
            "applyer": {"userid": approval["creator_userid"]},
            "sp_record": [
                {
                    "sp_status": record["sp_status"],
                    "approverattr": 1,
                    "details": [
                        {
                            "approver": {"userid": record["approver"]},
                            "speech": record["speech"],
                            "sp_status": record["sp_status"],
                            "sptime": record["time"],
                        }
                    ],
                }
                for record in approval["records"]
            ],
            "comments": [],
        }


def _approval(handler):
    state = handler.state
    if getattr(state, "approval", None) is None:
        state.approval = MockApproval()
    return state.approval


def _body(handler, query, body):
    if handler._token_app(query) is None:
        return None
    return handler._json_body(body)


def api_gettemplatedetail(handler, query, body):
    payload = _body(handler, query, body)
    if payload is None:
        return None
    with handler.state.lock:
        approval = _approval(handler)
        template_id = str(payload.get("template_id") or "")
        if template_id not in approval.templates:
            return handler._err(ERRCODE_TEMPLATE_NOT_FOUND, "template not found")
        detail = approval.detail(template_id)
    return handler._json({"errcode": 0, "errmsg": "ok", **detail})


def api_applyevent(handler, query, body):
    payload = _body(handler, query, body)
    if payload is None:
        return None
    with handler.state.lock:
        sp_no, error = _approval(handler).apply(payload)
    if error:
        return handler._err(*error)
    return handler._json({"errcode": 0, "errmsg": "ok", "sp_no": sp_no})


def api_getapprovaldetail(handler, query, body):
    payload = _body(handler, query, body)
    if payload is None:
        return None
    with handler.state.lock:
        approval = _approval(handler)
        sp_no = str(payload.get("sp_no") or "")
        if sp_no not in approval.approvals:
            return handler._err(ERRCODE_SP_NO_NOT_FOUND, "sp_no not found")
        info = approval.info(sp_no)
    return handler._json({"errcode": 0, "errmsg": "ok", "info": info})


Handler.ROUTES.update(
    {
        "/cgi-bin/oa/gettemplatedetail": api_gettemplatedetail,
        "/cgi-bin/oa/applyevent": api_applyevent,
        "/cgi-bin/oa/getapprovaldetail": api_getapprovaldetail,
    }
)

_mock_state_reset = MockState.reset
_handler_control = Handler._control


def _reset_with_approval(self):
    with self.lock:
        _mock_state_reset(self)
        self.approval = MockApproval()


def _control_with_approval(self, path, body):
    if path != "/_mock/approval" and not path.startswith("/_mock/approval/"):
        return _handler_control(self, path, body)
    data = _json_object(body) if self.command == "POST" else {}
    if data is None:
        return self._json({"ok": False, "error": "the body must be a JSON object"}, status=400)
    try:
        with self.state.lock:
            approval = _approval(self)
            if (self.command, path) == ("GET", "/_mock/approval"):
                return self._json({"templates": approval.templates, "approvals": approval.approvals})
            if (self.command, path) == ("POST", "/_mock/approval/template"):
                approval.set_template(data["template_id"], data.get("name") or "Approval", data.get("controls") or ())
            elif (self.command, path) == ("POST", "/_mock/approval/decide"):
                decided = approval.decide(
                    data["sp_no"], data["sp_status"], data.get("approver") or "lisi", data.get("speech")
                )
                return self._json({"ok": True, "info": approval.info(decided["sp_no"])})
            else:
                return self._json({"ok": False, "error": "unknown control path"}, status=404)
    except (TypeError, ValueError, KeyError) as exc:
        return self._json({"ok": False, "error": mask(str(exc))}, status=400)
    return self._json({"ok": True})


MockState.reset = _reset_with_approval
Handler._control = _control_with_approval


def _control_set_approval_template(self, template_id, name="Approval", controls=()):
    """A template of the approval app: ``controls`` are ``{"control", "id", "title", "require", "children"}``
    (``children``: the ids of a Table's Text columns)."""
    self._call(
        "POST", "/_mock/approval/template", {"template_id": template_id, "name": name, "controls": list(controls)}
    )


def _control_decide_approval(self, sp_no, sp_status, approver="lisi", speech=""):
    """Decide an approval in WeCom (2 approved, 3 rejected, 4 revoked); returns its ``getapprovaldetail`` info."""
    answer = self._call(
        "POST",
        "/_mock/approval/decide",
        {"sp_no": sp_no, "sp_status": sp_status, "approver": approver, "speech": speech},
    )
    return answer["info"]


def _control_approvals(self):
    """``{sp_no: approval}`` as the mock received them (``creator_userid``, ``template_id``, ``contents``...)."""
    return self._call("GET", "/_mock/approval")["approvals"]


MockWeComControl.set_approval_template = _control_set_approval_template
MockWeComControl.decide_approval = _control_decide_approval
MockWeComControl.approvals = _control_approvals
