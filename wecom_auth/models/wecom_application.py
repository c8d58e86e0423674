from urllib.parse import urlencode, urlsplit

from odoo import _, models

from odoo.addons.wecom_base.lib import WeComApiError, WeComError, redact

from .. import const


class WeComApplication(models.Model):
    _inherit = "wecom.application"

    # ------------------------------------------------------------------ URLs
    def _wecom_auth_redirect_uri(self):
        """Where WeCom sends the browser back: ``web.base.url`` + the callback route."""
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url") or ""
        return base_url.rstrip("/") + const.CALLBACK_ROUTE

    def _wecom_auth_url(self, state, in_client):
        """The WeCom page that starts a login with this application.

        :param str state: the login's state, sent back by WeCom with the code
        :param bool in_client: the browser is the WeCom client: its silent OAuth2 page, else the web login
            page (scan with the WeCom app)
        :rtype: str
        """
        self.ensure_one()
        icp = self.env["ir.config_parameter"].sudo()
        corp_id = self.sudo().company_id.wecom_corp_id
        redirect_uri = self._wecom_auth_redirect_uri()
        if in_client:
            base = icp.get_param(const.PARAM_OAUTH_AUTHORIZE_URL) or const.DEFAULT_OAUTH_AUTHORIZE_URL
            query = {
                "appid": corp_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": self.agent_id,
            }
            # WeCom reads the fragment to know the page runs in its client
            return f"{base}?{urlencode(query)}#wechat_redirect"
        base = icp.get_param(const.PARAM_WEB_LOGIN_URL) or const.DEFAULT_WEB_LOGIN_URL
        query = {
            "login_type": "CorpApp",
            "appid": corp_id,
            "agentid": self.agent_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{base}?{urlencode(query)}"

    def _wecom_auth_domain_problem(self):
        """A plain sentence when WeCom would refuse to send users back to this database, else False.

        WeCom only redirects to the application's trusted domain (``redirect_domain`` of ``agent/get``, read
        by *Refresh from WeCom* / *Test Connection*).
        """
        self.ensure_one()
        redirect_uri = self._wecom_auth_redirect_uri()
        target = urlsplit(redirect_uri)
        if target.scheme not in ("http", "https") or not target.hostname:
            return _(
                "The URL of this database (system parameter web.base.url) is %(url)r: set it to the address "
                "users open Odoo with.",
                url=target.geturl().removesuffix(const.CALLBACK_ROUTE),
            )
        if not self.redirect_domain:
            return _(
                "Odoo does not know the trusted domain of %(app)s yet: press Test WeCom Login (it reads it "
                "from WeCom).",
                app=self.app_name,
            )
        domain = urlsplit("//" + self.redirect_domain.strip().lower())
        if target.hostname != domain.hostname or (domain.port and domain.port != target.port):
            return _(
                "WeCom only sends users back to %(domain)s, the trusted domain of %(app)s, but this database is "
                "at %(host)s (web.base.url). Set the trusted domain to %(host)s in the WeCom admin console "
                "(Applications > %(app)s > Web authorization and JS-SDK), or change web.base.url.",
                domain=self.redirect_domain,
                app=self.app_name,
                host=target.netloc,
            )
        return False

    # ------------------------------------------------------------------ the login itself
    def _wecom_auth_identity(self, code):
        """Exchange a login code for who logged in (``auth/getuserinfo``; a code works once, ~5 min).

        :return: ``{"userid": ...}`` for a member of the company, ``{"openid": ...}`` for anybody else
        :rtype: dict
        :raise WeComError: WeCom refused (40029: the code is unknown, used or expired)
        """
        self.ensure_one()
        data = self._wecom_call(const.PATH_AUTH_GETUSERINFO, method="GET", params={"code": code})
        # the new API says "userid"; the legacy user/getuserinfo said "UserId"
        userid = data.get("userid") or data.get("UserId")
        if userid:
            return {"userid": str(userid)}
        return {"openid": str(data.get("openid") or data.get("OpenId") or "")}

    def _wecom_auth_find_user(self, userid):
        """The Odoo user of the application's company whose WeCom User ID is ``userid`` (archived users too).

        WeCom user ids are case-insensitive, and so is their uniqueness per company in wecom_base.

        :rtype: res.users (sudo; at most one)
        """
        self.ensure_one()
        matches = self.env["res.users"]._wecom_find_by_userid(userid, self.sudo().company_id)
        return matches.sorted(lambda user: not user.active)[:1]

    def _wecom_auth_error_message(self, error, code=None):
        """What the login page says when WeCom refused the code exchange (no code or token in it)."""
        if isinstance(error, WeComApiError) and error.errcode == const.ERRCODE_INVALID_CODE:
            return _("WeCom says this login is not valid any more (the code expired or was already used).")
        message = self._wecom_error_message(error) if isinstance(error, WeComError) else str(error)
        return redact(message, (code,) if code else ())
