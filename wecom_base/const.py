"""Constants of the WeCom protocol and of this addon.

Pure Python: imported by ``lib/`` (which must not import Odoo) and by the models.
"""

# --- Endpoints -----------------------------------------------------------------------------
DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com"
DEFAULT_TIMEOUT = 10  # seconds, on every HTTP call

PATH_GETTOKEN = "/cgi-bin/gettoken"
PATH_AGENT_GET = "/cgi-bin/agent/get"
PATH_MESSAGE_SEND = "/cgi-bin/message/send"
PATH_MESSAGE_RECALL = "/cgi-bin/message/recall"
PATH_MEDIA_UPLOAD = "/cgi-bin/media/upload"
PATH_WEBHOOK_SEND = "/cgi-bin/webhook/send"
PATH_WEBHOOK_UPLOAD = "/cgi-bin/webhook/upload_media"

# --- Security groups (xmlids) ------------------------------------------------------------------
USER_GROUP = "wecom_base.group_wecom_user"
MANAGER_GROUP = "wecom_base.group_wecom_manager"

# --- System parameters (ir.config_parameter keys) -------------------------------------------
PARAM_API_BASE_URL = "wecom_base.api_base_url"
PARAM_TIMEOUT = "wecom_base.timeout"

# --- Access token ----------------------------------------------------------------------------
# Refresh this many seconds before WeCom's expiry (WeCom tokens live 7200 s).
TOKEN_REFRESH_MARGIN = 300
# The refresh cron runs every 30 minutes: it renews what would expire before its next run.
TOKEN_CRON_WINDOW = 30 * 60 + TOKEN_REFRESH_MARGIN
# WeCom's documented default when a response lacks ``expires_in``.
TOKEN_DEFAULT_EXPIRES_IN = 7200

# --- Error codes (match on errcode, never on errmsg) --------------------------------------------
# Names of the codes the code tests for; what each code means (kind, failure type, guidance) is decided once,
# in lib/errcodes.py.
ERRCODE_OK = 0
ERRCODE_SYSTEM_BUSY = -1
ERRCODE_INVALID_TOKEN = 40014
ERRCODE_TOKEN_EXPIRED = 42001
ERRCODE_TOKEN_MISSING = 41001
ERRCODE_API_FREQ_LIMIT = 45009
ERRCODE_CONCURRENCY_LIMIT = 45033
ERRCODE_IP_NOT_ALLOWED = 60020
ERRCODE_ALL_RECIPIENTS_INVALID = 81013
ERRCODE_NO_RECIPIENT = 82001
ERRCODE_ROBOT_INVALID_KEY = 93000

# --- Size limits (bytes unless said otherwise) -------------------------------------------------
MAX_ACCESS_TOKEN_LENGTH = 512

# --- Outbox (wecom.message) ------------------------------------------------------------------------
PARAM_MESSAGE_BATCH_SIZE = "wecom_base.message_batch_size"
PARAM_MESSAGE_MAX_TRIES = "wecom_base.message_max_tries"
PARAM_MESSAGE_CLAIM_LEASE = "wecom_base.message_claim_lease"
MESSAGE_BATCH_SIZE = 100
MESSAGE_MAX_BATCHES_PER_RUN = 50  # then the cron re-triggers itself, so other crons get their turn
MESSAGE_MAX_TRIES = 5
MESSAGE_RETRY_BASE = 30  # seconds before the 2nd try; doubles each try, with +-20 % jitter
MESSAGE_RETRY_MAX = 3600
# A claimed message whose sender has not finished after this many seconds is taken to be lost in a
# crash and is sent again (with WeCom's duplicate check on).
MESSAGE_CLAIM_LEASE = 300
ROBOT_MESSAGES_PER_MINUTE = 20  # WeCom's limit per group robot
# Sends in flight at once per drain (1: one after the other); WeCom's 45033/45009 shrink it per application.
PARAM_MESSAGE_CONCURRENCY = "wecom_base.message_concurrency"
MESSAGE_CONCURRENCY = 8
MESSAGE_CONCURRENCY_MAX = 32
# Retry schedule (seconds): base before the 2nd try, doubled each try, at most max; an outage's probes too.
PARAM_MESSAGE_RETRY_BASE = "wecom_base.message_retry_base"
PARAM_MESSAGE_RETRY_MAX = "wecom_base.message_retry_max"
# A message gives up on transport failures (outage) only this many hours after it was queued.
PARAM_MESSAGE_EXPIRY_HOURS = "wecom_base.message_expiry_hours"
MESSAGE_EXPIRY_HOURS = 24
# Consecutive transport failures of an application after which its circuit opens (queued messages wait).
CIRCUIT_FAILURES = 3
# WeCom drops app messages beyond these per member and application (path/90236); 0 turns pacing off.
PARAM_MEMBER_RATE_PER_MINUTE = "wecom_base.member_rate_per_minute"
PARAM_MEMBER_RATE_PER_HOUR = "wecom_base.member_rate_per_hour"
MEMBER_RATE_PER_MINUTE = 30
MEMBER_RATE_PER_HOUR = 1000

# --- Callbacks (wecom.callback, wecom.callback.event) -------------------------------------------------
CALLBACK_MAX_BODY = 1024 * 1024  # bytes; WeCom's envelopes are a few kilobytes
EVENT_BATCH_SIZE = 100
EVENT_MAX_BATCHES_PER_RUN = 50  # then the cron re-triggers itself

# --- Housekeeping ------------------------------------------------------------------------------------
PARAM_RETENTION_DAYS = "wecom_base.retention_days"
RETENTION_DAYS = 90  # sent messages and processed callback events older than this are deleted nightly
GC_BATCH_SIZE = 10000  # records deleted per unlink()

# --- Directory (contacts) ------------------------------------------------------------------------
PATH_DEPARTMENT_LIST = "/cgi-bin/department/list"
PATH_USER_LIST_ID = "/cgi-bin/user/list_id"
PATH_USER_LIST = "/cgi-bin/user/list"
PATH_USER_GET = "/cgi-bin/user/get"
USER_LIST_ID_LIMIT = 10000  # rows per user/list_id page: WeCom's maximum
# WeCom allows 10,000 calls per minute per API and company (path/90454); stay well under it, since other
# syncs and workers of the same company share the budget.
DIRECTORY_MAX_CALLS_PER_MINUTE = 3000
DIRECTORY_RETRY_WAITS = (1, 2, 4)  # seconds before the 2nd, 3rd, 4th try of a busy (-1, 45033) or failed call
DIRECTORY_FREQ_LIMIT_WAIT = 60  # 45009: WeCom's minute block lasts 60 s
DIRECTORY_APPLY_BATCH = 1000  # records created / compared per batch while applying a sync
# WeCom's member status -> wecom.member.status
MEMBER_STATUS = {1: "active", 2: "disabled", 4: "not_activated", 5: "exited"}
