"""Constants of WeCom login (path/98151, path/98152, path/91023) and of this addon."""

# --- WeCom -------------------------------------------------------------------------------------
PATH_AUTH_GETUSERINFO = "/cgi-bin/auth/getuserinfo"
# In the WeCom client: the OAuth2 page (silent, scope snsapi_base).
DEFAULT_OAUTH_AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
# In any other browser: the web login page (scan with the WeCom app); the old qrConnect page is closed to
# new service providers.
DEFAULT_WEB_LOGIN_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"
ERRCODE_INVALID_CODE = 40029  # unknown, used or expired login code
# The WeCom client's user agent contains "wxwork" (the WeChat app's has "MicroMessenger" without it).
CLIENT_USER_AGENT_MARK = "wxwork"

# --- System parameters (where the two login pages are: tests point them at the mock WeCom) -------
PARAM_OAUTH_AUTHORIZE_URL = "wecom_auth.oauth_authorize_url"
PARAM_WEB_LOGIN_URL = "wecom_auth.web_login_url"

# --- Routes --------------------------------------------------------------------------------------
LOGIN_ROUTE = "/wecom/auth/login"
CALLBACK_ROUTE = "/wecom/auth/callback"

# --- Login state and credential -------------------------------------------------------------------
# A state lives this long in the browser's session: time to find the phone and scan (a WeCom code itself
# lives about 5 minutes once issued).
STATE_TTL = 600
MAX_PENDING_STATES = 5  # per session: a few tabs at once; the oldest is dropped beyond
# The one-time credential that hands the login to Odoo's authenticate(): used within the same request.
CREDENTIAL_TTL = 60
CREDENTIAL_TYPE = "wecom_auth"
MAX_REDIRECT_LENGTH = 2048
