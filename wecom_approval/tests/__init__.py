from . import test_wecom_approval
