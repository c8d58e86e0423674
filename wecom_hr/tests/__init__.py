from . import test_wecom_hr
