from . import test_wecom_crm_lead
