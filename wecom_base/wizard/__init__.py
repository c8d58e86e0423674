from . import wecom_message_composer
