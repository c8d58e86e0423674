"""The mock WeCom's approval APIs (审批; WECOM_PROTOCOL.md §2.13), in the pattern of the "directory (contacts)" block
of ``server.py``: state hung off ``MockState`` (emptied by every reset), handlers joining ``Handler.ROUTES``, control
paths under ``/_mock/approval`` served before the others, and ``MockWeComControl`` methods that drive them.

``POST /_mock/approval/templates``  ``{"templates": [{"template_id", "name", "controls": [...]}]}``: replace the
                                    templates (``controls`` as ``oa/gettemplatedetail`` answers them; see
                                    ``SAMPLE_APPROVAL_TEMPLATE``)
``POST /_mock/approval/decide``     ``{"sp_no", "sp_status": 2|3|4|..., "userid", "speech"}``: an approver decides
                                    (``sp_status`` of the whole approval and a step in ``sp_record``); answers the
                                    approval's detail and ``callback_xml``, the ``sys_approval_change`` WeCom posts
``GET /_mock/approval``             ``{"templates", "applications"}``: what the mock holds (applications in order)

Codes the mock chooses: 301025 a required control missing (or a control the template does not have), 301002 an
unknown template, 301011 an unknown ``sp_no``, 40058 a missing or malformed parameter.
"""

import json
import time

from .server import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, MockWeComControl, plug_part

ERRCODE_APPROVAL_REQUIRED_MISSING = 301025
ERRCODE_APPROVAL_TEMPLATE_NOT_FOUND = 301002
ERRCODE_APPROVAL_NOT_FOUND = 301011
ERRCODE_APPROVAL_INVALID_PARAMETER = 40058
APPROVAL_STATUSES = (
    1,
    2,
    3,
    4,
    6,
    7,
    10,
)  # pending, approved, rejected, revoked, revoked after approval, deleted, paid
CONTROL_VALUE_KEYS = {
    "Text": "text",
    "Textarea": "text",
    "Number": "new_number",
    "Money": "new_money",
    "Date": "date",
    "File": "files",
    "Table": "children",
    "Contact": "members",
    "Selector": "selector",
}


def _control(control, control_id, title, require=0, config=None):
    entry = {
        "property": {
            "control": control,
            "id": control_id,
            "title": [{"text": title, "lang": "zh_CN"}, {"text": title, "lang": "en"}],
            "placeholder": [],
            "require": require,
            "un_print": 0,
        }
    }
    if config is not None:
        entry["config"] = config
    return entry


# A purchase-like template with one control of each type Odoo fills (the table's columns inside its config).
SAMPLE_APPROVAL_TEMPLATE = {
    "template_id": "3Tka1eD6v6JfzhDMqPd3aMkFdxqtJMc2ZRioeFXkaaa",
    "name": "采购审批",
    "controls": [
        _control("Text", "Text-1001", "Reference", require=1),
        _control("Textarea", "Textarea-1002", "Notes"),
        _control("Number", "Number-1003", "Quantity"),
        _control("Money", "Money-1004", "Amount", require=1),
        _control("Date", "Date-1005", "Order Deadline", config={"date": {"type": "day"}}),
        _control("File", "File-1006", "Document"),
        _control(
            "Table",
            "Table-1007",
            "Lines",
            config={
                "table": {
                    "children": [
                        _control("Text", "Text-1008", "Product"),
                        _control("Number", "Number-1009", "Qty"),
                        _control("Money", "Money-1010", "Subtotal"),
                    ],
                    "stat_field": [],
                }
            },
        ),
    ],
}


def _filled(entry):
    """Whether a ``{control, id, value}`` of ``apply_data.contents`` carries a value."""
    value = entry.get("value")
    if not isinstance(value, dict):
        return False
    key = CONTROL_VALUE_KEYS.get(entry.get("control"))
    if key:
        return bool(value.get(key))
    return any(value.values())


class MockApprovals:
    """Templates and approval requests of the mock company (callers hold ``MockState.lock``)."""

    def __init__(self):
        self.templates = {}  # template_id -> {"template_id", "name", "controls"}
        self.applications = {}  # sp_no -> detail (``info`` of getapprovaldetail) + "request" (what was posted)
        self.counter = 0

    def set_templates(self, templates):
        self.templates = {}
        for template in templates or ():
            template_id = str(template.get("template_id") or "")
            if not template_id:
                raise ValueError("a template needs a template_id")
            controls = template.get("controls")
            if not isinstance(controls, list):
                raise ValueError("controls must be a list")
            self.templates[template_id] = {
                "template_id": template_id,
                "name": str(template.get("name") or template_id),
                "controls": json.loads(json.dumps(controls)),
            }

    @staticmethod
    def required_missing(controls, contents):
        """Titles of the required controls ``contents`` does not fill (a table's required columns in each row)."""
        given = {str(c.get("id")): c for c in contents if isinstance(c, dict)}
        missing = []
        for control in controls:
            prop = control.get("property") or {}
            entry = given.get(prop.get("id"))
            if prop.get("require") and (entry is None or not _filled(entry)):
                missing.append(prop.get("id"))
            if entry is not None and prop.get("control") == "Table":
                columns = ((control.get("config") or {}).get("table") or {}).get("children") or []
                for row in (entry.get("value") or {}).get("children") or []:
                    missing.extend(MockApprovals.required_missing(columns, (row or {}).get("list") or []))
        return missing

    def apply(self, payload, now):
        """Record an ``applyevent``; returns ``(sp_no, None)`` or ``(None, (errcode, errmsg))``."""
        creator = payload.get("creator_userid")
        if not isinstance(creator, str) or not creator:
            return None, (ERRCODE_APPROVAL_INVALID_PARAMETER, "creator_userid missing")
        template = self.templates.get(str(payload.get("template_id") or ""))
        if template is None:
            return None, (ERRCODE_APPROVAL_TEMPLATE_NOT_FOUND, "template not found")
        if payload.get("use_template_approver") not in (0, 1):
            return None, (ERRCODE_APPROVAL_INVALID_PARAMETER, "use_template_approver must be 0 or 1")
        if payload["use_template_approver"] == 0 and not payload.get("approver"):
            return None, (ERRCODE_APPROVAL_INVALID_PARAMETER, "approver missing")
        contents = (payload.get("apply_data") or {}).get("contents")
        if not isinstance(contents, list):
            return None, (ERRCODE_APPROVAL_INVALID_PARAMETER, "apply_data.contents missing")
        known = {(c.get("property") or {}).get("id") for c in template["controls"]}
        unknown = [c.get("id") for c in contents if not isinstance(c, dict) or c.get("id") not in known]
        if unknown:
            return None, (ERRCODE_APPROVAL_REQUIRED_MISSING, f"unknown control {unknown[0]}")
        missing = self.required_missing(template["controls"], contents)
        if missing:
            return None, (ERRCODE_APPROVAL_REQUIRED_MISSING, f"required control missing: {missing[0]}")
        summary = payload.get("summary_list") or []
        if not isinstance(summary, list) or len(summary) > 3:
            return None, (ERRCODE_APPROVAL_INVALID_PARAMETER, "summary_list: at most 3 lines")
        self.counter += 1
        sp_no = time.strftime("%Y%m%d", time.gmtime(now)) + f"{self.counter:06d}"
        self.applications[sp_no] = {
            "sp_no": sp_no,
            "sp_name": template["name"],
            "sp_status": 1,
            "template_id": template["template_id"],
            "apply_time": int(now),
            "applyer": {"userid": creator, "partyid": "1"},
            "sp_record": [],
            "notifyer": [],
            "apply_data": {"contents": contents},
            "comments": [],
            "request": json.loads(json.dumps(payload)),
        }
        return sp_no, None

    def decide(self, sp_no, sp_status, userid="", speech="", now=0):
        application = self.applications.get(str(sp_no))
        if application is None:
            raise KeyError(f"unknown sp_no {sp_no}")
        sp_status = int(sp_status)
        if sp_status not in APPROVAL_STATUSES:
            raise ValueError(f"sp_status must be one of {APPROVAL_STATUSES}")
        application["sp_status"] = sp_status
        if userid:
            application["sp_record"].append(
                {
                    "sp_status": sp_status,
                    "approverattr": 1,
                    "details": [
                        {
                            "approver": {"userid": str(userid)},
                            "speech": str(speech or ""),
                            "sp_status": sp_status,
                            "sptime": int(now),
                            "media_id": [],
                        }
                    ],
                }
            )
        return self.detail(sp_no)

    def detail(self, sp_no):
        application = self.applications[str(sp_no)]
        return {key: value for key, value in application.items() if key != "request"}

    def snapshot(self):
        return {"templates": list(self.templates.values()), "applications": list(self.applications.values())}


def approval_change_xml(info, corp_id=DEFAULT_CORP_ID, agent_id=DEFAULT_AGENT_ID, event_time=None):
    """The ``sys_approval_change`` callback WeCom posts for the approval ``info`` (as getapprovaldetail answers)."""

    def cdata(value):
        text = str(value).replace("]]>", "]]]]><![CDATA[>")
        return f"<![CDATA[{text}]]>" if value not in (None, "") else ""

    records = "".join(
        "<SpRecord><SpStatus>{}</SpStatus><ApproverAttr>{}</ApproverAttr>{}</SpRecord>".format(
            record.get("sp_status"),
            record.get("approverattr", 1),
            "".join(
                f"<Details><Approver><UserId>{cdata(detail['approver']['userid'])}</UserId></Approver>"
                f"<Speech>{cdata(detail.get('speech'))}</Speech><SpStatus>{detail.get('sp_status')}</SpStatus>"
                f"<SpTime>{detail.get('sptime') or 0}</SpTime></Details>"
                for detail in record.get("details") or ()
            ),
        )
        for record in info.get("sp_record") or ()
    )
    applyer = info.get("applyer") or {}
    status_change = {2: 2, 3: 3, 4: 6, 6: 6}.get(int(info.get("sp_status") or 1), 1)
    return (
        f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><FromUserName>{cdata('sys')}</FromUserName>"
        f"<CreateTime>{int(event_time or time.time())}</CreateTime><MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata('sys_approval_change')}</Event><AgentID>{agent_id}</AgentID>"
        f"<ApprovalInfo><SpNo>{info['sp_no']}</SpNo><SpName>{cdata(info.get('sp_name'))}</SpName>"
        f"<SpStatus>{info.get('sp_status')}</SpStatus><TemplateId>{cdata(info.get('template_id'))}</TemplateId>"
        f"<ApplyTime>{info.get('apply_time') or 0}</ApplyTime>"
        f"<Applyer><UserId>{cdata(applyer.get('userid'))}</UserId><Party>{cdata('1')}</Party></Applyer>"
        f"{records}<StatuChangeEvent>{status_change}</StatuChangeEvent></ApprovalInfo></xml>"
    )


def _approval_payload(handler, query, body):
    """The JSON body of an approval API call once the token is checked, or None once an error is answered."""
    checked = handler._app_payload(query, body)
    return None if checked is None else checked[1]


def api_oa_gettemplatedetail(handler, query, body):
    payload = _approval_payload(handler, query, body)
    if payload is None:
        return None
    with handler.state.lock:
        template = _approvals(handler).templates.get(str(payload.get("template_id") or ""))
        if template is None:
            return handler._err(ERRCODE_APPROVAL_TEMPLATE_NOT_FOUND, "template not found")
        answer = {
            "errcode": 0,
            "errmsg": "ok",
            "template_names": [{"text": template["name"], "lang": "zh_CN"}],
            "template_content": {"controls": json.loads(json.dumps(template["controls"]))},
        }
    return handler._json(answer)


def api_oa_applyevent(handler, query, body):
    payload = _approval_payload(handler, query, body)
    if payload is None:
        return None
    with handler.state.lock:
        sp_no, error = _approvals(handler).apply(payload, handler.state.now())
    if error:
        return handler._err(*error)
    return handler._json({"errcode": 0, "errmsg": "ok", "sp_no": sp_no})


def api_oa_getapprovaldetail(handler, query, body):
    payload = _approval_payload(handler, query, body)
    if payload is None:
        return None
    with handler.state.lock:
        approvals = _approvals(handler)
        sp_no = str(payload.get("sp_no") or "")
        if sp_no not in approvals.applications:
            return handler._err(ERRCODE_APPROVAL_NOT_FOUND, "sp_no not found")
        info = approvals.detail(sp_no)
    return handler._json({"errcode": 0, "errmsg": "ok", "info": info})


def _approval_decide(handler, approvals, data):
    state = handler.state
    info = approvals.decide(
        data["sp_no"], data["sp_status"], data.get("userid") or "", data.get("speech") or "", state.now()
    )
    xml = approval_change_xml(
        info,
        corp_id=data.get("corp_id") or DEFAULT_CORP_ID,
        agent_id=data.get("agent_id") or DEFAULT_AGENT_ID,
        event_time=state.now(),
    )
    return {"ok": True, "info": info, "callback_xml": xml}


_approvals = plug_part(
    "approvals",
    MockApprovals,
    "/_mock/approval",
    {
        ("GET", "/_mock/approval"): lambda handler, approvals, data: approvals.snapshot(),
        ("POST", "/_mock/approval/templates"): lambda handler, approvals, data: approvals.set_templates(
            data.get("templates") or ()
        ),
        ("POST", "/_mock/approval/decide"): _approval_decide,
    },
    routes={
        "/cgi-bin/oa/gettemplatedetail": api_oa_gettemplatedetail,
        "/cgi-bin/oa/applyevent": api_oa_applyevent,
        "/cgi-bin/oa/getapprovaldetail": api_oa_getapprovaldetail,
    },
)


def _control_set_approval_templates(self, templates=(SAMPLE_APPROVAL_TEMPLATE,)):
    """Replace the approval templates ``oa/gettemplatedetail`` knows (``SAMPLE_APPROVAL_TEMPLATE`` by default)."""
    self._call("POST", "/_mock/approval/templates", {"templates": list(templates)})


def _control_decide_approval(
    self, sp_no, sp_status, userid="", speech="", agent_id=DEFAULT_AGENT_ID, corp_id=DEFAULT_CORP_ID
):
    """An approver decides ``sp_no`` (2 approved, 3 rejected, 4 revoked...); returns ``{"info", "callback_xml"}``:
    the approval's detail and the ``sys_approval_change`` callback WeCom would post (to deliver or not)."""
    answer = self._call(
        "POST",
        "/_mock/approval/decide",
        {
            "sp_no": sp_no,
            "sp_status": sp_status,
            "userid": userid,
            "speech": speech,
            "agent_id": agent_id,
            "corp_id": corp_id,
        },
    )
    return {"info": answer["info"], "callback_xml": answer["callback_xml"]}


def _control_approvals(self):
    """``{"templates", "applications"}``: each application is the detail plus ``request``, the posted payload."""
    return self._call("GET", "/_mock/approval")


MockWeComControl.set_approval_templates = _control_set_approval_templates
MockWeComControl.decide_approval = _control_decide_approval
MockWeComControl.approvals = _control_approvals
