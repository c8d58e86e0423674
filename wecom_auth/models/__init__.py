from . import res_company
from . import wecom_application
from . import wecom_auth_credential
from . import res_users
from . import res_config_settings
