from . import res_company
from . import res_config_settings
from . import crm_lead
from . import wecom_external_follow
