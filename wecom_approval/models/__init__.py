from . import wecom_approval_template
from . import wecom_approval_request
from . import wecom_approval_mixin
from . import wecom_callback_event
