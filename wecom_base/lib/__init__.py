"""WeCom client core: pure Python, imports nothing from Odoo."""

from .client import WeComClient, check_base_url, shared_session
from .exceptions import (
    WeComApiError,
    WeComConfigError,
    WeComDataError,
    WeComError,
    WeComNetworkError,
    WeComPermanentError,
    WeComResponseError,
    WeComRetryableError,
    WeComTokenError,
    error_from_response,
    redact,
)
from .crypto import WeComCallbackCrypto, WeComCryptoError, parse_xml
from .directory import DirectoryReader, check_department_depth, normalize_department, normalize_member
from .errcodes import errcode_info, failure_type_for, is_retryable
