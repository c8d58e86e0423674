"""Log in with WeCom: the two routes, the login page button and the silent login in the WeCom client.

``GET /wecom/auth/login?redirect=<path>`` remembers a new random state in the browser's session and sends
the browser to WeCom (the OAuth2 page inside the WeCom client, the web login page elsewhere). WeCom sends it
back to ``GET /wecom/auth/callback?code=…&state=…``: the state must be one this session holds (it is used
up at once, and expires), the code is exchanged for the member's ``userid`` with the application's token,
and the Odoo user of the company with that WeCom User ID is logged in through ``authenticate()`` with a
one-time credential, as ``auth_oauth`` does. Every refusal is a page that says why, never an account.
"""

import hashlib
import logging
import re
import secrets
import time
from urllib.parse import urlencode, urlsplit

from odoo import _, http
from odoo.exceptions import AccessDenied
from odoo.http import request

from odoo.addons.web.controllers.home import Home
from odoo.addons.web.controllers.utils import _get_login_redirect_url, ensure_db
from odoo.addons.wecom_base import compat
from odoo.addons.wecom_base.lib import WeComError

from .. import const

_logger = logging.getLogger(__name__)

SESSION_KEY = "wecom_auth_states"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_CALLBACK_QUERY = re.compile(r"(\b(?:code|state)=)[^&\s\"]+")


class _CallbackLogFilter:
    """Werkzeug logs every request line with its query string: the code and state of a login callback are
    masked there (they are single use, but they are secrets while they live)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - never break logging
            return True
        if const.CALLBACK_ROUTE in message:
            record.msg, record.args = _CALLBACK_QUERY.sub(r"\1***", message), ()
        return True


_callback_log_filter = _CallbackLogFilter()
if not any(isinstance(f, _CallbackLogFilter) for f in logging.getLogger("werkzeug").filters):
    logging.getLogger("werkzeug").addFilter(_callback_log_filter)


def local_path(redirect):
    """``redirect`` when it is a path of this site (``/odoo/...``), else None: never another site, a
    protocol-relative ``//host`` or a ``/\\host`` that browsers read as one."""
    if not isinstance(redirect, str):
        return None
    redirect = redirect.strip()
    if (
        not redirect.startswith("/")
        or redirect.startswith("//")
        or "\\" in redirect
        or _CONTROL_CHARS.search(redirect)
        or len(redirect) > const.MAX_REDIRECT_LENGTH
    ):
        return None
    parts = urlsplit(redirect)
    if parts.scheme or parts.netloc:
        return None
    return redirect


def in_wecom_client():
    """True when the browser is the WeCom client (its user agent says ``wxwork``)."""
    user_agent = request.httprequest.headers.get("User-Agent") or ""
    return const.CLIENT_USER_AGENT_MARK in user_agent.lower()


def _state_key(state):
    return hashlib.sha256(state.encode()).hexdigest()


class WeComAuthController(http.Controller):
    @http.route(const.LOGIN_ROUTE, type="http", auth="public", methods=["GET"], sitemap=False)
    def wecom_auth_login(self, redirect=None, company_id=None, **kwargs):
        """Start a WeCom login: remember a new state in this session and go to WeCom's page."""
        company = self._wecom_auth_company(company_id)
        app = company._wecom_auth_application() if company else None
        if not app:
            return self._wecom_auth_page(
                "not_configured",
                _("Logging in with WeCom is not set up for this database. Ask your administrator."),
                status=404,
            )
        state = secrets.token_urlsafe(32)
        self._wecom_auth_remember(state, app, local_path(redirect))
        url = app._wecom_auth_url(state, in_client=in_wecom_client())
        return request.redirect(url, code=303, local=False)

    @http.route(
        const.CALLBACK_ROUTE, type="http", auth="public", methods=["GET"], sitemap=False, readonly=False, csrf=False
    )
    def wecom_auth_callback(self, code=None, state=None, **kwargs):  # noqa: C901 - one refusal per branch
        """WeCom sends the browser back here: check the state, exchange the code, log the user in."""
        if not state:
            return self._wecom_auth_page(
                "missing_state", _("WeCom did not send the login back to Odoo properly. Start again."), status=400
            )
        pending = self._wecom_auth_take(state)
        if pending is None:
            return self._wecom_auth_page(
                "bad_state",
                _(
                    "This login is not valid any more: it expired, was already used, or was started in another "
                    "browser. Start again."
                ),
                status=400,
            )
        redirect = local_path(pending.get("redirect"))
        if not code:
            return self._wecom_auth_page(
                "no_code", _("WeCom did not confirm who you are (was the login cancelled?)."), redirect, status=400
            )
        app = request.env["wecom.application"].sudo().browse(pending.get("app")).exists()
        if not app or not app.is_active:
            return self._wecom_auth_page(
                "not_configured", _("Logging in with WeCom was switched off meanwhile."), redirect, status=404
            )
        try:
            identity = app._wecom_auth_identity(code)
        except WeComError as exc:
            _logger.warning(
                "WeCom login with application %s (id %s) refused by WeCom: %s",
                app.app_name,
                app.id,
                app._wecom_auth_error_message(exc, code),
            )
            return self._wecom_auth_page("wecom_error", app._wecom_auth_error_message(exc, code), redirect)
        userid = identity.get("userid")
        if not userid:
            return self._wecom_auth_page(
                "not_member",
                _(
                    "You are not a member of %(company)s in WeCom, so you cannot log in with WeCom here.",
                    company=app.company_id.name,
                ),
                redirect,
                status=403,
            )
        user = app._wecom_auth_find_user(userid)
        if not user:
            _logger.info("WeCom login: member %s of application id %s has no Odoo user", userid, app.id)
            return self._wecom_auth_page(
                "no_user",
                _(
                    "Your WeCom account (%(userid)s) is not linked to an Odoo user of %(company)s. Ask your "
                    "administrator to enter it as the WeCom User ID of your Odoo user.",
                    userid=userid,
                    company=app.company_id.name,
                ),
                redirect,
                status=403,
            )
        if not user.active:
            return self._wecom_auth_page(
                "archived",
                _("Your Odoo user is archived: ask your administrator to restore it."),
                redirect,
                status=403,
            )
        token = request.env["wecom.auth.credential"].sudo()._wecom_issue(user)
        credential = {"type": const.CREDENTIAL_TYPE, "login": user.login, "token": token}
        try:
            auth_info = compat.session_authenticate(request, credential)
        except AccessDenied as exc:
            reason = exc.args[0] if exc.args and exc.args != AccessDenied().args else _("Odoo refused the login.")
            return self._wecom_auth_page("refused", reason, redirect, status=403)
        _logger.info("WeCom login: user id %s logged in with application id %s", auth_info["uid"], app.id)
        return request.redirect(_get_login_redirect_url(auth_info["uid"], redirect), code=303)

    # ------------------------------------------------------------------ helpers
    def _wecom_auth_company(self, company_id=None):
        """The company a login is for: the one asked for when it offers WeCom login, else the only one that
        does, else the current (public user's) company when it does."""
        companies = request.env["res.company"]._wecom_auth_companies()
        if company_id:
            try:
                return companies.filtered(lambda company: company.id == int(company_id))
            except (TypeError, ValueError):
                return companies.browse()
        if len(companies) <= 1:
            return companies
        return companies.filtered(lambda company: company == request.env.company) or companies[:1]

    def _wecom_auth_remember(self, state, app, redirect):
        now = time.time()
        states = {
            key: value
            for key, value in (request.session.get(SESSION_KEY) or {}).items()
            if isinstance(value, dict) and value.get("expires", 0) > now
        }
        while len(states) >= const.MAX_PENDING_STATES:
            states.pop(min(states, key=lambda key: states[key]["expires"]))
        states[_state_key(state)] = {"app": app.id, "redirect": redirect, "expires": now + const.STATE_TTL}
        request.session[SESSION_KEY] = states

    def _wecom_auth_take(self, state):
        """The pending login of ``state`` in this session, used up; None when unknown, used or expired."""
        now = time.time()
        states = dict(request.session.get(SESSION_KEY) or {})
        pending = states.pop(_state_key(state), None) if isinstance(state, str) else None
        request.session[SESSION_KEY] = {
            key: value for key, value in states.items() if isinstance(value, dict) and value.get("expires", 0) > now
        }
        if not isinstance(pending, dict) or pending.get("expires", 0) <= now:
            return None
        return pending

    def _wecom_auth_page(self, reason, message, redirect=None, status=200):
        """A page that says why nobody was logged in, with a way to try again or to log in otherwise."""
        retry = const.LOGIN_ROUTE + (f"?{urlencode({'redirect': redirect})}" if redirect else "")
        values = {"reason": reason, "message": message, "retry_url": retry, "login_url": "/web/login?wecom_auto=0"}
        response = request.render("wecom_auth.login_error", values, status=status)
        response.headers["Cache-Control"] = "no-store"
        return response


class WeComAuthHome(Home):
    @http.route()
    def web_login(self, redirect=None, **kw):
        """The login page: a "Log in with WeCom" button when configured; opened in the WeCom client, straight
        to the silent login (unless the company turned it off or the user came back to use a password)."""
        ensure_db()
        if (
            request.httprequest.method == "GET"
            and not request.session.uid
            and kw.get("wecom_auto") != "0"
            and "error" not in kw
            and in_wecom_client()
        ):
            if request.env.uid is None:
                request.env["ir.http"]._auth_method_public()  # as Home.web_login does, to read the settings
            company = WeComAuthController()._wecom_auth_company()
            if company and company.wecom_auth_auto_login:
                query = {"redirect": redirect} if local_path(redirect) else {}
                return request.redirect(const.LOGIN_ROUTE + (f"?{urlencode(query)}" if query else ""), code=303)
        response = super().web_login(redirect=redirect, **kw)
        if getattr(response, "is_qweb", False):
            response.qcontext["wecom_auth_buttons"] = self._wecom_auth_buttons(redirect)
        return response

    def _wecom_auth_buttons(self, redirect=None):
        """One "Log in with WeCom" button per company that offers it (named after the company if several)."""
        companies = request.env["res.company"]._wecom_auth_companies()
        buttons = []
        for company in companies:
            query = {"redirect": local_path(redirect)} if local_path(redirect) else {}
            if len(companies) > 1:
                query["company_id"] = company.id
            label = _("Log in with WeCom")
            if len(companies) > 1:
                label = _("Log in with WeCom (%(company)s)", company=company.name)
            buttons.append({"url": const.LOGIN_ROUTE + (f"?{urlencode(query)}" if query else ""), "label": label})
        return buttons
