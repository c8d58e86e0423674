from . import res_company
from . import res_config_settings
from . import res_users
from . import wecom_mail_notification
from . import wecom_mail_fanout
from . import mail_thread
from . import mail_activity
from . import wecom_callback_event
