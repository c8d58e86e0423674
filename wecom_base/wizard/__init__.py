from . import wecom_message_composer
from . import wecom_member_user_wizard
