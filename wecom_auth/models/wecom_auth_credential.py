import hashlib
import secrets
from datetime import timedelta

from odoo import api, fields, models

from .. import const


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


class WeComAuthCredential(models.Model):
    """A one-time credential that hands a WeCom login to Odoo's own ``authenticate()``.

    The login callback issues one for the member's user and logs the session in with it: the credential is
    checked (and consumed) by ``res.users._check_credentials`` like a password, so login logs, 2FA and
    session rotation work as for a password. Only its hash is stored; it lives ``CREDENTIAL_TTL`` seconds.
    """

    _name = "wecom.auth.credential"
    _description = "WeCom Login Credential"
    _log_access = False

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True)
    token_hash = fields.Char(required=True)
    expires_at = fields.Datetime(required=True)

    @api.model
    def _wecom_issue(self, user):
        """A new credential of ``user``, valid ``CREDENTIAL_TTL`` seconds (expired ones are dropped).

        :return: the token, to pass once to ``authenticate()``; never log it
        :rtype: str
        """
        now = fields.Datetime.now()
        self.env.cr.execute("DELETE FROM wecom_auth_credential WHERE expires_at <= %s", [now])
        token = secrets.token_urlsafe(32)
        self.sudo().create(
            {
                "user_id": user.id,
                "token_hash": _hash(token),
                "expires_at": now + timedelta(seconds=const.CREDENTIAL_TTL),
            }
        )
        return token

    @api.model
    def _wecom_consume(self, user, token):
        """Use up the credential ``token`` of ``user``: True once when it is valid, False ever after."""
        if not token or not isinstance(token, str):
            return False
        # one DELETE: of two concurrent logins with the same token, one wins
        self.env.cr.execute(
            "DELETE FROM wecom_auth_credential WHERE user_id = %s AND token_hash = %s AND expires_at > %s RETURNING id",
            [user.id, _hash(token), fields.Datetime.now()],
        )
        used = bool(self.env.cr.fetchall())
        self.invalidate_model()
        return used
