from . import res_company
from . import res_config_settings
from . import wecom_external_follow
