from . import test_wecom_approval_purchase
