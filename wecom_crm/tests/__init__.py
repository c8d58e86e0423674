from . import test_wecom_crm
from . import test_wecom_crm_callbacks
