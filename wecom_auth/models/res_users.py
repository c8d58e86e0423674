from odoo import models
from odoo.exceptions import AccessDenied

from .. import const


class ResUsers(models.Model):
    _inherit = "res.users"

    def _check_credentials(self, credential, env):
        """Accept the one-time credential of a WeCom login (see ``wecom.auth.credential``), interactively only.

        Same signature on 18.0 and 19.0; ``env`` is the user agent environment of ``authenticate()``.
        """
        if credential.get("type") == const.CREDENTIAL_TYPE and not (env or {}).get("interactive"):
            # never over RPC (whose API-key fallback would expect a password)
            raise AccessDenied()
        try:
            return super()._check_credentials(credential, env)
        except AccessDenied:
            if credential.get("type") != const.CREDENTIAL_TYPE or not credential.get("token"):
                raise
            user = self.env.user
            if user.active and self.env["wecom.auth.credential"].sudo()._wecom_consume(user, credential["token"]):
                return {"uid": user.id, "auth_method": "wecom", "mfa": "default"}
            raise
