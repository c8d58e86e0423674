from . import test_wecom_base
from . import test_wecom_application
from . import test_security
from . import test_token_concurrency
from . import test_wecom_message
from . import test_message_concurrency
from . import test_wecom_robot
from . import test_wecom_webhook
